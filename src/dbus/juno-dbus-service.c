/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-service.c: see juno-dbus-service.h
 *
 * Rules: every handler returns a value or a GError that becomes
 * org.juno.Broker1.Error.<Name>; the broker's counters are published by
 * one timer, at most PUBLISH_INTERVAL_MSEC apart and only when they
 * changed; module objects (juno-dbus-module.c) cost nothing per module,
 * read the core when asked and signal the broker's lifecycle signals.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "juno-common.h"
#include "juno-dbus-error.h"
#include "juno-dbus-generated.h"
#include "juno-dbus-module.h"
#include "juno-dbus-service.h"

#define PUBLISH_INTERVAL_MSEC 250

struct _JunoDBusService
{
  GObject parent_instance;

  JunoBroker *broker;
  GStrv addresses;
  gint64 start_time;
  JunoDBusBroker1 *skeleton;
  JunoDBusModules *modules;   /* the module objects and the ObjectManager */
  GDBusConnection *connection;
  GCancellable *cancellable;
  guint owner_id;
  guint publish_id;
  JunoStats published;
  GHashTable *subscribers;    /* unique bus name -> name watch id */
  gulong hook_handler;        /* connected while there are subscribers */
  JunoDBusReadyFunc ready_func;
  gpointer ready_data;
};

G_DEFINE_FINAL_TYPE (JunoDBusService, juno_dbus_service, G_TYPE_OBJECT)

static void publish_stats (JunoDBusService *self);

static void
juno_dbus_service_dispose (GObject *object)
{
  JunoDBusService *self = JUNO_DBUS_SERVICE (object);

  juno_dbus_service_stop (self);
  g_clear_pointer (&self->subscribers, g_hash_table_unref);
  g_clear_object (&self->skeleton);
  g_clear_pointer (&self->modules, juno_dbus_modules_free);
  g_clear_object (&self->broker);
  G_OBJECT_CLASS (juno_dbus_service_parent_class)->dispose (object);
}

static void
juno_dbus_service_finalize (GObject *object)
{
  JunoDBusService *self = JUNO_DBUS_SERVICE (object);

  g_strfreev (self->addresses);
  G_OBJECT_CLASS (juno_dbus_service_parent_class)->finalize (object);
}

static void
juno_dbus_service_init (JunoDBusService *self)
{
  self->start_time = g_get_real_time ();
}

static void
juno_dbus_service_class_init (JunoDBusServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = juno_dbus_service_dispose;
  object_class->finalize = juno_dbus_service_finalize;
}

/* Helpers */

/* Depth of [ and { outside strings, so json-glib 1.6 never recurses deep. */
static gboolean
json_depth_ok (const char *text)
{
  gboolean in_string = FALSE;
  int depth = 0;

  for (const char *p = text; *p; p++)
    {
      if (in_string)
        {
          if (*p == '\\' && p[1] != '\0')
            p++;
          else if (*p == '"')
            in_string = FALSE;
        }
      else if (*p == '"')
        in_string = TRUE;
      else if (*p == '[' || *p == '{')
        {
          if (++depth > JUNO_JSON_MAX_DEPTH)
            return FALSE;
        }
      else if (*p == ']' || *p == '}')
        depth--;
    }
  return TRUE;
}

