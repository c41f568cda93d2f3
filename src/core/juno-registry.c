/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-registry.c: modules, dependency resolution and hooks
 *
 * Activity is the greatest fixed point of "a module is active iff every
 * dependency names a registered, active module whose version matches". It
 * is recomputed only over the modules a change can reach (the dependents,
 * transitively, of the module that came or went), with a work list, so one
 * registration costs time in the size of its dependent tree, not in the
 * number of modules. Modules whose state really changes, and only those,
 * get juno.activated / juno.deactivated and cause juno.moduleActivated /
 * juno.moduleDeactivated.
 *
 * Hook listeners are indexed by "module.hook"; each JunoListen knows its
 * slot in that array, so a module that leaves is unhooked in O(1) per hook.
 */
#include "config.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#include "juno-broker-private.h"

#define MAX_DEPENDENCIES 256
/* Room kept in a discovery answer for all but the module object: the
 * requestId, "type" and "data" keys (a quarter of the line limit when that
 * is less). */
#define DISCOVERY_RESERVE 1024

static void
dependency_free (gpointer data)
{
  JunoDependency *dep = data;

  g_free (dep->name);
  g_free (dep->requirement);
  g_clear_pointer (&dep->req, juno_version_req_free);
  g_free (dep);
}

static void
listen_free (gpointer data)
{
  JunoListen *listen = data;

  g_free (listen->hook);
  g_free (listen);
}

void
juno_module_free (JunoModule *module)
{
  g_free (module->id);
  g_free (module->version_text);
  juno_version_clear (&module->version);
  g_clear_pointer (&module->dependencies, g_ptr_array_unref);
  g_clear_pointer (&module->functions, g_hash_table_unref);
  g_clear_pointer (&module->listens, g_hash_table_unref);
  g_free (module);
}

gboolean
juno_module_has_function (JunoModule *module, const char *name)
{
  return module->functions != NULL && g_hash_table_contains (module->functions, name);
}

static void
module_add_function (JunoModule *module, const char *name)
{
  if (module->functions == NULL)
    module->functions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!g_hash_table_contains (module->functions, name))
    g_hash_table_add (module->functions, g_strdup (name));
}

JunoModule *
juno_registry_add_builtin (JunoBroker *self)
{
  JunoModule *module = g_new0 (JunoModule, 1);
  g_autoptr(GError) error = NULL;

  module->id = g_strdup (JUNO_BUILTIN_MODULE_ID);
  module->version_text = g_strdup (self->version);
  if (!juno_version_parse (self->version, &module->version, &error))
    g_critical ("The broker's own version is not semver: %s", error->message);
  module_add_function (module, JUNO_FUNCTION_LIST_MODULES);
  module_add_function (module, JUNO_FUNCTION_GET_MODULE_INFO);
  module_add_function (module, JUNO_FUNCTION_GET_STATS);
  module->active = TRUE;
  g_hash_table_insert (self->modules, module->id, module);
  return module;
}

/* Module objects */

static const char **dup_sorted_keys (GHashTable *set, guint *n);

/* Sorted, so that juno.listModules and juno.getModuleInfo answer the same
 * bytes for the same state. */
static void
append_string_array (GString *out, GHashTable *set)
{
  guint n;
  g_autofree const char **names = dup_sorted_keys (set, &n);

  g_string_append_c (out, '[');
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      juno_json_append_string (out, names[i]);
    }
  g_string_append_c (out, ']');
}

void
juno_registry_append_module_json (JunoBroker *self, GString *out, JunoModule *module)
{
  g_string_append (out, "{\"moduleId\":");
  juno_json_append_string (out, module->id);
  g_string_append (out, ",\"connectionId\":\"");
  juno_append_uint (out, module->endpoint ? module->endpoint->id : 0);
  g_string_append (out, "\",\"version\":");
  juno_json_append_string (out, module->version_text);
  g_string_append (out, ",\"dependencies\":{");
  for (guint i = 0; module->dependencies && i < module->dependencies->len; i++)
    {
      JunoDependency *dep = g_ptr_array_index (module->dependencies, i);

      if (i > 0)
        g_string_append_c (out, ',');
      juno_json_append_string (out, dep->name);
      g_string_append_c (out, ':');
      juno_json_append_string (out, dep->requirement);
    }
  g_string_append (out, "},\"registered\":");
  g_string_append (out, module->active ? "true" : "false");
  g_string_append (out, ",\"declaredFunctions\":");
  append_string_array (out, module->functions);
  g_string_append (out, ",\"registeredHooks\":");
  append_string_array (out, module->listens);
  if (self->broker_name != NULL)
    {
      const char *const *brokers = juno_broker_get_module_brokers (self, module->id);

      g_string_append (out, ",\"brokers\":[");
      for (guint i = 0; brokers[i] != NULL; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          juno_json_append_string (out, brokers[i]);
        }
      g_string_append_c (out, ']');
    }
  if (module->endpoint != NULL)
    juno_identity_append_json (module->endpoint, out);
  g_string_append_c (out, '}');
}

