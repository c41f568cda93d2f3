/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-service.c: see juno-dbus-service.h
 *
 * Rules: every handler returns a value or a GError that becomes
 * org.juno.Broker1.Error.<Name>; callers that call functions, trigger
 * hooks or subscribe are core endpoints of their own (juno-dbus-peers.c)
 * and hand their JSON to the core's typed API, never as protocol text;
 * the broker's counters are published when they change, at most
 * PUBLISH_INTERVAL_MSEC apart, and no timer runs while nothing changes;
 * module objects (juno-dbus-module.c) cost nothing per module, read the
 * core when asked and signal the broker's lifecycle signals. When the bus
 * connection is lost the control plane is torn down, and a new connection
 * is tried, RECONNECT_MIN_MSEC and then up to RECONNECT_MAX_MSEC apart,
 * until the bus is back and the name owned again.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "juno-common.h"
#include "juno-dbus-error.h"
#include "juno-dbus-generated.h"
#include "juno-dbus-module.h"
#include "juno-dbus-peers.h"
#include "juno-dbus-service.h"

#define PUBLISH_INTERVAL_MSEC 250
#define RECONNECT_MIN_MSEC 250
#define RECONNECT_MAX_MSEC 5000

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
  char *bus_address;          /* kept to connect again after a loss */
  guint owner_id;
  guint publish_id;           /* one-shot, armed by a change of the counters */
  JunoStats published;
  JunoDBusPeers *peers;       /* callers: client endpoints, subscribers */
  gulong hook_handler;        /* connected while there are subscribers */
  guint reconnect_id;
  guint reconnect_delay;      /* msec */
  gboolean lost;              /* had the bus and lost it: trying again */
  JunoDBusReadyFunc ready_func;
  gpointer ready_data;
  JunoDBusReloadFunc reload_func;
  gpointer reload_data;
  GObject *federation;        /* NULL when the broker is not federated */
  /* lifecycle signals under a storm: a token bucket */
  double lifecycle_tokens;
  gint64 lifecycle_refilled;  /* monotonic µs; 0 before the first */
  guint64 lifecycle_dropped;  /* since start */
  guint64 lifecycle_unreported;
  guint lifecycle_report_id;
};

G_DEFINE_FINAL_TYPE (JunoDBusService, juno_dbus_service, G_TYPE_OBJECT)

static void publish_stats (JunoDBusService *self);