/* An empty string stands for {}. */
static gboolean
check_json_object (const char *what, const char *text, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;

  if (*text == '\0')
    return TRUE;
  if (!json_depth_ok (text))
    {
      g_set_error (error, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_INVALID_ARGS,
                   "%s is nested deeper than %d levels", what, JUNO_JSON_MAX_DEPTH);
      return FALSE;
    }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, -1, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_INVALID_ARGS, "%s is not a JSON object", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
module_known (JunoDBusService *self, const char *module_id)
{
  return juno_broker_lookup_module (self->broker, module_id) != NULL;
}

static void
log_dbus_failure (const char *member, const char *target, const GError *error)
{
  g_autofree char *name = g_dbus_error_encode_gerror (error);
  g_autofree char *message = g_strdup_printf ("D-Bus %s (%s) failed: %s", member, target, error->message);
  const GLogField fields[] = {
    { "MESSAGE", message, -1 },
    { "PRIORITY", "7", -1 },
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    { JUNO_LOG_FIELD_FUNCTION, target, -1 },
    { JUNO_LOG_FIELD_ERROR, name, -1 },
  };

  g_log_structured_array (G_LOG_LEVEL_DEBUG, fields, G_N_ELEMENTS (fields));
}

/* Method handlers */

static gboolean
handle_list_modules (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation, JunoDBusService *self)
{
  juno_dbus_broker1_complete_list_modules (skeleton, invocation, juno_dbus_module_list (self->broker));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_module_info (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation,
                        const char *module_id, JunoDBusService *self)
{
  GVariant *info = juno_dbus_module_info (self->broker, module_id);

  if (info == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_UNKNOWN_MODULE,
                                             "No module '%s' is registered", module_id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  juno_dbus_broker1_complete_get_module_info (skeleton, invocation, info);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_call_answered (JunoBroker *broker, const char *result_json, int error_code, gpointer user_data)
{
  /* takes the reference made in handle_call_function */
  g_autoptr(GDBusMethodInvocation) invocation = user_data;

  if (result_json != NULL)
    {
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", result_json));
      return;
    }
  {
    g_autoptr(GError) error = juno_dbus_error_new_from_code (error_code);
    GVariant *params = g_dbus_method_invocation_get_parameters (invocation);
    const char *function = NULL;

    g_variant_get_child (params, 0, "&s", &function);
    log_dbus_failure ("CallFunction", function, error);
    g_dbus_method_invocation_return_gerror (invocation, error);
  }
}

static gboolean
handle_call_function (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation,
                      const char *function, const char *arguments_json, JunoDBusService *self)
{
  g_autoptr(GError) error = NULL;

  if (!check_json_object ("arguments_json", arguments_json, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  /* exactly one answer, maybe before this returns */
  juno_broker_call_function (self->broker, function, arguments_json, on_call_answered,
                             g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_trigger_hook (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation,
                     const char *hook, const char *data_json, JunoDBusService *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *module_id = NULL;
  gsize module_len;

  if (!juno_hook_address_is_valid (hook, &module_len))
    g_set_error (&error, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_INVALID_ARGS,
                 "'%s' is not of the form module.hook", hook);
  else if (check_json_object ("data_json", data_json, &error))
    {
      module_id = g_strndup (hook, module_len);
      if (!module_known (self, module_id))
        g_set_error (&error, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_UNKNOWN_MODULE,
                     "No module '%s' is registered", module_id);
      else if (!juno_broker_trigger_hook (self->broker, hook, data_json, NULL, &error))
        {
          g_autoptr(GError) core = g_steal_pointer (&error);

          g_set_error_literal (&error, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_INVALID_ARGS, core->message);
        }
    }
  if (error != NULL)
    {
      log_dbus_failure ("TriggerHook", hook, error);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  juno_dbus_broker1_complete_trigger_hook (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
stats_variant (JunoDBusService *self)
{
  const JunoStats *s = juno_broker_get_stats (self->broker);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&b, "{sv}", "Version", g_variant_new_string (juno_broker_get_version (self->broker)));
  g_variant_builder_add (&b, "{sv}", "StartTime", g_variant_new_uint64 ((guint64) self->start_time));
  g_variant_builder_add (&b, "{sv}", "Addresses", g_variant_new_strv ((const char *const *) self->addresses, -1));
  g_variant_builder_add (&b, "{sv}", "Connections", g_variant_new_uint64 (s->connections));
  g_variant_builder_add (&b, "{sv}", "ConnectionsTotal", g_variant_new_uint64 (s->connections_total));
  g_variant_builder_add (&b, "{sv}", "Modules", g_variant_new_uint64 (s->modules));
  g_variant_builder_add (&b, "{sv}", "ActiveModules", g_variant_new_uint64 (s->active_modules));
  g_variant_builder_add (&b, "{sv}", "MessagesIn", g_variant_new_uint64 (s->messages_in));
  g_variant_builder_add (&b, "{sv}", "MessagesOut", g_variant_new_uint64 (s->messages_out));
  g_variant_builder_add (&b, "{sv}", "BytesIn", g_variant_new_uint64 (s->bytes_in));
  g_variant_builder_add (&b, "{sv}", "BytesOut", g_variant_new_uint64 (s->bytes_out));
  g_variant_builder_add (&b, "{sv}", "CallsRouted", g_variant_new_uint64 (s->calls_routed));
  g_variant_builder_add (&b, "{sv}", "CallsFailed", g_variant_new_uint64 (s->calls_failed));
  g_variant_builder_add (&b, "{sv}", "CallsTimedOut", g_variant_new_uint64 (s->calls_timed_out));
  g_variant_builder_add (&b, "{sv}", "HooksTriggered", g_variant_new_uint64 (s->hooks_triggered));
  g_variant_builder_add (&b, "{sv}", "HooksDelivered", g_variant_new_uint64 (s->hooks_delivered));
  g_variant_builder_add (&b, "{sv}", "ErrorsSent", g_variant_new_uint64 (s->errors_sent));
  g_variant_builder_add (&b, "{sv}", "LimitsReached", g_variant_new_uint64 (s->limits_reached));
  g_variant_builder_add (&b, "{sv}", "ConnectionsCut", g_variant_new_uint64 (s->connections_cut));
  return g_variant_builder_end (&b);
}

static gboolean
handle_get_stats (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation, JunoDBusService *self)
{
  juno_dbus_broker1_complete_get_stats (skeleton, invocation, stats_variant (self));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* HookTriggered subscriptions: the broker's hook-triggered signal is
 * connected only while someone is subscribed, so without subscribers a
 * hook costs the core no copy and the bus no message. */

static void
on_hook_triggered (JunoBroker *broker, const char *hook, const char *data_json, JunoDBusService *self)
{
  juno_dbus_broker1_emit_hook_triggered (self->skeleton, hook, data_json);
}

static void
subscribers_changed (JunoDBusService *self)
{
  guint n = g_hash_table_size (self->subscribers);

  if (n > 0 && self->hook_handler == 0)
    self->hook_handler = g_signal_connect_object (self->broker, "hook-triggered",
                                                  G_CALLBACK (on_hook_triggered), self, 0);
  else if (n == 0 && self->hook_handler != 0)
    {
      g_signal_handler_disconnect (self->broker, self->hook_handler);
      self->hook_handler = 0;
    }
}

static void
on_subscriber_vanished (GDBusConnection *connection, const char *name, gpointer data)
{
  JunoDBusService *self = data;

  if (g_hash_table_remove (self->subscribers, name))
    {
      g_debug ("D-Bus subscriber %s left the bus", name);
      subscribers_changed (self);
    }
}

static void
unwatch_name (gpointer id)
{
  if (id != NULL)
    g_bus_unwatch_name (GPOINTER_TO_UINT (id));
}

static gboolean
handle_subscribe (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation, JunoDBusService *self)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  /* a peer-to-peer connection has no sender: then the connection is the peer */
  if (sender == NULL)
    sender = "";
  if (!g_hash_table_contains (self->subscribers, sender))
    {
      guint id = 0;

      if (*sender != '\0')
        id = g_bus_watch_name_on_connection (g_dbus_method_invocation_get_connection (invocation), sender,
                                             G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_subscriber_vanished,
                                             self, NULL);
      g_hash_table_insert (self->subscribers, g_strdup (sender), GUINT_TO_POINTER (id));
      subscribers_changed (self);
    }
  juno_dbus_broker1_complete_subscribe (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_unsubscribe (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation, JunoDBusService *self)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  if (!g_hash_table_remove (self->subscribers, sender ? sender : ""))
    {
      g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_NOT_SUBSCRIBED,
                                             "%s is not subscribed", sender ? sender : "this connection");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  subscribers_changed (self);
  juno_dbus_broker1_complete_unsubscribe (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Counters */

static void
publish_stats (JunoDBusService *self)
{
  const JunoStats *s = juno_broker_get_stats (self->broker);

  /* the broker's own counters only: a module's are read live on Get,
   * GetAll and GetManagedObjects, so this costs the same for any number
   * of modules */
  if (memcmp (s, &self->published, sizeof *s) != 0)
    {
      self->published = *s;
      juno_dbus_broker1_set_connections (self->skeleton, s->connections);
      juno_dbus_broker1_set_modules (self->skeleton, s->modules);
      juno_dbus_broker1_set_active_modules (self->skeleton, s->active_modules);
      juno_dbus_broker1_set_messages_in (self->skeleton, s->messages_in);
      juno_dbus_broker1_set_messages_out (self->skeleton, s->messages_out);
      juno_dbus_broker1_set_bytes_in (self->skeleton, s->bytes_in);
      juno_dbus_broker1_set_bytes_out (self->skeleton, s->bytes_out);
      juno_dbus_broker1_set_calls_routed (self->skeleton, s->calls_routed);
      juno_dbus_broker1_set_calls_failed (self->skeleton, s->calls_failed);
      juno_dbus_broker1_set_calls_timed_out (self->skeleton, s->calls_timed_out);
      juno_dbus_broker1_set_hooks_delivered (self->skeleton, s->hooks_delivered);
    }
}

static gboolean
on_publish_timeout (gpointer data)
{
  publish_stats (data);
  return G_SOURCE_CONTINUE;
}

/* Broker signals */

static void
on_module_connected (JunoBroker *broker, guint64 connection_id, JunoDBusService *self)
{
  g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT, connection_id);

  /* an InterfacesAdded still waiting goes out first, in order */
  juno_dbus_modules_flush (self->modules);
  juno_dbus_broker1_emit_module_connected (self->skeleton, id);
}

static void
on_module_registered (JunoBroker *broker, const char *module_id, guint64 connection_id, JunoDBusService *self)
{
  g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT, connection_id);

  juno_dbus_modules_emit_added (self->modules, module_id);
  juno_dbus_broker1_emit_module_registered (self->skeleton, module_id, id);
}

static void
on_module_activated (JunoBroker *broker, const char *module_id, JunoDBusService *self)
{
  juno_dbus_modules_emit_changed (self->modules, module_id, JUNO_DBUS_MODULE_CHANGED_ACTIVE);
  juno_dbus_broker1_emit_module_activated (self->skeleton, module_id);
}

static void
on_module_deactivated (JunoBroker *broker, const char *module_id, JunoDBusService *self)
{
  juno_dbus_modules_emit_changed (self->modules, module_id, JUNO_DBUS_MODULE_CHANGED_ACTIVE);
  juno_dbus_broker1_emit_module_deactivated (self->skeleton, module_id);
}

static void
on_module_disconnected (JunoBroker *broker, guint64 connection_id, const char *module_id, JunoDBusService *self)
{
  g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT, connection_id);

  if (module_id != NULL)
    juno_dbus_modules_emit_removed (self->modules, module_id);
  juno_dbus_broker1_emit_module_disconnected (self->skeleton, id, module_id ? module_id : "");
}

static void
on_function_declared (JunoBroker *broker, const char *module_id, const char *function, JunoDBusService *self)
{
  juno_dbus_modules_emit_changed (self->modules, module_id, JUNO_DBUS_MODULE_CHANGED_FUNCTIONS);
}

static void
on_hook_registered (JunoBroker *broker, const char *module_id, const char *hook, JunoDBusService *self)
{
  juno_dbus_modules_emit_changed (self->modules, module_id, JUNO_DBUS_MODULE_CHANGED_HOOKS);
}

/* Public API */

JunoDBusService *
juno_dbus_service_new (JunoBroker *broker, const char *const *addresses)
{
  JunoDBusService *self = g_object_new (JUNO_TYPE_DBUS_SERVICE, NULL);

  self->broker = g_object_ref (broker);
  self->addresses = g_strdupv ((char **) addresses);
  self->skeleton = juno_dbus_broker1_skeleton_new ();
  self->subscribers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unwatch_name);
  self->modules = juno_dbus_modules_new (broker);

  juno_dbus_broker1_set_version (self->skeleton, juno_broker_get_version (broker));
  juno_dbus_broker1_set_start_time (self->skeleton, (guint64) self->start_time);
  juno_dbus_broker1_set_addresses (self->skeleton, (const char *const *) self->addresses);
  publish_stats (self);

  g_signal_connect_object (self->skeleton, "handle-list-modules", G_CALLBACK (handle_list_modules), self, 0);
  g_signal_connect_object (self->skeleton, "handle-get-module-info", G_CALLBACK (handle_get_module_info), self, 0);
  g_signal_connect_object (self->skeleton, "handle-call-function", G_CALLBACK (handle_call_function), self, 0);
  g_signal_connect_object (self->skeleton, "handle-trigger-hook", G_CALLBACK (handle_trigger_hook), self, 0);
  g_signal_connect_object (self->skeleton, "handle-get-stats", G_CALLBACK (handle_get_stats), self, 0);
  g_signal_connect_object (self->skeleton, "handle-subscribe", G_CALLBACK (handle_subscribe), self, 0);
  g_signal_connect_object (self->skeleton, "handle-unsubscribe", G_CALLBACK (handle_unsubscribe), self, 0);

  g_signal_connect_object (broker, "module-connected", G_CALLBACK (on_module_connected), self, 0);
  g_signal_connect_object (broker, "module-registered", G_CALLBACK (on_module_registered), self, 0);
  g_signal_connect_object (broker, "module-activated", G_CALLBACK (on_module_activated), self, 0);
  g_signal_connect_object (broker, "module-deactivated", G_CALLBACK (on_module_deactivated), self, 0);
  g_signal_connect_object (broker, "module-disconnected", G_CALLBACK (on_module_disconnected), self, 0);
  g_signal_connect_object (broker, "function-declared", G_CALLBACK (on_function_declared), self, 0);
  g_signal_connect_object (broker, "hook-registered", G_CALLBACK (on_hook_registered), self, 0);
  return self;
}

static void
report_ready (JunoDBusService *self, gboolean owned)
{
  JunoDBusReadyFunc func = self->ready_func;

  self->ready_func = NULL;
  if (func != NULL)
    func (self, owned, self->ready_data);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  JunoDBusService *self = data;

  g_message ("Owning the D-Bus name %s", name);
  report_ready (self, TRUE);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer data)
{
  JunoDBusService *self = data;
  g_autofree char *message = NULL;

  if (connection == NULL || g_dbus_connection_is_closed (connection))
    message = g_strdup ("Lost the D-Bus connection; the D-Bus control plane is off, the sockets still serve");
  else
    message = g_strdup_printf ("Cannot own the D-Bus name %s (another broker has it?); waiting in the queue", name);
  {
    const GLogField fields[] = {
      { "MESSAGE", message, -1 },
      { "MESSAGE_ID", JUNO_MESSAGE_ID_DBUS_LOST, -1 },
      { "PRIORITY", "4", -1 },
      { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    };

    g_log_structured_array (G_LOG_LEVEL_WARNING, fields, G_N_ELEMENTS (fields));
  }
  report_ready (self, FALSE);
}

static void
on_connection_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error, gpointer data)
{
  JunoDBusService *self = data;

  g_clear_handle_id (&self->publish_id, g_source_remove);
}

static void
on_bus_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  JunoDBusService *self = data;
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection = g_dbus_connection_new_for_address_finish (result, &error);

  if (connection == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_warning ("Cannot connect to the D-Bus bus: %s; the D-Bus control plane is off", error->message);
          report_ready (self, FALSE);
        }
      g_object_unref (self);
      return;
    }
  self->connection = connection;
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  g_signal_connect_object (connection, "closed", G_CALLBACK (on_connection_closed), self, 0);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         JUNO_DBUS_PATH, &error))
    {
      g_warning ("Cannot export %s: %s", JUNO_DBUS_PATH, error->message);
      report_ready (self, FALSE);
      g_object_unref (self);
      return;
    }
  if (!juno_dbus_modules_export (self->modules, connection, &error))
    {
      g_warning ("Cannot export the module objects under %s: %s", JUNO_DBUS_PATH, error->message);
      report_ready (self, FALSE);
      g_object_unref (self);
      return;
    }
  self->publish_id = g_timeout_add (PUBLISH_INTERVAL_MSEC, on_publish_timeout, self);
  self->owner_id = g_bus_own_name_on_connection (connection, JUNO_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                                 on_name_acquired, on_name_lost, self, NULL);
  g_object_unref (self);
}

void
juno_dbus_service_start (JunoDBusService *self, GBusType bus_type, const char *address,
                         JunoDBusReadyFunc func, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bus_address = NULL;

  g_return_if_fail (JUNO_IS_DBUS_SERVICE (self));
  g_return_if_fail (self->cancellable == NULL);

  self->ready_func = func;
  self->ready_data = user_data;
  bus_address = address ? g_strdup (address) : g_dbus_address_get_for_bus_sync (bus_type, NULL, &error);
  if (bus_address == NULL)
    {
      g_warning ("No D-Bus bus address: %s; the D-Bus control plane is off", error->message);
      report_ready (self, FALSE);
      return;
    }
  self->cancellable = g_cancellable_new ();
  g_dbus_connection_new_for_address (bus_address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, self->cancellable, on_bus_connected, g_object_ref (self));
}

void
juno_dbus_service_stop (JunoDBusService *self)
{
  g_return_if_fail (JUNO_IS_DBUS_SERVICE (self));

  self->ready_func = NULL;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->owner_id, g_bus_unown_name);
  g_clear_handle_id (&self->publish_id, g_source_remove);
  if (self->subscribers != NULL)
    {
      g_hash_table_remove_all (self->subscribers);
      subscribers_changed (self);
    }
  if (self->connection != NULL)
    {
      if (self->modules != NULL)
        juno_dbus_modules_unexport (self->modules);
      if (self->skeleton != NULL)
        g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
      g_dbus_connection_flush_sync (self->connection, NULL, NULL);
      g_dbus_connection_close_sync (self->connection, NULL, NULL);
      g_signal_handlers_disconnect_by_data (self->connection, self);
      g_clear_object (&self->connection);
    }
}