/* Public accessors */

static int
compare_module_ids (const void *a, const void *b)
{
  return strcmp ((*(JunoModule *const *) a)->id, (*(JunoModule *const *) b)->id);
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The keys of @set (or none), sorted: the registry's order is a hash
 * table's. */
static const char **
dup_sorted_keys (GHashTable *set, guint *n)
{
  const char **keys;
  guint len = 0;

  if (set != NULL)
    keys = (const char **) g_hash_table_get_keys_as_array (set, &len);
  else
    keys = g_new0 (const char *, 1);
  qsort (keys, len, sizeof *keys, compare_strings);
  if (n != NULL)
    *n = len;
  return keys;
}

JunoModule *
juno_broker_lookup_module (JunoBroker *self, const char *module_id)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  g_return_val_if_fail (module_id != NULL, NULL);

  return g_hash_table_lookup (self->modules, module_id);
}

JunoModule **
juno_broker_dup_modules (JunoBroker *self, guint *n_modules)
{
  JunoModule **modules;
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);

  modules = g_new (JunoModule *, g_hash_table_size (self->modules) + 1);
  g_hash_table_iter_init (&iter, self->modules);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (value != self->builtin)
      modules[n++] = value;
  modules[n] = NULL;
  qsort (modules, n, sizeof *modules, compare_module_ids);
  if (n_modules != NULL)
    *n_modules = n;
  return modules;
}

const char *
juno_module_get_id (JunoModule *module)
{
  return module->id;
}

const char *
juno_module_get_version (JunoModule *module)
{
  return module->version_text;
}

gboolean
juno_module_get_active (JunoModule *module)
{
  return module->active;
}

JunoEndpoint *
juno_module_get_endpoint (JunoModule *module)
{
  return module->endpoint;
}

guint
juno_module_get_n_dependencies (JunoModule *module)
{
  return module->dependencies != NULL ? module->dependencies->len : 0;
}

void
juno_module_get_dependency (JunoModule *module, guint index, const char **module_id, const char **requirement)
{
  JunoDependency *dep;

  g_return_if_fail (index < juno_module_get_n_dependencies (module));

  dep = g_ptr_array_index (module->dependencies, index);
  if (module_id != NULL)
    *module_id = dep->name;
  if (requirement != NULL)
    *requirement = dep->requirement;
}

const char **
juno_module_dup_functions (JunoModule *module, guint *n)
{
  return dup_sorted_keys (module->functions, n);
}

const char **
juno_module_dup_hooks (JunoModule *module, guint *n)
{
  return dup_sorted_keys (module->listens, n);
}

/* Hooks */

static void
send_forced_hook (JunoBroker *self, JunoEndpoint *ep, const char *hook)
{
  juno_broker_begin_broker_message (self, JUNO_MSG_HOOK_TRIGGERED);
  g_string_append (self->out, ",\"hook\":\"" JUNO_BUILTIN_MODULE_ID ".");
  g_string_append (self->out, hook);
  g_string_append (self->out, "\",\"data\":{}");
  juno_broker_send (self, ep);
}

/* Sends the finished message in self->out to every active listener of
 * self->key; returns how many got it. */
static guint
deliver_to_listeners (JunoBroker *self, GPtrArray *listeners)
{
  guint delivered = 0;

  for (guint i = 0; i < listeners->len; i++)
    {
      JunoListen *listen = g_ptr_array_index (listeners, i);

      if (!listen->module->active)
        continue;
      juno_broker_send_line (self, listen->module->endpoint, self->out->str, self->out->len);
      delivered++;
    }
  self->stats.hooks_delivered += delivered;
  return delivered;
}

/* A hook of the built-in module, e.g. juno.moduleConnected. */
void
juno_registry_broadcast (JunoBroker *self, const char *hook, const char *data_json)
{
  GPtrArray *listeners;

  g_string_assign (self->key, JUNO_BUILTIN_MODULE_ID ".");
  g_string_append (self->key, hook);
  listeners = g_hash_table_lookup (self->listeners, self->key->str);
  if (listeners == NULL && (self->observers == NULL || self->observers->len == 0))
    return;

  juno_broker_begin_broker_message (self, JUNO_MSG_HOOK_TRIGGERED);
  g_string_append (self->out, ",\"hook\":\"");
  g_string_append (self->out, self->key->str);
  g_string_append (self->out, "\",\"data\":");
  g_string_append (self->out, data_json);
  juno_broker_finish_message (self);
  if (listeners != NULL)
    deliver_to_listeners (self, listeners);
  juno_observer_deliver (self);
}