static void
juno_dbus_service_dispose (GObject *object)
{
  JunoDBusService *self = JUNO_DBUS_SERVICE (object);

  juno_dbus_service_stop (self);
  g_clear_handle_id (&self->lifecycle_report_id, g_source_remove);
  if (self->federation != NULL)
    g_signal_handlers_disconnect_by_data (self->federation, self);
  g_clear_object (&self->federation);
  g_clear_pointer (&self->peers, juno_dbus_peers_free);
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
  g_free (self->bus_address);
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

/* The D-Bus error for a GError of the core's typed API. */
static GError *
dbus_error_from_core (const GError *core)
{
  int code = JUNO_DBUS_ERROR_INVALID_ARGS;

  if (g_error_matches (core, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
    code = JUNO_DBUS_ERROR_MESSAGE_TOO_LARGE;
  else if (g_error_matches (core, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    code = JUNO_DBUS_ERROR_RESERVED_HOOK;
  else if (g_error_matches (core, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_DENIED))
    code = JUNO_DBUS_ERROR_ACCESS_DENIED;
  return g_error_new_literal (JUNO_DBUS_ERROR, code, core->message);
}

static void
on_call_answered (JunoBroker *broker, const char *result_json, int error_code, gpointer user_data)
{
  /* takes the reference made in call_function */
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  GVariant *params = g_dbus_method_invocation_get_parameters (invocation);
  const char *function = NULL;

  if (result_json != NULL && strlen (result_json) <= JUNO_DBUS_MAX_MESSAGE_SIZE)
    {
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", result_json));
      return;
    }
  if (result_json != NULL)
    error = g_error_new (JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_MESSAGE_TOO_LARGE,
                         "The answer (%" G_GSIZE_FORMAT " bytes) is too large for a D-Bus message",
                         strlen (result_json));
  else if (error_code == JUNO_BROKER_CALL_DROPPED)
    error = g_error_new_literal (JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED,
                                 "The caller left the bus, or the broker lost it");
  else
    error = juno_dbus_error_new_from_code (error_code);
  g_variant_get_child (params, 0, "&s", &function);
  log_dbus_failure ("CallFunction", function, error);
  g_dbus_method_invocation_return_gerror (invocation, error);
}

static void
call_function (JunoDBusPeer *peer, GDBusMethodInvocation *invocation, gpointer user_data)
{
  JunoDBusService *self = user_data;
  g_autoptr(GError) core = NULL;
  const char *function, *arguments_json;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&s&s)", &function, &arguments_json);
  /* exactly one answer, maybe before this returns */
  if (!juno_broker_client_call (self->broker, juno_dbus_peer_get_endpoint (peer), function, arguments_json, -1,
                                on_call_answered, g_object_ref (invocation), &core))
    {
      g_autoptr(GError) error = dbus_error_from_core (core);

      g_object_unref (invocation);
      log_dbus_failure ("CallFunction", function, error);
      g_dbus_method_invocation_return_gerror (invocation, error);
    }
}

static gboolean
handle_call_function (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation,
                      const char *function, const char *arguments_json, JunoDBusService *self)
{
  juno_dbus_peers_dispatch (self->peers, invocation, call_function, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Any hook but juno's, whether or not its module is connected: see
 * docs/dbus-api.md. */
static void
trigger_hook (JunoDBusPeer *peer, GDBusMethodInvocation *invocation, gpointer user_data)
{
  JunoDBusService *self = user_data;
  g_autoptr(GError) core = NULL;
  const char *hook, *data_json;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&s&s)", &hook, &data_json);
  if (!juno_broker_client_trigger (self->broker, juno_dbus_peer_get_endpoint (peer), hook, data_json, -1, NULL,
                                   &core))
    {
      g_autoptr(GError) error = dbus_error_from_core (core);

      log_dbus_failure ("TriggerHook", hook, error);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  juno_dbus_broker1_complete_trigger_hook (self->skeleton, invocation);
}

static gboolean
handle_trigger_hook (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation,
                     const char *hook, const char *data_json, JunoDBusService *self)
{
  juno_dbus_peers_dispatch (self->peers, invocation, trigger_hook, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* GetStats's name of a key of the broker's extra statistics (lowerCamelCase,
 * as juno.getStats has them): the same with its first letter upper-cased,
 * or NULL for a key that does not start with a lower-case letter. */
static char *
extra_stats_key (const char *key)
{
  char *name;

  if (!g_ascii_islower (key[0]))
    return NULL;
  name = g_strdup (key);
  name[0] = g_ascii_toupper (name[0]);
  return name;
}

/* The federation's statistics (juno_broker_dup_extra_stats): counters as
 * t, strings as s; other values and names GetStats already has are left
 * out, so that every key appears once. */
static void
add_extra_stats (JunoDBusService *self, GVariantBuilder *b, GHashTable *names)
{
  g_autoptr(GVariant) extra = juno_broker_dup_extra_stats (self->broker);
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (extra == NULL)
    return;
  g_variant_iter_init (&iter, extra);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      g_autofree char *name = extra_stats_key (key);

      if (name == NULL || g_hash_table_contains (names, name) ||
          !(g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64) || g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)))
        continue;
      g_variant_builder_add (b, "{sv}", name, value);
      g_hash_table_add (names, g_steal_pointer (&name));
    }
}

static GVariant *
stats_variant (JunoDBusService *self)
{
  const JunoStats *s = juno_broker_get_stats (self->broker);
  const struct
  {
    const char *name;
    guint64 value;
  } counters[] = {
    { "StartTime", (guint64) self->start_time },
    { "Connections", s->connections },
    { "ConnectionsTotal", s->connections_total },
    { "Modules", s->modules },
    { "ActiveModules", s->active_modules },
    { "MessagesIn", s->messages_in },
    { "MessagesOut", s->messages_out },
    { "BytesIn", s->bytes_in },
    { "BytesOut", s->bytes_out },
    { "CallsRouted", s->calls_routed },
    { "CallsFailed", s->calls_failed },
    { "CallsTimedOut", s->calls_timed_out },
    { "HooksTriggered", s->hooks_triggered },
    { "HooksDelivered", s->hooks_delivered },
    { "ErrorsSent", s->errors_sent },
    { "LimitsReached", s->limits_reached },
    { "ConnectionsCut", s->connections_cut },
    { "HooksDropped", juno_dbus_peers_get_hooks_dropped (self->peers) },
    { "LifecycleSignalsDropped", self->lifecycle_dropped },
    { "AccessDenied", s->access_denied },
  };
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_variant_builder_add (&b, "{sv}", "Version", g_variant_new_string (juno_broker_get_version (self->broker)));
  g_hash_table_add (names, g_strdup ("Version"));
  g_variant_builder_add (&b, "{sv}", "Addresses", g_variant_new_strv ((const char *const *) self->addresses, -1));
  g_hash_table_add (names, g_strdup ("Addresses"));
  for (gsize i = 0; i < G_N_ELEMENTS (counters); i++)
    {
      g_variant_builder_add (&b, "{sv}", counters[i].name, g_variant_new_uint64 (counters[i].value));
      g_hash_table_add (names, g_strdup (counters[i].name));
    }
  add_extra_stats (self, &b, names);
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
 * hook costs the core no copy and the bus no message. Each subscriber
 * gets its own unicast signal, under flow control (juno-dbus-peers.h). */

static void
on_hook_triggered (JunoBroker *broker, const char *hook, const char *data_json, JunoDBusService *self)
{
  juno_dbus_peers_send_hook (self->peers, hook, data_json);
}

static void
subscribers_changed (gpointer data)
{
  JunoDBusService *self = data;
  guint n = juno_dbus_peers_get_n_subscribers (self->peers);

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
subscribe (JunoDBusPeer *peer, GDBusMethodInvocation *invocation, gpointer user_data)
{
  JunoDBusService *self = user_data;

  juno_dbus_peer_subscribe (peer);
  juno_dbus_broker1_complete_subscribe (self->skeleton, invocation);
}

static gboolean
handle_subscribe (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation, JunoDBusService *self)
{
  juno_dbus_peers_dispatch (self->peers, invocation, subscribe, self);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
juno_dbus_service_set_reload_func (JunoDBusService *self, JunoDBusReloadFunc func, gpointer user_data)
{
  self->reload_func = func;
  self->reload_data = user_data;
}

static void
on_reload_caller_uid (GObject *source, GAsyncResult *result, gpointer user_data)
{
  /* takes the reference made in handle_reload_policy */
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  JunoDBusService *self = g_object_get_data (G_OBJECT (invocation), "juno-service");
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  g_autoptr(GError) error = NULL;
  guint32 uid = G_MAXUINT32;

  if (reply != NULL)
    g_variant_get (reply, "(u)", &uid);
  if (uid != 0)
    {
      g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_ACCESS_DENIED,
                                             "Only root may reload the access policy");
      return;
    }
  if (self->reload_func == NULL)
    {
      g_dbus_method_invocation_return_error_literal (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED,
                                                     "This broker has no policy to reload");
      return;
    }
  if (!self->reload_func (self->reload_data, &error))
    {
      g_dbus_method_invocation_return_error_literal (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED,
                                                     error->message);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_reload_policy (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation, JunoDBusService *self)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  if (sender == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_ACCESS_DENIED,
                                             "Only root may reload the access policy");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  /* the invocation keeps the service alive until the answer */
  g_object_set_data_full (G_OBJECT (invocation), "juno-service", g_object_ref (self), g_object_unref);
  g_dbus_connection_call (g_dbus_method_invocation_get_connection (invocation), "org.freedesktop.DBus",
                          "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser",
                          g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                          NULL, on_reload_caller_uid, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_unsubscribe (JunoDBusBroker1 *skeleton, GDBusMethodInvocation *invocation, JunoDBusService *self)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  if (!juno_dbus_peers_unsubscribe (self->peers, sender))
    {
      g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_NOT_SUBSCRIBED,
                                             "%s is not subscribed", sender ? sender : "this connection");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
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

static void on_stats_changed (gpointer data);

static gboolean
on_publish_timeout (gpointer data)
{
  JunoDBusService *self = data;

  self->publish_id = 0;
  publish_stats (self);
  juno_broker_watch_stats (self->broker, on_stats_changed, self);
  return G_SOURCE_REMOVE;
}

/* The first change after a publication: the next one waits a little, so
 * that a burst of traffic is published a few times a second, and an idle
 * broker runs no timer at all. */
static void
on_stats_changed (gpointer data)
{
  JunoDBusService *self = data;

  if (self->publish_id == 0)
    self->publish_id = g_timeout_add (PUBLISH_INTERVAL_MSEC, on_publish_timeout, self);
}

/* The federation: BrokerName, Federation and FederationBrokers follow the
 * properties of its GObject ("broker-name", "state", "brokers"); the
 * skeleton sends PropertiesChanged for what changed. */

static void
sync_federation (JunoDBusService *self)
{
  static const char *const none[] = { NULL };
  g_autofree char *name = NULL;
  g_autofree char *state = NULL;
  g_auto(GStrv) brokers = NULL;

  if (self->federation != NULL)
    g_object_get (self->federation, "broker-name", &name, "state", &state, "brokers", &brokers, NULL);
  else
    state = g_strdup ("off");
  juno_dbus_broker1_set_broker_name (self->skeleton, name != NULL ? name : "");
  juno_dbus_broker1_set_federation (self->skeleton, state != NULL ? state : "");
  juno_dbus_broker1_set_federation_brokers (self->skeleton, brokers != NULL ? (const char *const *) brokers : none);
}

static void
on_federation_notify (GObject *federation, GParamSpec *pspec, JunoDBusService *self)
{
  sync_federation (self);
}

void
juno_dbus_service_set_federation (JunoDBusService *self, GObject *federation)
{
  g_return_if_fail (JUNO_IS_DBUS_SERVICE (self));
  g_return_if_fail (federation == NULL || G_IS_OBJECT (federation));

  if (self->federation == federation)
    return;
  if (self->federation != NULL)
    g_signal_handlers_disconnect_by_data (self->federation, self);
  g_set_object (&self->federation, federation);
  if (federation != NULL)
    {
      g_signal_connect_object (federation, "notify::broker-name", G_CALLBACK (on_federation_notify), self, 0);
      g_signal_connect_object (federation, "notify::state", G_CALLBACK (on_federation_notify), self, 0);
      g_signal_connect_object (federation, "notify::brokers", G_CALLBACK (on_federation_notify), self, 0);
    }
  if (self->skeleton != NULL)
    sync_federation (self);
}

/* Broker signals */

/* The lifecycle signals (ModuleConnected ... ModuleDisconnected) are
 * events; what a client can see at rest is the module objects and their
 * properties (ObjectManager), which always follow every change. Under a
 * storm (a broker restart: thousands of modules reconnect at once) the
 * events are sent at most LIFECYCLE_RATE a second, after a burst of as
 * many; the rest are counted (LifecycleSignalsDropped), logged once a
 * second, and not sent (docs/dbus-api.md). */
#define LIFECYCLE_RATE 1000.0
#define LIFECYCLE_BURST 1000.0

static gboolean
report_lifecycle_dropped (gpointer data)
{
  JunoDBusService *self = data;

  self->lifecycle_report_id = 0;
  g_message ("%" G_GUINT64_FORMAT " lifecycle signals not sent: more than %.0f a second; "
             "the module objects stay exact",
             self->lifecycle_unreported, LIFECYCLE_RATE);
  self->lifecycle_unreported = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
lifecycle_signal_allowed (JunoDBusService *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->lifecycle_refilled == 0)
    self->lifecycle_tokens = LIFECYCLE_BURST;
  else
    self->lifecycle_tokens = MIN (LIFECYCLE_BURST, self->lifecycle_tokens +
                                  (double) (now - self->lifecycle_refilled) * LIFECYCLE_RATE / G_USEC_PER_SEC);
  self->lifecycle_refilled = now;
  if (self->lifecycle_tokens >= 1.0)
    {
      self->lifecycle_tokens -= 1.0;
      return TRUE;
    }
  self->lifecycle_dropped++;
  self->lifecycle_unreported++;
  if (self->lifecycle_report_id == 0)
    self->lifecycle_report_id = g_timeout_add_seconds (1, report_lifecycle_dropped, self);
  return FALSE;
}

static void
on_module_connected (JunoBroker *broker, guint64 connection_id, JunoDBusService *self)
{
  g_autofree char *id = NULL;

  if (!lifecycle_signal_allowed (self))
    return;
  id = g_strdup_printf ("%" G_GUINT64_FORMAT, connection_id);
  /* an InterfacesAdded still waiting goes out first, in order */
  juno_dbus_modules_flush (self->modules);
  juno_dbus_broker1_emit_module_connected (self->skeleton, id);
}

static void
on_module_registered (JunoBroker *broker, const char *module_id, guint64 connection_id, JunoDBusService *self)
{
  g_autofree char *id = NULL;

  juno_dbus_modules_emit_added (self->modules, module_id);
  if (!lifecycle_signal_allowed (self))
    return;
  id = g_strdup_printf ("%" G_GUINT64_FORMAT, connection_id);
  juno_dbus_broker1_emit_module_registered (self->skeleton, module_id, id);
}

static void
on_module_activated (JunoBroker *broker, const char *module_id, JunoDBusService *self)
{
  juno_dbus_modules_emit_changed (self->modules, module_id, JUNO_DBUS_MODULE_CHANGED_ACTIVE);
  if (lifecycle_signal_allowed (self))
    juno_dbus_broker1_emit_module_activated (self->skeleton, module_id);
}

static void
on_module_deactivated (JunoBroker *broker, const char *module_id, JunoDBusService *self)
{
  juno_dbus_modules_emit_changed (self->modules, module_id, JUNO_DBUS_MODULE_CHANGED_ACTIVE);
  if (lifecycle_signal_allowed (self))
    juno_dbus_broker1_emit_module_deactivated (self->skeleton, module_id);
}

static void
on_module_disconnected (JunoBroker *broker, guint64 connection_id, const char *module_id, JunoDBusService *self)
{
  g_autofree char *id = NULL;

  if (module_id != NULL)
    juno_dbus_modules_emit_removed (self->modules, module_id);
  if (!lifecycle_signal_allowed (self))
    return;
  id = g_strdup_printf ("%" G_GUINT64_FORMAT, connection_id);
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
  self->peers = juno_dbus_peers_new (broker);
  juno_dbus_peers_set_subscribers_func (self->peers, G_CALLBACK (subscribers_changed), self);
  self->modules = juno_dbus_modules_new (broker);

  juno_dbus_broker1_set_version (self->skeleton, juno_broker_get_version (broker));
  juno_dbus_broker1_set_start_time (self->skeleton, (guint64) self->start_time);
  juno_dbus_broker1_set_addresses (self->skeleton, (const char *const *) self->addresses);
  sync_federation (self);
  publish_stats (self);

  g_signal_connect_object (self->skeleton, "handle-list-modules", G_CALLBACK (handle_list_modules), self, 0);
  g_signal_connect_object (self->skeleton, "handle-get-module-info", G_CALLBACK (handle_get_module_info), self, 0);
  g_signal_connect_object (self->skeleton, "handle-call-function", G_CALLBACK (handle_call_function), self, 0);
  g_signal_connect_object (self->skeleton, "handle-trigger-hook", G_CALLBACK (handle_trigger_hook), self, 0);
  g_signal_connect_object (self->skeleton, "handle-get-stats", G_CALLBACK (handle_get_stats), self, 0);
  g_signal_connect_object (self->skeleton, "handle-subscribe", G_CALLBACK (handle_subscribe), self, 0);
  g_signal_connect_object (self->skeleton, "handle-unsubscribe", G_CALLBACK (handle_unsubscribe), self, 0);
  g_signal_connect_object (self->skeleton, "handle-reload-policy", G_CALLBACK (handle_reload_policy), self, 0);

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
log_lost (const char *message)
{
  const GLogField fields[] = {
    { "MESSAGE", message, -1 },
    { "MESSAGE_ID", JUNO_MESSAGE_ID_DBUS_LOST, -1 },
    { "PRIORITY", "4", -1 },
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
  };

  g_log_structured_array (G_LOG_LEVEL_WARNING, fields, G_N_ELEMENTS (fields));
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  JunoDBusService *self = data;

  g_message ("Owning the D-Bus name %s", name);
  self->reconnect_delay = RECONNECT_MIN_MSEC;
  report_ready (self, TRUE);
}

static void
on_owner_pid (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree char *owner = data;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  g_autofree char *message = NULL;
  guint32 pid = 0;

  if (reply != NULL)
    g_variant_get (reply, "(u)", &pid);
  if (pid != 0)
    message = g_strdup_printf ("Cannot own the D-Bus name %s: %s (pid %u) owns it; waiting in the queue "
                               "until it lets go", JUNO_DBUS_NAME, owner, pid);
  else
    message = g_strdup_printf ("Cannot own the D-Bus name %s: %s owns it; waiting in the queue until it lets go",
                               JUNO_DBUS_NAME, owner);
  log_lost (message);
}

/* Why the name was not ours: GDBus does not say, the bus does. With an
 * owner, another process has it and we wait in the queue; without one, the
 * bus refused it (AccessDenied): its policy lacks juno's. */
static void
on_name_owner (GObject *source, GAsyncResult *result, gpointer data)
{
  GDBusConnection *connection = G_DBUS_CONNECTION (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (connection, result, &error);
  g_autofree char *message = NULL;
  const char *owner;

  if (reply == NULL)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);

      if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.NameHasNoOwner") != 0)
        message = g_strdup_printf ("Cannot own the D-Bus name %s: %s", JUNO_DBUS_NAME, error->message);
      else
        message = g_strdup_printf ("Cannot own the D-Bus name %s: the bus's policy does not allow it to uid %u "
                                   "(AccessDenied). On the system bus, the policy file %s must be installed "
                                   "(dbus-daemon reads /usr/share/dbus-1/system.d and /etc/dbus-1/system.d); "
                                   "see juno(8)", JUNO_DBUS_NAME, (unsigned) geteuid (), JUNO_DBUS_POLICY_FILE);
      log_lost (message);
      return;
    }
  g_variant_get (reply, "(&s)", &owner);
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixProcessID", g_variant_new ("(s)", owner), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_owner_pid, g_strdup (owner));
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer data)
{
  JunoDBusService *self = data;

  /* a closed connection is on_connection_closed's to report */
  if (connection == NULL || g_dbus_connection_is_closed (connection))
    return;
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetNameOwner", g_variant_new ("(s)", name), G_VARIANT_TYPE ("(s)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_name_owner, NULL);
  report_ready (self, FALSE);
}

/* Everything that lives on one bus connection goes with it; the callers'
 * calls in flight end, each answered once (or dropped with the peer). */
static void
teardown (JunoDBusService *self, gboolean flush)
{
  g_clear_handle_id (&self->owner_id, g_bus_unown_name);
  g_clear_handle_id (&self->publish_id, g_source_remove);
  if (self->broker != NULL)
    juno_broker_watch_stats (self->broker, NULL, NULL);
  if (self->peers != NULL)
    juno_dbus_peers_set_connection (self->peers, NULL);
  if (self->connection == NULL)
    return;
  if (self->modules != NULL)
    juno_dbus_modules_unexport (self->modules);
  if (self->skeleton != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_signal_handlers_disconnect_by_data (self->connection, self);
  if (flush && !g_dbus_connection_is_closed (self->connection))
    {
      g_dbus_connection_flush_sync (self->connection, NULL, NULL);
      g_dbus_connection_close_sync (self->connection, NULL, NULL);
    }
  g_clear_object (&self->connection);
}

static void connect_bus (JunoDBusService *self);

static gboolean
on_reconnect (gpointer data)
{
  JunoDBusService *self = data;

  self->reconnect_id = 0;
  connect_bus (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (JunoDBusService *self)
{
  if (self->reconnect_id != 0)
    return;
  self->reconnect_id = g_timeout_add (self->reconnect_delay, on_reconnect, self);
  self->reconnect_delay = MIN (self->reconnect_delay * 2, RECONNECT_MAX_MSEC);
}

static void
on_connection_closed (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error, gpointer data)
{
  JunoDBusService *self = data;
  g_autofree char *message = NULL;

  message = g_strdup_printf ("Lost the D-Bus connection (%s); the D-Bus control plane is off until the bus is "
                             "back, the sockets still serve",
                             error ? error->message : "closed by the bus");
  log_lost (message);
  teardown (self, FALSE);
  self->lost = TRUE;
  schedule_reconnect (self);
}

/* The control plane on a new connection; FALSE (with a warning) if it
 * cannot be exported there. */
static gboolean
setup (JunoDBusService *self, GDBusConnection *connection)
{
  g_autoptr(GError) error = NULL;

  self->connection = connection;
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  g_signal_connect_object (connection, "closed", G_CALLBACK (on_connection_closed), self, 0);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         JUNO_DBUS_PATH, &error))
    {
      g_warning ("Cannot export %s: %s", JUNO_DBUS_PATH, error->message);
      return FALSE;
    }
  if (!juno_dbus_modules_export (self->modules, connection, &error))
    {
      g_warning ("Cannot export the module objects under %s: %s", JUNO_DBUS_PATH, error->message);
      return FALSE;
    }
  juno_dbus_peers_set_connection (self->peers, connection);
  publish_stats (self);
  juno_broker_watch_stats (self->broker, on_stats_changed, self);
  self->owner_id = g_bus_own_name_on_connection (connection, JUNO_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                                 on_name_acquired, on_name_lost, self, NULL);
  return TRUE;
}

static void
on_bus_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  JunoDBusService *self = data;
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection = g_dbus_connection_new_for_address_finish (result, &error);

  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        ;
      else if (self->lost)
        {
          g_debug ("The D-Bus bus is not back yet: %s", error->message);
          schedule_reconnect (self);
        }
      else
        {
          g_warning ("Cannot connect to the D-Bus bus: %s; the D-Bus control plane is off", error->message);
          report_ready (self, FALSE);
        }
      g_object_unref (self);
      return;
    }
  if (self->lost)
    g_message ("Connected to the D-Bus bus again");
  self->lost = FALSE;
  if (!setup (self, connection))
    {
      teardown (self, TRUE);
      report_ready (self, FALSE);
    }
  g_object_unref (self);
}

static void
connect_bus (JunoDBusService *self)
{
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_dbus_connection_new_for_address (self->bus_address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, self->cancellable, on_bus_connected, g_object_ref (self));
}

void
juno_dbus_service_set_call_timeout (JunoDBusService *self, guint64 timeout_usec)
{
  g_return_if_fail (JUNO_IS_DBUS_SERVICE (self));
  juno_dbus_peers_set_call_timeout (self->peers, timeout_usec);
}

void
juno_dbus_service_start (JunoDBusService *self, GBusType bus_type, const char *address,
                         JunoDBusReadyFunc func, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (JUNO_IS_DBUS_SERVICE (self));
  g_return_if_fail (self->cancellable == NULL);

  self->ready_func = func;
  self->ready_data = user_data;
  g_free (self->bus_address);
  self->bus_address = address ? g_strdup (address) : g_dbus_address_get_for_bus_sync (bus_type, NULL, &error);
  if (self->bus_address == NULL)
    {
      g_warning ("No D-Bus bus address: %s; the D-Bus control plane is off", error->message);
      report_ready (self, FALSE);
      return;
    }
  self->reconnect_delay = RECONNECT_MIN_MSEC;
  connect_bus (self);
}

void
juno_dbus_service_stop (JunoDBusService *self)
{
  g_return_if_fail (JUNO_IS_DBUS_SERVICE (self));

  self->ready_func = NULL;
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  teardown (self, TRUE);
}
