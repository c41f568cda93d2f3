/* juno-dbus-module.c: see juno-dbus-module.h
 *
 * The broker describes a module as the JSON object of juno.getModuleInfo;
 * this file turns it into D-Bus values, so the registry is read through the
 * core's public API only and on lifecycle events only (never per message).
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "juno-dbus-module.h"

typedef struct
{
  char *module_id;
  char *connection_id;
  char *version;
  gboolean active;
  GVariant *dependencies; /* a{ss}, floating until used */
  GStrv functions;
  GStrv hooks;
} ModuleDescription;

static void
module_description_clear (ModuleDescription *d)
{
  g_clear_pointer (&d->module_id, g_free);
  g_clear_pointer (&d->connection_id, g_free);
  g_clear_pointer (&d->version, g_free);
  g_clear_pointer (&d->dependencies, g_variant_unref);
  g_clear_pointer (&d->functions, g_strfreev);
  g_clear_pointer (&d->hooks, g_strfreev);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ModuleDescription, module_description_clear)

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GStrv
dup_string_array (JsonObject *object, const char *member)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GStrv strv;
  JsonNode *node = json_object_get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          const char *s = json_node_get_string (json_array_get_element (array, i));

          if (s != NULL)
            g_strv_builder_add (builder, s);
        }
    }
  strv = g_strv_builder_end (builder);
  /* the registry's order is a hash table's: sort for stable output */
  qsort (strv, g_strv_length (strv), sizeof (char *), compare_strings);
  return strv;
}

static const char *
get_string (JsonObject *object, const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static gboolean
describe (JunoBroker *broker, const char *module_id, ModuleDescription *d)
{
  g_autofree char *json = juno_broker_dup_module_json (broker, module_id);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GVariantBuilder) deps = g_variant_builder_new (G_VARIANT_TYPE ("a{ss}"));
  JsonObject *object;
  JsonNode *node;

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, NULL))
    return FALSE;
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  object = json_node_get_object (node);

  d->module_id = g_strdup (module_id);
  d->connection_id = g_strdup (get_string (object, "connectionId") ?: "");
  d->version = g_strdup (get_string (object, "version") ?: "");
  node = json_object_get_member (object, "registered");
  d->active = node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_boolean (node);
  node = json_object_get_member (object, "dependencies");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &value))
        if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_string (value) != NULL)
          g_variant_builder_add (deps, "{ss}", name, json_node_get_string (value));
    }
  d->dependencies = g_variant_ref_sink (g_variant_builder_end (deps));
  d->functions = dup_string_array (object, "declaredFunctions");
  d->hooks = dup_string_array (object, "registeredHooks");
  return TRUE;
}

char *
juno_dbus_module_path (const char *module_id)
{
  g_autofree char *escaped = g_dbus_escape_object_path (module_id);

  return g_strconcat (JUNO_DBUS_MODULE_PATH_PREFIX "/", escaped, NULL);
}

JunoDBusObjectSkeleton *
juno_dbus_module_object_new (JunoBroker *broker, const char *module_id)
{
  g_auto(ModuleDescription) d = { 0 };
  g_autofree char *path = juno_dbus_module_path (module_id);
  g_autoptr(JunoDBusObjectSkeleton) object = juno_dbus_object_skeleton_new (path);
  g_autoptr(JunoDBusModule1) module = juno_dbus_module1_skeleton_new ();
  JunoEndpoint *endpoint = juno_broker_lookup_module_endpoint (broker, module_id);
  pid_t pid = 0;
  uid_t uid = (uid_t) -1;

  if (!describe (broker, module_id, &d))
    return NULL;
  if (endpoint != NULL)
    {
      juno_endpoint_get_peer_credentials (endpoint, &pid, &uid, NULL);
      juno_dbus_module1_set_transport (module, juno_endpoint_get_transport (endpoint));
    }
  juno_dbus_module1_set_module_id (module, module_id);
  juno_dbus_module1_set_version (module, d.version);
  juno_dbus_module1_set_connection_id (module, d.connection_id);
  juno_dbus_module1_set_dependencies (module, d.dependencies);
  juno_dbus_module1_set_peer_pid (module, (guint) pid);
  juno_dbus_module1_set_peer_uid (module, (guint) uid);
  juno_dbus_object_skeleton_set_module1 (object, module);
  juno_dbus_module_object_refresh (object, broker);
  return g_steal_pointer (&object);
}