static void
broadcast_module_state (JunoBroker *self, JunoModule *module, gboolean active)
{
  g_autoptr(GString) data = g_string_new ("{\"moduleId\":");

  juno_json_append_string (data, module->id);
  g_string_append_c (data, '}');
  juno_registry_broadcast (self, active ? JUNO_HOOK_MODULE_ACTIVATED : JUNO_HOOK_MODULE_DEACTIVATED, data->str);
}

static void
remove_listen (JunoBroker *self, JunoListen *listen)
{
  GPtrArray *listeners = g_hash_table_lookup (self->listeners, listen->hook);
  JunoListen *last;

  g_return_if_fail (listeners != NULL && listeners->len > listen->index);

  last = g_ptr_array_index (listeners, listeners->len - 1);
  listeners->pdata[listen->index] = last;
  last->index = listen->index;
  g_ptr_array_set_size (listeners, listeners->len - 1);
  if (listeners->len == 0)
    g_hash_table_remove (self->listeners, listen->hook);
}

/* Dependencies */

static gboolean
dependency_met (JunoBroker *self, JunoDependency *dep)
{
  JunoModule *target = g_hash_table_lookup (self->modules, dep->name);
  gboolean target_active;

  if (target == NULL)
    return FALSE;
  /* inside the set being recomputed, trust the candidate state */
  target_active = target->epoch == self->epoch && target != self->builtin ? target->candidate : target->active;
  return target_active && juno_version_req_matches (dep->req, &target->version);
}

static gboolean
dependencies_met (JunoBroker *self, JunoModule *module)
{
  for (guint i = 0; module->dependencies && i < module->dependencies->len; i++)
    if (!dependency_met (self, g_ptr_array_index (module->dependencies, i)))
      return FALSE;
  return TRUE;
}

/* Adds every module that depends, directly or not, on @name to @set. */
static void
collect_dependents (JunoBroker *self, const char *name, GPtrArray *set)
{
  guint start = set->len;
  GPtrArray *direct = g_hash_table_lookup (self->dependents, name);

  for (guint i = 0; direct && i < direct->len; i++)
    {
      JunoModule *m = g_ptr_array_index (direct, i);

      if (m->epoch != self->epoch)
        {
          m->epoch = self->epoch;
          g_ptr_array_add (set, m);
        }
    }
  /* breadth first over the dependents of what was just added */
  for (guint i = start; i < set->len; i++)
    {
      JunoModule *m = g_ptr_array_index (set, i);

      direct = g_hash_table_lookup (self->dependents, m->id);
      for (guint j = 0; direct && j < direct->len; j++)
        {
          JunoModule *d = g_ptr_array_index (direct, j);

          if (d->epoch != self->epoch)
            {
              d->epoch = self->epoch;
              g_ptr_array_add (set, d);
            }
        }
    }
}

/* An info line about @module's life, with the journal fields that
 * `journalctl JUNO_MODULE=x` finds (JUNO_CONNECTION too while it has
 * one); @message_id is NULL or a MESSAGE_ID. */
static void
log_module (JunoModule *module, const char *message_id, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
log_module (JunoModule *module, const char *message_id, const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *pid = NULL;
  va_list args;
  JunoEndpoint *ep = module->endpoint;
  GLogField fields[12] = {
    { "MESSAGE", NULL, -1 },
    { "PRIORITY", "6", -1 },
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    { JUNO_LOG_FIELD_MODULE_ID, module->id, -1 },
  };
  gsize n = 4;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fields[0].value = message;
  if (ep != NULL)
    {
      fields[n++] = (GLogField) { JUNO_LOG_FIELD_CONNECTION_ID, ep->id_str, -1 };
      fields[n++] = (GLogField) { JUNO_LOG_FIELD_TRANSPORT, ep->identity->transport, -1 };
      if (ep->identity->has_credentials)
        {
          uid = g_strdup_printf ("%u", (unsigned) ep->identity->uid);
          pid = g_strdup_printf ("%d", (int) ep->pid);
          fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_UID, uid, -1 };
          fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_PID, pid, -1 };
        }
      if (ep->identity->user != NULL)
        fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_USER, ep->identity->user, -1 };
      if (ep->identity->unit != NULL || ep->identity->user_unit != NULL)
        fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_UNIT, ep->identity->unit ? ep->identity->unit : ep->identity->user_unit, -1 };
      if (ep->address != NULL)
        fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_ADDRESS, ep->address, -1 };
    }
  if (message_id != NULL)
    fields[n++] = (GLogField) { "MESSAGE_ID", message_id, -1 };
  g_log_structured_array (G_LOG_LEVEL_INFO, fields, n);
}

static void
apply_transition (JunoBroker *self, JunoModule *module, gboolean active)
{
  module->active = active;
  if (active)
    self->stats.active_modules++;
  else
    self->stats.active_modules--;

  log_module (module, NULL, "Module '%s' %s", module->id, active ? "activated" : "deactivated");
  send_forced_hook (self, module->endpoint, active ? JUNO_HOOK_ACTIVATED : JUNO_HOOK_DEACTIVATED);
  broadcast_module_state (self, module, active);
  /* after resolve() is done with its work set: a handler may remove modules */
  juno_broker_queue_signal (self, active ? SIGNAL_MODULE_ACTIVATED : SIGNAL_MODULE_DEACTIVATED, 0, module->id, NULL);
}

/* Recomputes the modules in @set (all marked with the current epoch). */
static void
resolve (JunoBroker *self, GPtrArray *set)
{
  g_autoptr(GPtrArray) work = g_ptr_array_new ();

  for (guint i = 0; i < set->len; i++)
    {
      JunoModule *m = g_ptr_array_index (set, i);

      m->candidate = TRUE;
      g_ptr_array_add (work, m);
    }

  while (work->len > 0)
    {
      JunoModule *m = g_ptr_array_steal_index_fast (work, work->len - 1);
      GPtrArray *direct;

      if (!m->candidate || dependencies_met (self, m))
        continue;
      m->candidate = FALSE;
      direct = g_hash_table_lookup (self->dependents, m->id);
      for (guint j = 0; direct && j < direct->len; j++)
        {
          JunoModule *d = g_ptr_array_index (direct, j);

          if (d->epoch == self->epoch && d->candidate)
            g_ptr_array_add (work, d);
        }
    }

  for (guint i = 0; i < set->len; i++)
    {
      JunoModule *m = g_ptr_array_index (set, i);

      if (m->active && !m->candidate)
        apply_transition (self, m, FALSE);
    }
  for (guint i = 0; i < set->len; i++)
    {
      JunoModule *m = g_ptr_array_index (set, i);

      if (!m->active && m->candidate)
        apply_transition (self, m, TRUE);
    }
}

static void
update_activity (JunoBroker *self, JunoModule *changed)
{
  g_autoptr(GPtrArray) set = g_ptr_array_new ();

  self->epoch++;
  if (g_hash_table_lookup (self->modules, changed->id) == changed)
    {
      changed->epoch = self->epoch;
      g_ptr_array_add (set, changed);
    }
  collect_dependents (self, changed->id, set);
  resolve (self, set);
}

static void
index_dependencies (JunoBroker *self, JunoModule *module, gboolean add)
{
  for (guint i = 0; module->dependencies && i < module->dependencies->len; i++)
    {
      JunoDependency *dep = g_ptr_array_index (module->dependencies, i);
      GPtrArray *direct = g_hash_table_lookup (self->dependents, dep->name);

      if (add)
        {
          if (direct == NULL)
            {
              direct = g_ptr_array_new ();
              g_hash_table_insert (self->dependents, g_strdup (dep->name), direct);
            }
          g_ptr_array_add (direct, module);
        }
      else if (direct != NULL)
        {
          g_ptr_array_remove_fast (direct, module);
          if (direct->len == 0)
            g_hash_table_remove (self->dependents, dep->name);
        }
    }
}

/* The entry of @deps named @name, if any. */
static JunoDependency *
find_dependency (GPtrArray *deps, const char *name)
{
  for (guint i = 0; i < deps->len; i++)
    {
      JunoDependency *dep = g_ptr_array_index (deps, i);

      if (strcmp (dep->name, name) == 0)
        return dep;
    }
  return NULL;
}

/* Dependencies come as a JSON object of moduleId -> requirement, already
 * checked by the scanner: its members are read in place, with the same
 * grammar as the rest of the line. A name given twice keeps its last
 * requirement, as for a message's own keys. */