void
juno_dbus_module_object_refresh_counters (JunoDBusObjectSkeleton *object, JunoBroker *broker)
{
  g_autoptr(JunoDBusModule1) module = juno_dbus_object_get_module1 (JUNO_DBUS_OBJECT (object));
  JunoEndpoint *endpoint;
  const JunoEndpointStats *stats;

  if (module == NULL)
    return;
  endpoint = juno_broker_lookup_module_endpoint (broker, juno_dbus_module1_get_module_id (module));
  if (endpoint == NULL)
    return;
  stats = juno_endpoint_get_stats (endpoint);
  /* the skeleton only queues a change when a value differs */
  juno_dbus_module1_set_messages_in (module, stats->messages_in);
  juno_dbus_module1_set_messages_out (module, stats->messages_out);
  juno_dbus_module1_set_bytes_in (module, stats->bytes_in);
  juno_dbus_module1_set_bytes_out (module, stats->bytes_out);
  juno_dbus_module1_set_calls_made (module, stats->calls_made);
  juno_dbus_module1_set_calls_received (module, stats->calls_received);
}

void
juno_dbus_module_object_refresh (JunoDBusObjectSkeleton *object, JunoBroker *broker)
{
  g_autoptr(JunoDBusModule1) module = juno_dbus_object_get_module1 (JUNO_DBUS_OBJECT (object));
  g_auto(ModuleDescription) d = { 0 };

  if (module == NULL || !describe (broker, juno_dbus_module1_get_module_id (module), &d))
    return;
  juno_dbus_module1_set_active (module, d.active);
  juno_dbus_module1_set_functions (module, (const char *const *) d.functions);
  juno_dbus_module1_set_hooks (module, (const char *const *) d.hooks);
  juno_dbus_module_object_refresh_counters (object, broker);
}

GVariant *
juno_dbus_module_info (JunoBroker *broker, const char *module_id, gboolean exported)
{
  g_auto(ModuleDescription) d = { 0 };
  g_auto(GVariantBuilder) info = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  JunoEndpoint *endpoint;
  pid_t pid;
  uid_t uid;

  if (!describe (broker, module_id, &d))
    return NULL;
  g_variant_builder_add (&info, "{sv}", "ModuleId", g_variant_new_string (d.module_id));
  g_variant_builder_add (&info, "{sv}", "ConnectionId", g_variant_new_string (d.connection_id));
  g_variant_builder_add (&info, "{sv}", "Version", g_variant_new_string (d.version));
  g_variant_builder_add (&info, "{sv}", "Active", g_variant_new_boolean (d.active));
  g_variant_builder_add (&info, "{sv}", "Dependencies", d.dependencies);
  g_variant_builder_add (&info, "{sv}", "Functions", g_variant_new_strv ((const char *const *) d.functions, -1));
  g_variant_builder_add (&info, "{sv}", "Hooks", g_variant_new_strv ((const char *const *) d.hooks, -1));
  if (exported)
    {
      g_autofree char *path = juno_dbus_module_path (module_id);

      g_variant_builder_add (&info, "{sv}", "ObjectPath", g_variant_new_object_path (path));
    }

  endpoint = juno_broker_lookup_module_endpoint (broker, module_id);
  if (endpoint != NULL)
    {
      const JunoEndpointStats *stats = juno_endpoint_get_stats (endpoint);

      g_variant_builder_add (&info, "{sv}", "Transport", g_variant_new_string (juno_endpoint_get_transport (endpoint)));
      if (juno_endpoint_get_peer_credentials (endpoint, &pid, &uid, NULL))
        {
          g_variant_builder_add (&info, "{sv}", "PeerPid", g_variant_new_uint32 ((guint32) pid));
          g_variant_builder_add (&info, "{sv}", "PeerUid", g_variant_new_uint32 ((guint32) uid));
        }
      g_variant_builder_add (&info, "{sv}", "MessagesIn", g_variant_new_uint64 (stats->messages_in));
      g_variant_builder_add (&info, "{sv}", "MessagesOut", g_variant_new_uint64 (stats->messages_out));
      g_variant_builder_add (&info, "{sv}", "BytesIn", g_variant_new_uint64 (stats->bytes_in));
      g_variant_builder_add (&info, "{sv}", "BytesOut", g_variant_new_uint64 (stats->bytes_out));
      g_variant_builder_add (&info, "{sv}", "CallsMade", g_variant_new_uint64 (stats->calls_made));
      g_variant_builder_add (&info, "{sv}", "CallsReceived", g_variant_new_uint64 (stats->calls_received));
    }
  return g_variant_builder_end (&info);
}