static GPtrArray *
parse_dependencies (const JunoJsonValue *value, GError **error)
{
  g_autoptr(GPtrArray) deps = NULL;
  JunoJsonIter iter;
  JunoJsonValue key, member;

  if (value->kind == JUNO_JSON_ABSENT || value->kind == JUNO_JSON_NULL)
    return g_ptr_array_new_with_free_func (dependency_free);
  if (value->kind != JUNO_JSON_OBJECT)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "dependencies is not an object");
      return NULL;
    }

  deps = g_ptr_array_new_with_free_func (dependency_free);
  juno_json_iter_init (&iter, value);
  while (juno_json_iter_next (&iter, &key, &member))
    {
      g_autofree char *name = juno_json_value_dup_string (&key);
      g_autofree char *requirement = NULL;
      JunoDependency *dep;

      if (name == NULL || !juno_module_id_is_valid (name, -1))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "dependency '%s' is not a valid moduleId",
                       name != NULL ? name : "");
          return NULL;
        }
      if (member.kind != JUNO_JSON_STRING || (requirement = juno_json_value_dup_string (&member)) == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "requirement of '%s' is not a string", name);
          return NULL;
        }
      dep = find_dependency (deps, name);
      if (dep == NULL)
        {
          if (deps->len >= MAX_DEPENDENCIES)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "more than %d dependencies",
                           MAX_DEPENDENCIES);
              return NULL;
            }
          dep = g_new0 (JunoDependency, 1);
          dep->name = g_steal_pointer (&name);
          g_ptr_array_add (deps, dep);
        }
      g_free (dep->requirement);
      dep->requirement = g_steal_pointer (&requirement);
    }

  for (guint i = 0; i < deps->len; i++)
    {
      JunoDependency *dep = g_ptr_array_index (deps, i);

      dep->req = juno_version_req_parse (dep->requirement, error);
      if (dep->req == NULL)
        {
          g_prefix_error (error, "requirement of '%s': ", dep->name);
          return NULL;
        }
    }
  return g_steal_pointer (&deps);
}

/* Limits on what a module holds */

/* A module object is kept small enough that juno.getModuleInfo answers it
 * within the line limit, with room left for the answer's envelope. */
gsize
juno_registry_module_info_budget (JunoBroker *self)
{
  return self->max_message_size - MIN (DISCOVERY_RESERVE, self->max_message_size / 4);
}

/* The length of its object with no names, "registered":false counted as
 * the longer of the two spellings. */
static gsize
module_info_base_bytes (JunoBroker *self, JunoModule *module)
{
  gboolean active = module->active;
  gsize len;

  module->active = FALSE;
  g_string_truncate (self->key, 0);
  juno_registry_append_module_json (self, self->key, module);
  len = self->key->len;
  module->active = active;
  /* the longest "brokers" a federation may set later */
  if (self->broker_name != NULL)
    len += JUNO_BROKER_MAX_MODULE_BROKERS * (JUNO_BROKER_NAME_MAX_LENGTH + 3);
  return len;
}

static void
refuse_over_limit (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg, const char *why)
{
  self->stats.limits_reached++;
  juno_broker_log_peer (self, ep, G_LOG_LEVEL_WARNING, "Refused a request (error %d): %s",
                        JUNO_PROTOCOL_ERROR_LIMIT_REACHED, why);
  juno_broker_send_error (self, ep, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
}

/* Checks a new name of @ep's module against the limits; on success the
 * name is counted, and the caller adds it. @encoded_len is the name's
 * length as a JSON string, quotes included. */
static gboolean
take_name (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg, gsize len, gsize encoded_len)
{
  JunoModule *module = ep->module;

  if (len > self->max_name_length)
    refuse_over_limit (self, ep, msg, "the name is longer than --max-name-length");
  else if (module->n_names >= self->max_names)
    refuse_over_limit (self, ep, msg, "the module has declared and listened for --max-names names");
  else if (module->info_bytes + encoded_len + 1 > juno_registry_module_info_budget (self))
    refuse_over_limit (self, ep, msg, "its module object would not fit in a discovery answer");
  else
    {
      module->n_names++;
      module->info_bytes += encoded_len + 1; /* and a comma */
      return TRUE;
    }
  return FALSE;
}

/* Standing by (federation: juno_endpoint_set_yields_name) */

static void
put_on_standby (JunoBroker *self, JunoModule *module)
{
  if (self->standby == NULL)
    self->standby = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (self->standby, module->id, module);
}

static void
add_listens (JunoBroker *self, JunoModule *module)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, module->listens);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      JunoListen *listen = value;
      GPtrArray *listeners = g_hash_table_lookup (self->listeners, listen->hook);

      if (listeners == NULL)
        {
          listeners = g_ptr_array_new ();
          g_hash_table_insert (self->listeners, g_strdup (listen->hook), listeners);
        }
      listen->index = listeners->len;
      g_ptr_array_add (listeners, listen);
    }
}

/* Takes @module out of the registry (its listens, its activity, its name)
 * without recomputing its dependents: the caller does. */
static void
take_name_away (JunoBroker *self, JunoModule *module, const char *why)
{
  if (module->listens != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, module->listens);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        remove_listen (self, value);
    }

  if (module->active)
    {
      module->active = FALSE;
      self->stats.active_modules--;
      log_module (module, NULL, "Module '%s' deactivated: %s", module->id, why);
      broadcast_module_state (self, module, FALSE);
      juno_broker_queue_signal (self, SIGNAL_MODULE_DEACTIVATED, 0, module->id, NULL);
    }

  g_hash_table_remove (self->modules, module->id);
  index_dependencies (self, module, FALSE);
  self->stats.modules--;
}

gboolean
juno_endpoint_holds_name (JunoEndpoint *endpoint)
{
  g_return_val_if_fail (endpoint != NULL, FALSE);
  return endpoint->module != NULL &&
         g_hash_table_lookup (endpoint->broker->modules, endpoint->module->id) == endpoint->module;
}

void
juno_endpoint_set_yields_name (JunoEndpoint *endpoint, gboolean yields)
{
  g_return_if_fail (endpoint != NULL && endpoint->module == NULL);
  endpoint->yields_name = yields != FALSE;
}

/* Handlers */

void
juno_registry_handle_register (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  const JunoJsonValue *id_value = &msg->keys[JUNO_KEY_MODULE_ID];
  const JunoJsonValue *version_value = &msg->keys[JUNO_KEY_VERSION];
  g_autofree char *id = NULL;
  g_autofree char *version_text = NULL;
  g_auto(JunoVersion) version = { 0 };
  g_autoptr(GPtrArray) deps = NULL;
  g_autoptr(GError) error = NULL;
  JunoModule *module, *holder, *displaced = NULL;
  gboolean stand_by = FALSE;

  if (ep->module != NULL)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE, "this connection already registered a module");
  juno_broker_announce_endpoint (self, ep);
  if (id_value->kind != JUNO_JSON_STRING)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "moduleId is missing or not a string");
  id = juno_json_value_dup_string (id_value);
  if (id == NULL || !juno_module_id_is_valid (id, -1))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_INVALID_MODULE_ID, "invalid moduleId");
  if (!juno_broker_check_access (self, ep, JUNO_POLICY_OWN, id, &msg->keys[JUNO_KEY_REQUEST_ID]))
    return;
  holder = g_hash_table_lookup (self->modules, id);
  if (holder != NULL)
    {
      gboolean standby_taken = self->standby != NULL && g_hash_table_contains (self->standby, id);

      /* a proxy of the federation yields to a local module, and stands by
       * behind it (docs/federation.md) */
      if (ep->yields_name && !standby_taken)
        stand_by = TRUE;
      else if (!ep->yields_name && holder->endpoint != NULL && holder->endpoint->yields_name && !standby_taken)
        displaced = holder;
      else
        return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE, "the moduleId is taken");
    }
  if (version_value->kind != JUNO_JSON_STRING)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "version is missing or not a string");
  version_text = juno_json_value_dup_string (version_value);
  if (version_text == NULL || !juno_version_parse (version_text, &version, &error))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "version is not semver");
  deps = parse_dependencies (&msg->keys[JUNO_KEY_DEPENDENCIES], &error);
  if (deps == NULL)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, error->message);

  module = g_new0 (JunoModule, 1);
  module->id = g_steal_pointer (&id);
  module->version_text = g_steal_pointer (&version_text);
  module->version = version;
  memset (&version, 0, sizeof version); /* moved into the module */
  if (deps->len > 0)
    module->dependencies = g_steal_pointer (&deps);
  module->endpoint = ep;
  module->info_bytes = module_info_base_bytes (self, module);
  if (module->info_bytes > juno_registry_module_info_budget (self))
    {
      juno_module_free (module);
      return refuse_over_limit (self, ep, msg, "its module object would not fit in a discovery answer");
    }
  ep->module = module;
  if (stand_by)
    {
      put_on_standby (self, module);
      juno_broker_begin_reply (self, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_MSG_MODULE_REGISTERED);
      juno_broker_send (self, ep);
      log_module (module, NULL, "Module '%s' %s of connection %s stands by behind the local one",
                  module->id, module->version_text, ep->id_str);
      return;
    }
  if (displaced != NULL)
    {
      /* out of the registry without resolving: the new module's resolution
       * below recomputes the dependents once, against the new holder */
      take_name_away (self, displaced, "a local module takes the name");
      /* its object goes: the new module's comes with its registration */
      juno_broker_queue_signal (self, SIGNAL_MODULE_DISCONNECTED, displaced->endpoint->id, displaced->id, NULL);
      put_on_standby (self, displaced);
      log_module (displaced, NULL, "Module '%s' of connection %s stands by: a local module takes the name",
                  displaced->id, displaced->endpoint->id_str);
    }
  g_hash_table_insert (self->modules, module->id, module);
  index_dependencies (self, module, TRUE);
  self->stats.modules++;

  juno_broker_begin_reply (self, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_MSG_MODULE_REGISTERED);
  juno_broker_send (self, ep);

  {
    g_autofree char *peer = NULL;
    pid_t pid;
    uid_t uid;

    if (juno_endpoint_get_peer_credentials (ep, &pid, &uid, NULL))
      peer = g_strdup_printf (", pid %d, uid %u%s%s%s%s%s", (int) pid, (unsigned) uid,
                              ep->identity->user ? " (" : "", ep->identity->user ? ep->identity->user : "", ep->identity->user ? ")" : "",
                              ep->identity->unit || ep->identity->user_unit ? ", unit " : "",
                              ep->identity->unit ? ep->identity->unit : ep->identity->user_unit ? ep->identity->user_unit : "");
    else if (ep->address != NULL)
      peer = g_strdup_printf (", %s:%u", ep->address, (unsigned) ep->port);
    log_module (module, JUNO_MESSAGE_ID_MODULE_REGISTERED, "Module '%s' %s registered on connection %s (%s%s)",
                module->id, module->version_text, ep->id_str, juno_endpoint_get_transport (ep), peer ? peer : "");
  }
  juno_broker_queue_signal (self, SIGNAL_MODULE_REGISTERED, ep->id, module->id, NULL);
  update_activity (self, module);
}

void
juno_registry_handle_declare (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  const JunoJsonValue *value = &msg->keys[JUNO_KEY_FUNCTION];
  g_autofree char *name = NULL;

  if (value->kind != JUNO_JSON_STRING)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "function is missing or not a string");
  /* a proxy declares the functions of its instances while it stands by */
  if (!(ep->yields_name && ep->module != NULL) && !juno_broker_require_active (self, ep, msg))
    return;
  name = juno_json_value_dup_string (value);
  if (name == NULL || !juno_function_name_is_valid (name, -1))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION, "invalid function name");

  /* [A-Za-z0-9_]: its JSON string is the name in quotes */
  if (!juno_module_has_function (ep->module, name) && !take_name (self, ep, msg, strlen (name), strlen (name) + 2))
    return;
  module_add_function (ep->module, name);
  juno_broker_begin_reply (self, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_MSG_FUNCTION_DECLARED);
  g_string_append (self->out, ",\"function\":");
  juno_json_append_string (self->out, name);
  juno_broker_send (self, ep);
  if (juno_endpoint_holds_name (ep))
    juno_broker_queue_signal (self, SIGNAL_FUNCTION_DECLARED, 0, ep->module->id, name);
}

void
juno_registry_handle_listen (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  const JunoJsonValue *value = &msg->keys[JUNO_KEY_HOOK];
  g_autofree char *hook = NULL;
  JunoModule *module = ep->module;

  if (value->kind != JUNO_JSON_STRING)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "hook is missing or not a string");
  if (!juno_broker_require_active (self, ep, msg))
    return;
  hook = juno_json_value_dup_string (value);
  if (hook == NULL || !juno_hook_address_is_valid (hook, NULL))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "hook is not of the form module.hook");
  if (!juno_broker_check_access (self, ep, JUNO_POLICY_LISTEN, hook, &msg->keys[JUNO_KEY_REQUEST_ID]))
    return;

  if (module->listens == NULL)
    module->listens = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, listen_free);
  if (!g_hash_table_contains (module->listens, hook))
    {
      JunoListen *listen;
      GPtrArray *listeners;

      g_string_truncate (self->key, 0);
      juno_json_append_string (self->key, hook);
      if (!take_name (self, ep, msg, strlen (hook), self->key->len))
        return;
      listen = g_new0 (JunoListen, 1);
      listeners = g_hash_table_lookup (self->listeners, hook);

      if (listeners == NULL)
        {
          listeners = g_ptr_array_new ();
          g_hash_table_insert (self->listeners, g_strdup (hook), listeners);
        }
      listen->module = module;
      listen->hook = g_strdup (hook);
      listen->index = listeners->len;
      g_ptr_array_add (listeners, listen);
      g_hash_table_insert (module->listens, listen->hook, listen);
    }

  juno_broker_begin_reply (self, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_MSG_HOOK_REGISTERED);
  juno_broker_send (self, ep);
  juno_broker_queue_signal (self, SIGNAL_HOOK_REGISTERED, 0, module->id, hook);
}

void
juno_registry_handle_trigger (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  const JunoJsonValue *value = &msg->keys[JUNO_KEY_HOOK];
  const JunoJsonValue *data = &msg->keys[JUNO_KEY_DATA];
  const JunoJsonValue *rid = &msg->keys[JUNO_KEY_REQUEST_ID];
  g_autofree char *decoded = NULL;
  char buffer[128];
  char *hook;

  if (value->kind != JUNO_JSON_STRING)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "hook is missing or not a string");
  if (!juno_broker_require_active (self, ep, msg))
    return;
  hook = juno_json_value_get_string (value, buffer, sizeof buffer, &decoded);
  if (hook == NULL || !juno_hook_name_is_valid (hook, -1))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "hook must be a bare name");
  if (!juno_broker_allows_all (self, ep, JUNO_POLICY_TRIGGER))
    {
      g_autofree char *address = g_strconcat (ep->module->id, ".", hook, NULL);

      if (!juno_broker_check_access (self, ep, JUNO_POLICY_TRIGGER, address, rid))
        return;
    }

  /* the ack first, then the deliveries */
  juno_broker_begin_reply (self, rid, JUNO_MSG_HOOK_TRIGGERED);
  juno_broker_send (self, ep);
  if (data->kind == JUNO_JSON_OBJECT)
    juno_registry_deliver_hook (self, ep->module->id, hook, data->text, data->len);
  else
    juno_registry_deliver_hook (self, ep->module->id, hook, "{}", 2);
}

/* Sends @module_id.@hook with @data (a JSON object's text) to every active
 * listener; returns how many got it. */
guint
juno_registry_deliver_hook (JunoBroker *self, const char *module_id, const char *hook,
                            const char *data, gsize data_len)
{
  guint delivered = 0;
  GPtrArray *listeners;

  g_string_assign (self->key, module_id);
  g_string_append_c (self->key, '.');
  g_string_append (self->key, hook);
  juno_broker_stats_touched (self);
  self->stats.hooks_triggered++;
  listeners = g_hash_table_lookup (self->listeners, self->key->str);
  if (listeners != NULL || (self->observers != NULL && self->observers->len > 0))
    {
      juno_broker_begin_broker_message (self, JUNO_MSG_HOOK_TRIGGERED);
      JUNO_OUT_LITERAL (self->out, ",\"hook\":");
      juno_json_append_string (self->out, self->key->str);
      JUNO_OUT_LITERAL (self->out, ",\"data\":");
      juno_out_append (self->out, data, data_len);
      juno_broker_finish_message (self);
      if (listeners != NULL)
        delivered = deliver_to_listeners (self, listeners);
      delivered += juno_observer_deliver (self);
    }

  if (g_signal_has_handler_pending (self, juno_broker_signals[SIGNAL_HOOK_TRIGGERED], 0, FALSE))
    {
      g_autofree char *data_json = g_strndup (data, data_len);

      juno_broker_queue_signal (self, SIGNAL_HOOK_TRIGGERED, 0, self->key->str, data_json);
    }
  return delivered;
}

gboolean
juno_registry_remove_module (JunoBroker *self, JunoEndpoint *ep)
{
  JunoModule *module = ep->module;

  if (self->standby != NULL && g_hash_table_lookup (self->standby, module->id) == module)
    {
      /* it never held the name: nothing to tell anyone */
      g_hash_table_remove (self->standby, module->id);
      return FALSE;
    }
  take_name_away (self, module, "its connection closed");
  log_module (module, NULL, "Module '%s' left", module->id);
  if (self->standby != NULL && g_hash_table_contains (self->standby, module->id))
    return TRUE; /* juno_registry_promote_standby resolves */
  update_activity (self, module);
  return FALSE;
}

/* The module standing by for @module_id takes the name back, and its
 * dependents are recomputed once, against it. */
void
juno_registry_promote_standby (JunoBroker *self, const char *module_id)
{
  JunoModule *module = NULL;

  if (self->standby == NULL || !g_hash_table_steal_extended (self->standby, module_id, NULL, (gpointer *) &module))
    return;
  g_hash_table_insert (self->modules, module->id, module);
  index_dependencies (self, module, TRUE);
  if (module->listens != NULL)
    add_listens (self, module);
  self->stats.modules++;
  log_module (module, NULL, "Module '%s' %s of connection %s takes its name back", module->id,
              module->version_text, module->endpoint->id_str);
  juno_broker_queue_signal (self, SIGNAL_MODULE_REGISTERED, module->endpoint->id, module->id, NULL);
  update_activity (self, module);
}
