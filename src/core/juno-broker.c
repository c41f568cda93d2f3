/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-broker.c: the JunoBroker object, its endpoints and the dispatch of
 * incoming lines
 *
 * A line is checked in a fixed order, each failure answered with its
 * protocol code: UTF-8 and NUL (0), nesting depth (0), JSON grammar (the
 * line is ignored, as Juno clients expect), object shape (0), requestId (1),
 * type (2), then the type's own handler. Everything a peer can make the
 * broker log goes through juno_broker_log_peer, which is rate limited.
 *
 * Re-entrancy contract (enforced here, tested in tests/unit/test-reentrancy.c):
 * - The core never runs foreign code in the middle of an operation. Every
 *   public entry point is one operation (juno_broker_enter/leave); the
 *   signals it raises and the answers to clients' calls are queued and run
 *   when the outermost operation is over, in the order they were raised.
 *   So a handler sees a consistent registry, and may trigger a hook, call a
 *   function, add or remove any endpoint (the one whose line is being
 *   served included), or iterate the main context.
 * - An endpoint's send() and the stats watch are the foreign code still
 *   called mid operation (a hook's line goes to every listener from the
 *   same buffer): they must not re-enter the broker, and a public call from
 *   inside them is refused with a critical.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "juno-broker-private.h"

#define CALL_TIMEOUT_DEFAULT_USEC (JUNO_CALL_TIMEOUT_DEFAULT_SEC * G_USEC_PER_SEC)
#define MAX_CALLS_IN_FLIGHT_DEFAULT 1024
#define MAX_NAMES_DEFAULT 4096
#define MAX_NAME_LENGTH_DEFAULT 256
#define MAX_MESSAGE_SIZE_DEFAULT (1024 * 1024)
#define PEER_LOG_WINDOW_USEC (10 * G_USEC_PER_SEC)
#define PEER_LOG_LINES_PER_WINDOW 50

enum
{
  PROP_0,
  PROP_VERSION,
  PROP_CALL_TIMEOUT,
  PROP_MAX_CALLS_IN_FLIGHT,
  N_PROPS
};

static GParamSpec *props[N_PROPS];
guint juno_broker_signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (JunoBroker, juno_broker, G_TYPE_OBJECT)

/* A call a client made that waits for its answer. */
typedef struct
{
  JunoBrokerCallFunc func;
  gpointer user_data;
} ClientCall;

/* A signal (or a client's answer) waiting for the operation to end */
typedef struct
{
  guint kind;              /* a SIGNAL_* or JUNO_EMISSION_CALL_ANSWER */
  guint64 number;          /* connection id, or the answer's error code */
  char *a;                 /* first string argument, or the answer's result */
  char *b;                 /* second string argument */
  JunoBrokerCallFunc func; /* the answer's receiver */
  gpointer user_data;
  gboolean relayed;        /* hook-triggered: the hook came from another broker */
} JunoEmission;

static void endpoint_free (gpointer data);
static void emission_clear (gpointer data);
static void drop_client_calls (JunoBroker *self, JunoEndpoint *client);
static void client_send (gpointer user_data, const char *line, gsize len);

static const JunoEndpointFuncs client_funcs = {
  .send = client_send,
};

static void
juno_broker_dispose (GObject *object)
{
  JunoBroker *self = JUNO_BROKER (object);

  /* Endpoints belong to their owners, who remove them before they drop the
   * broker; anything left here is freed without sending a word. */
  g_clear_pointer (&self->endpoints, g_hash_table_unref);
  juno_calls_clear (self);

  G_OBJECT_CLASS (juno_broker_parent_class)->dispose (object);
}

static void
juno_broker_finalize (GObject *object)
{
  JunoBroker *self = JUNO_BROKER (object);

  g_clear_pointer (&self->listeners, g_hash_table_unref);
  g_clear_pointer (&self->dependents, g_hash_table_unref);
  g_clear_pointer (&self->modules, g_hash_table_unref);
  g_clear_pointer (&self->internal, endpoint_free);
  g_clear_pointer (&self->builtin, juno_module_free);
  g_clear_pointer (&self->calls, g_hash_table_unref);
  g_clear_pointer (&self->emissions, g_array_unref);
  g_string_free (self->out, TRUE);
  g_string_free (self->key, TRUE);
  g_free (self->version);
  g_clear_pointer (&self->policy, juno_policy_unref);
  g_clear_pointer (&self->user_names, g_hash_table_unref);
  g_clear_pointer (&self->group_names, g_hash_table_unref);
  g_clear_pointer (&self->users, g_hash_table_unref);
  /* empty: every endpoint, the built-in one included, is gone */
  g_clear_pointer (&self->identities, g_hash_table_unref);
  g_clear_pointer (&self->observers, g_ptr_array_unref);
  g_clear_pointer (&self->standby, g_hash_table_unref);
  g_clear_pointer (&self->broker_name, g_free);
  g_clear_pointer (&self->own_brokers, g_strfreev);
  g_clear_pointer (&self->module_brokers, g_hash_table_unref);

  G_OBJECT_CLASS (juno_broker_parent_class)->finalize (object);
}

static void
juno_broker_init (JunoBroker *self)
{
  self->version = g_strdup (PACKAGE_VERSION);
  self->endpoints = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, endpoint_free);
  self->modules = g_hash_table_new (g_str_hash, g_str_equal);
  self->dependents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) g_ptr_array_unref);
  self->listeners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_ptr_array_unref);
  self->calls = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->out = g_string_sized_new (4096);
  self->key = g_string_sized_new (256);
  self->emissions = g_array_new (FALSE, TRUE, sizeof (JunoEmission));
  g_array_set_clear_func (self->emissions, emission_clear);
  self->call_timeout_usec = CALL_TIMEOUT_DEFAULT_USEC;
  self->max_calls_in_flight = MAX_CALLS_IN_FLIGHT_DEFAULT;
  self->max_names = MAX_NAMES_DEFAULT;
  self->max_name_length = MAX_NAME_LENGTH_DEFAULT;
  self->max_message_size = MAX_MESSAGE_SIZE_DEFAULT;
  self->next_connection_id = 1;
  self->next_call_token = 1;
  self->next_message_id = 1;
  juno_calls_init (self);
  self->builtin = juno_registry_add_builtin (self);

  /* The built-in module's own endpoint: calls made in-process go through
   * the same routing as a module's, and their answers come back here. */
  self->internal = g_new0 (JunoEndpoint, 1);
  self->internal->broker = self;
  g_strlcpy (self->internal->id_str, "0", sizeof self->internal->id_str);
  self->internal->funcs = &client_funcs;
  self->internal->user_data = self->internal;
  juno_endpoint_init_identity (self->internal, "internal");
  self->internal->module = self->builtin; /* not owned: see endpoint_free */
  self->internal->client_calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->next_internal_id = 1;
}

static void
juno_broker_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  JunoBroker *self = JUNO_BROKER (object);

  switch (prop_id)
    {
    case PROP_VERSION:
      g_value_set_string (value, self->version);
      break;
    case PROP_CALL_TIMEOUT:
      g_value_set_uint64 (value, self->call_timeout_usec);
      break;
    case PROP_MAX_CALLS_IN_FLIGHT:
      g_value_set_uint (value, self->max_calls_in_flight);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
juno_broker_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  JunoBroker *self = JUNO_BROKER (object);

  switch (prop_id)
    {
    case PROP_CALL_TIMEOUT:
      juno_broker_set_call_timeout (self, g_value_get_uint64 (value));
      break;
    case PROP_MAX_CALLS_IN_FLIGHT:
      juno_broker_set_max_calls_in_flight (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
juno_broker_class_init (JunoBrokerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = juno_broker_dispose;
  object_class->finalize = juno_broker_finalize;
  object_class->get_property = juno_broker_get_property;
  object_class->set_property = juno_broker_set_property;

  props[PROP_VERSION] =
    g_param_spec_string ("version", NULL, NULL, PACKAGE_VERSION,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_CALL_TIMEOUT] =
    g_param_spec_uint64 ("call-timeout", NULL, NULL, 0, G_MAXUINT64, CALL_TIMEOUT_DEFAULT_USEC,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_MAX_CALLS_IN_FLIGHT] =
    g_param_spec_uint ("max-calls-in-flight", NULL, NULL, 1, G_MAXUINT, MAX_CALLS_IN_FLIGHT_DEFAULT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* (connection id) */
  juno_broker_signals[SIGNAL_MODULE_CONNECTED] =
    g_signal_new ("module-connected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
  /* (module id, connection id) */
  juno_broker_signals[SIGNAL_MODULE_REGISTERED] =
    g_signal_new ("module-registered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_UINT64);
  /* (module id) */
  juno_broker_signals[SIGNAL_MODULE_ACTIVATED] =
    g_signal_new ("module-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  juno_broker_signals[SIGNAL_MODULE_DEACTIVATED] =
    g_signal_new ("module-deactivated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* (connection id, module id or NULL) */
  juno_broker_signals[SIGNAL_MODULE_DISCONNECTED] =
    g_signal_new ("module-disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_STRING);
  /* (module id, function name) */
  juno_broker_signals[SIGNAL_FUNCTION_DECLARED] =
    g_signal_new ("function-declared", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /* (module id, "module.hook") */
  juno_broker_signals[SIGNAL_HOOK_REGISTERED] =
    g_signal_new ("hook-registered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /* ("module.hook", data as JSON text); emitted only when connected to */
  juno_broker_signals[SIGNAL_HOOK_TRIGGERED] =
    g_signal_new ("hook-triggered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

JunoBroker *
juno_broker_new (void)
{
  return g_object_new (JUNO_TYPE_BROKER, NULL);
}

const JunoStats *
juno_broker_get_stats (JunoBroker *self)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  return &self->stats;
}

const char *
juno_broker_get_version (JunoBroker *self)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  return self->version;
}

void
juno_broker_watch_stats (JunoBroker *self, JunoBrokerNotify func, gpointer user_data)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  self->stats_func = func;
  self->stats_data = user_data;
}

void
juno_broker_set_call_timeout (JunoBroker *self, guint64 timeout_usec)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  if (self->call_timeout_usec == timeout_usec)
    return;
  /* applies to calls made from now on */
  self->call_timeout_usec = timeout_usec;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CALL_TIMEOUT]);
}

void
juno_broker_set_max_calls_in_flight (JunoBroker *self, guint max_calls)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (max_calls > 0);
  if (self->max_calls_in_flight == max_calls)
    return;
  self->max_calls_in_flight = max_calls;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MAX_CALLS_IN_FLIGHT]);
}

void
juno_broker_set_name_limits (JunoBroker *self, guint max_names, guint max_name_length)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (max_name_length > 0);
  /* applies to names added from now on */
  self->max_names = max_names;
  self->max_name_length = max_name_length;
}

void
juno_broker_set_max_message_size (JunoBroker *self, gsize max_message_size)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (max_message_size >= 64);
  self->max_message_size = max_message_size;
}

/* Operations */

static void
emission_clear (gpointer data)
{
  JunoEmission *e = data;

  g_free (e->a);
  g_free (e->b);
}

void
juno_broker_enter (JunoBroker *self)
{
  self->depth++;
}

static void
emit (JunoBroker *self, const JunoEmission *e)
{
  guint id = e->kind < N_SIGNALS ? juno_broker_signals[e->kind] : 0;

  switch (e->kind)
    {
    case SIGNAL_MODULE_CONNECTED:
      g_signal_emit (self, id, 0, e->number);
      break;
    case SIGNAL_MODULE_REGISTERED:
      g_signal_emit (self, id, 0, e->a, e->number);
      break;
    case SIGNAL_MODULE_ACTIVATED:
    case SIGNAL_MODULE_DEACTIVATED:
      g_signal_emit (self, id, 0, e->a);
      break;
    case SIGNAL_MODULE_DISCONNECTED:
      g_signal_emit (self, id, 0, e->number, e->a);
      break;
    case SIGNAL_HOOK_TRIGGERED:
      self->emitting_relayed = e->relayed;
      g_signal_emit (self, id, 0, e->a, e->b);
      self->emitting_relayed = FALSE;
      break;
    case SIGNAL_FUNCTION_DECLARED:
    case SIGNAL_HOOK_REGISTERED:
      g_signal_emit (self, id, 0, e->a, e->b);
      break;
    case JUNO_EMISSION_CALL_ANSWER:
      e->func (self, e->a, e->a != NULL ? -1 : (int) e->number, e->user_data);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Runs what the operations queued, including what the handlers' own
 * operations queue meanwhile. */
static void
emit_queued (JunoBroker *self)
{
  g_object_ref (self); /* a handler may drop the last reference */
  self->emitting = TRUE;
  while (self->emissions_head < self->emissions->len)
    {
      /* a copy: a handler's operation may grow (move) the array */
      JunoEmission *slot = &g_array_index (self->emissions, JunoEmission, self->emissions_head++);
      JunoEmission e = *slot;

      memset (slot, 0, sizeof *slot);
      emit (self, &e);
      emission_clear (&e);
    }
  g_array_set_size (self->emissions, 0);
  self->emissions_head = 0;
  self->emitting = FALSE;
  g_object_unref (self);
}

void
juno_broker_leave (JunoBroker *self)
{
  g_return_if_fail (self->depth > 0);

  if (--self->depth == 0 && !self->emitting && self->emissions->len > 0)
    emit_queued (self);
}

static JunoEmission *
queue_emission (JunoBroker *self, guint kind)
{
  JunoEmission *e;

  g_array_set_size (self->emissions, self->emissions->len + 1);
  e = &g_array_index (self->emissions, JunoEmission, self->emissions->len - 1);
  e->kind = kind;
  return e;
}

/* Queues a signal for the end of the operation in progress; @number and
 * the strings (copied) are its arguments, in the order emit() passes them. */
void
juno_broker_queue_signal (JunoBroker *self, guint signal, guint64 number, const char *a, const char *b)
{
  JunoEmission *e;

  g_return_if_fail (signal < N_SIGNALS);
  g_return_if_fail (self->depth > 0);

  e = queue_emission (self, signal);
  e->number = number;
  e->a = g_strdup (a);
  e->b = g_strdup (b);
  e->relayed = signal == SIGNAL_HOOK_TRIGGERED && self->relaying;
}

static void
queue_call_answer (JunoBroker *self, JunoBrokerCallFunc func, gpointer user_data, char *result, int code)
{
  JunoEmission *e = queue_emission (self, JUNO_EMISSION_CALL_ANSWER);

  e->func = func;
  e->user_data = user_data;
  e->a = result; /* owned */
  e->number = (guint64) code;
}

/* Endpoints */

static void
endpoint_free (gpointer data)
{
  JunoEndpoint *ep = data;

  if (ep->module != ep->broker->builtin)
    g_clear_pointer (&ep->module, juno_module_free);
  g_clear_pointer (&ep->client_calls, g_hash_table_unref);
  g_clear_pointer (&ep->patterns, g_ptr_array_unref);
  g_free (ep->caller);
  g_free (ep->expired);
  juno_endpoint_clear_identity (ep);
  g_free (ep);
}

JunoEndpoint *
juno_broker_add_endpoint (JunoBroker *self,
                          const JunoEndpointFuncs *funcs,
                          gpointer user_data,
                          const char *transport)
{
  JunoEndpoint *ep;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  g_return_val_if_fail (funcs != NULL && funcs->send != NULL, NULL);
  g_return_val_if_fail (!self->sending, NULL);

  juno_broker_enter (self);
  ep = g_new0 (JunoEndpoint, 1);
  ep->broker = self;
  ep->id = self->next_connection_id++;
  g_snprintf (ep->id_str, sizeof ep->id_str, "%" G_GUINT64_FORMAT, ep->id);
  ep->funcs = funcs;
  ep->user_data = user_data;
  juno_endpoint_init_identity (ep, transport ? transport : "unknown");
  g_hash_table_insert (self->endpoints, &ep->id, ep);

  juno_broker_stats_touched (self);
  self->stats.connections++;
  self->stats.connections_total++;
  g_debug ("Connection %s opened (%s)", ep->id_str, ep->identity->transport);
  /* an observer until it registers: announced then (juno-observer.c) */
  juno_broker_leave (self);
  return ep;
}

/* juno.moduleConnected and ModuleConnected for @ep, once, when it first
 * asks to register: observers that never do are never announced. */
void
juno_broker_announce_endpoint (JunoBroker *self, JunoEndpoint *ep)
{
  g_autoptr(GString) data = NULL;

  if (ep->announced || ep->caller != NULL || ep == self->internal)
    return;
  ep->announced = TRUE;
  data = g_string_new ("{\"connectionId\":\"");
  g_string_append (data, ep->id_str);
  g_string_append (data, "\"}");
  juno_registry_broadcast (self, JUNO_HOOK_MODULE_CONNECTED, data->str);
  juno_broker_queue_signal (self, SIGNAL_MODULE_CONNECTED, ep->id, NULL, NULL);
}

void
juno_broker_remove_endpoint (JunoBroker *self, JunoEndpoint *ep)
{
  g_autoptr(GString) data = g_string_new ("{\"connectionId\":\"");
  g_autofree char *module_id = NULL;
  gboolean announced, promote = FALSE;
  guint64 id;

  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (ep != NULL && ep->broker == self);
  g_return_if_fail (!self->sending);

  juno_broker_enter (self);
  id = ep->id;
  juno_calls_drop_endpoint (self, ep);
  juno_quota_release_connection (self, ep);
  juno_observer_remove (self, ep);
  if (ep->caller != NULL)
    {
      /* a client: no module, no lifecycle hooks; its waiting calls end here */
      drop_client_calls (self, ep);
      g_debug ("Client %s (%s) removed", ep->id_str, ep->caller);
      g_hash_table_remove (self->endpoints, &id);
      juno_broker_leave (self);
      return;
    }
  if (ep->module != NULL)
    {
      /* a module standing by never held its name: no object, no signal */
      if (juno_endpoint_holds_name (ep))
        module_id = g_strdup (ep->module->id);
      promote = juno_registry_remove_module (self, ep);
    }

  g_string_append (data, ep->id_str);
  g_string_append (data, "\"}");
  g_debug ("Connection %s closed", ep->id_str);
  announced = ep->announced;
  /* frees ep */
  g_hash_table_remove (self->endpoints, &id);
  juno_broker_stats_touched (self);
  self->stats.connections--;

  if (announced)
    {
      juno_registry_broadcast (self, JUNO_HOOK_MODULE_DISCONNECTED, data->str);
      juno_broker_queue_signal (self, SIGNAL_MODULE_DISCONNECTED, id, module_id, NULL);
    }
  /* after its disconnection: the proxy's object replaces the module's */
  if (promote)
    juno_registry_promote_standby (self, module_id);
  juno_broker_leave (self);
}

JunoEndpoint *
juno_broker_lookup_endpoint (JunoBroker *self, guint64 connection_id)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  return g_hash_table_lookup (self->endpoints, &connection_id);
}

JunoEndpoint *
juno_broker_lookup_module_endpoint (JunoBroker *self, const char *module_id)
{
  JunoModule *module;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  module = g_hash_table_lookup (self->modules, module_id);
  return module && module != self->builtin ? module->endpoint : NULL;
}

const JunoEndpointStats *
juno_endpoint_get_stats (JunoEndpoint *endpoint)
{
  return &endpoint->stats;
}

guint
juno_endpoint_get_n_calls_waiting (JunoEndpoint *endpoint)
{
  return endpoint->calls_out.length;
}

guint64
juno_endpoint_get_id (JunoEndpoint *endpoint)
{
  return endpoint->id;
}

const char *
juno_endpoint_get_module_id (JunoEndpoint *endpoint)
{
  return endpoint->module ? endpoint->module->id : NULL;
}

const char *
juno_endpoint_get_transport (JunoEndpoint *endpoint)
{
  return endpoint->identity->transport;
}


/* Output */

void
juno_append_uint (GString *out, guint64 value)
{
  char buf[24];
  int i = sizeof buf;

  do
    {
      buf[--i] = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value != 0);
  juno_out_append (out, buf + i, sizeof buf - (gsize) i);
}

/* Starts self->out with {"requestId":<literal>,"type":N where the literal is
 * a JSON string, quotes included. */
void
juno_broker_begin_message (JunoBroker *self, const char *request_id_literal, gsize len, JunoMessageType type)
{
  g_string_truncate (self->out, 0);
  JUNO_OUT_LITERAL (self->out, "{\"requestId\":");
  juno_out_append (self->out, request_id_literal, len);
  JUNO_OUT_LITERAL (self->out, ",\"type\":");
  juno_append_uint (self->out, type);
}

/* The same, echoing the request id of a request (a string value). */
void
juno_broker_begin_reply (JunoBroker *self, const JunoJsonValue *request_id, JunoMessageType type)
{
  juno_broker_begin_message (self, request_id->text, request_id->len, type);
}

/* The same with a fresh broker-made request id. */
void
juno_broker_begin_broker_message (JunoBroker *self, JunoMessageType type)
{
  g_string_truncate (self->out, 0);
  JUNO_OUT_LITERAL (self->out, "{\"requestId\":\"b");
  juno_append_uint (self->out, self->next_message_id++);
  JUNO_OUT_LITERAL (self->out, "\",\"type\":");
  juno_append_uint (self->out, type);
}

/* Closes the object begun by juno_broker_begin_*message. */
void
juno_broker_finish_message (JunoBroker *self)
{
  JUNO_OUT_LITERAL (self->out, "}\n");
}

void
juno_broker_send_line (JunoBroker *self, JunoEndpoint *endpoint, const char *line, gsize len)
{
  juno_broker_stats_touched (self);
  self->stats.messages_out++;
  self->stats.bytes_out += len;
  endpoint->stats.messages_out++;
  endpoint->stats.bytes_out += len;
  /* send() may not re-enter: the line may be self->out, still to go to
   * further listeners */
  self->sending = TRUE;
  endpoint->funcs->send (endpoint->user_data, line, len);
  self->sending = FALSE;
}

/* Finishes the message in self->out and hands it to one endpoint. */
void
juno_broker_send (JunoBroker *self, JunoEndpoint *endpoint)
{
  juno_broker_finish_message (self);
  juno_broker_send_line (self, endpoint, self->out->str, self->out->len);
}

void
juno_broker_send_error (JunoBroker *self, JunoEndpoint *endpoint, const JunoJsonValue *request_id, int code)
{
  static const char undefined[] = "\"" JUNO_UNDEFINED_REQUEST_ID "\"";

  if (request_id != NULL && request_id->kind == JUNO_JSON_STRING)
    juno_broker_begin_reply (self, request_id, JUNO_MSG_ERROR);
  else
    juno_broker_begin_message (self, undefined, sizeof undefined - 1, JUNO_MSG_ERROR);
  JUNO_OUT_LITERAL (self->out, ",\"error\":");
  juno_append_uint (self->out, (guint64) code);
  self->stats.errors_sent++;
  juno_broker_send (self, endpoint);
}

/* Answers a request with error @code, and says @why in the log. */
void
juno_broker_reject (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg, int code, const char *why)
{
  juno_broker_log_peer (self, ep, G_LOG_LEVEL_INFO, "Rejected a request (error %d): %s", code, why);
  juno_broker_send_error (self, ep, &msg->keys[JUNO_KEY_REQUEST_ID], code);
}

/* Calls, declarations, listens and triggers need an active module. */
gboolean
juno_broker_require_active (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  if (ep->module != NULL && ep->module->active)
    return TRUE;
  juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE,
                      ep->module != NULL ? "the module is not active" : "the module is not registered");
  return FALSE;
}

static const char *
log_level_priority (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return "3";
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return "4";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

/* Logging on behalf of a peer: the first lines of each window, then a count. */
gboolean
juno_broker_peer_log_allowed (JunoBroker *self)
{
  gint64 now = g_get_monotonic_time ();

  if (now - self->log_window_start >= PEER_LOG_WINDOW_USEC)
    {
      if (self->log_suppressed > 0)
        g_message ("%u more log lines about misbehaving peers suppressed", self->log_suppressed);
      self->log_window_start = now;
      self->log_lines = 0;
      self->log_suppressed = 0;
    }
  if (self->log_lines < PEER_LOG_LINES_PER_WINDOW)
    {
      self->log_lines++;
      return TRUE;
    }
  self->log_suppressed++;
  return FALSE;
}

void
juno_broker_log_peer (JunoBroker *self, JunoEndpoint *endpoint, GLogLevelFlags level, const char *format, ...)
{
  g_autofree char *message = NULL;
  g_autofree char *full = NULL;
  const char *module_id = endpoint && endpoint->module ? endpoint->module->id : "";
  va_list args;

  if (!juno_broker_peer_log_allowed (self))
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (endpoint != NULL)
    full = g_strdup_printf ("Connection %s%s%s%s: %s", endpoint->id_str,
                            *module_id ? " ('" : "", module_id, *module_id ? "')" : "", message);

  {
    /* empty fields are left out, so `journalctl JUNO_MODULE=x` finds only
     * lines about x */
    GLogField fields[] = {
      { "PRIORITY", log_level_priority (level), -1 },
      { "MESSAGE", full ? full : message, -1 },
      { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
      { JUNO_LOG_FIELD_CONNECTION_ID, endpoint ? endpoint->id_str : "", -1 },
      { JUNO_LOG_FIELD_MODULE_ID, module_id, -1 },
    };
    gsize n_fields = G_N_ELEMENTS (fields);

    if (*module_id == '\0')
      n_fields--;
    if (endpoint == NULL)
      n_fields = 3;
    g_log_structured_array (level, fields, n_fields);
  }
}

/* Dispatch */

static const char *
parse_result_reason (JunoParseResult result)
{
  switch (result)
    {
    case JUNO_PARSE_TOO_DEEP:
      return "nested deeper than the limit";
    case JUNO_PARSE_NOT_OBJECT:
      return "not a JSON object";
    case JUNO_PARSE_INVALID_UTF8:
      return "not UTF-8";
    case JUNO_PARSE_NUMBER_RANGE:
      return "a number out of range";
    case JUNO_PARSE_INVALID_JSON:
    case JUNO_PARSE_OK:
    default:
      return "not JSON";
    }
}

static void
handle_line (JunoBroker *self, JunoEndpoint *ep, const char *line, gsize len)
{
  JunoMessage msg;
  JunoParseResult result;
  gint64 type;

  juno_broker_stats_touched (self);
  self->stats.messages_in++;
  self->stats.bytes_in += len + 1;
  ep->stats.messages_in++;
  ep->stats.bytes_in += len + 1;

  /* Framing noise at the edges of a line goes: one '\r' before the '\n'
   * (CRLF line ends) and one UTF-8 byte-order mark before the JSON. A raw
   * '\r' anywhere else is refused rather than passed on inside a value:
   * clients that also end lines at '\r' would read it as a line break. */
  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len >= 3 && memcmp (line, "\xef\xbb\xbf", 3) == 0)
    {
      line += 3;
      len -= 3;
    }
  if (memchr (line, '\r', len) != NULL)
    result = JUNO_PARSE_INVALID_UTF8;
  else
    result = juno_message_parse (line, len, &msg);
  if (result == JUNO_PARSE_INVALID_UTF8)
    {
      juno_broker_log_peer (self, ep, G_LOG_LEVEL_MESSAGE,
                            "Rejected a line that is not valid UTF-8 or holds a NUL byte or a carriage return");
      juno_broker_send_error (self, ep, NULL, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST);
      return;
    }
  if (result == JUNO_PARSE_INVALID_JSON)
    {
      /* Juno clients expect no answer to a line that is not JSON */
      juno_broker_log_peer (self, ep, G_LOG_LEVEL_MESSAGE, "Ignored a line that is not JSON (%" G_GSIZE_FORMAT " bytes)", len);
      return;
    }
  if (result != JUNO_PARSE_OK)
    {
      /* only a number out of range leaves the requestId readable */
      const JunoJsonValue *id = result == JUNO_PARSE_NUMBER_RANGE ? &msg.keys[JUNO_KEY_REQUEST_ID] : NULL;

      juno_broker_log_peer (self, ep, G_LOG_LEVEL_MESSAGE, "Rejected a message: %s", parse_result_reason (result));
      juno_broker_send_error (self, ep, id, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST);
      return;
    }

  if (msg.keys[JUNO_KEY_REQUEST_ID].kind != JUNO_JSON_STRING)
    {
      juno_broker_log_peer (self, ep, G_LOG_LEVEL_INFO, "Rejected a message without a string requestId");
      juno_broker_send_error (self, ep, NULL, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
      return;
    }

  if (!juno_json_value_get_int64 (&msg.keys[JUNO_KEY_TYPE], &type))
    type = -1;

  switch (type)
    {
    case JUNO_MSG_REGISTER_MODULE:
      juno_registry_handle_register (self, ep, &msg);
      break;
    case JUNO_MSG_FUNCTION_CALL:
      juno_calls_handle_call (self, ep, &msg);
      break;
    case JUNO_MSG_ERROR:
    case JUNO_MSG_FUNCTION_RESPONSE:
      juno_calls_handle_answer (self, ep, (JunoMessageType) type, &msg);
      break;
    case JUNO_MSG_REGISTER_HOOK:
      if (juno_endpoint_is_observer (self, ep) && msg.keys[JUNO_KEY_HOOK].kind == JUNO_JSON_STRING)
        juno_observer_handle_listen (self, ep, &msg);
      else
        juno_registry_handle_listen (self, ep, &msg);
      break;
    case JUNO_MSG_TRIGGER_HOOK:
      if (juno_endpoint_is_observer (self, ep) && msg.keys[JUNO_KEY_HOOK].kind == JUNO_JSON_STRING)
        juno_observer_handle_trigger (self, ep, &msg);
      else
        juno_registry_handle_trigger (self, ep, &msg);
      break;
    case JUNO_MSG_DECLARE_FUNCTION:
      juno_registry_handle_declare (self, ep, &msg);
      break;
    default:
      juno_broker_log_peer (self, ep, G_LOG_LEVEL_INFO, "Rejected a message of unknown type");
      juno_broker_send_error (self, ep, &msg.keys[JUNO_KEY_REQUEST_ID], JUNO_PROTOCOL_ERROR_UNKNOWN_TYPE);
      break;
    }
}

void
juno_broker_handle_line (JunoBroker *self, JunoEndpoint *ep, const char *line, gsize len)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (!self->sending);

  juno_broker_enter (self);
  handle_line (self, ep, line, len);
  /* may run handlers that remove @ep: nothing of it is read after this */
  juno_broker_leave (self);
}

void
juno_broker_report_oversized (JunoBroker *self, JunoEndpoint *ep)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (!self->sending);

  juno_broker_stats_touched (self);
  self->stats.messages_in++;
  ep->stats.messages_in++;
  juno_broker_log_peer (self, ep, G_LOG_LEVEL_WARNING, "Dropped a message longer than the size limit");
  juno_broker_send_error (self, ep, NULL, JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE);
}

void
juno_broker_report_over_total (JunoBroker *self, JunoEndpoint *ep)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (!self->sending);

  self->stats.messages_in++;
  self->stats.limits_reached++;
  ep->stats.messages_in++;
  juno_broker_log_peer (self, ep, G_LOG_LEVEL_WARNING,
                        "Dropped a line: the partial lines of all connections reached --max-total-buffer");
  juno_broker_send_error (self, ep, NULL, JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
}

void
juno_broker_report_cut_off (JunoBroker *self, JunoEndpoint *ep, const char *why)
{
  g_return_if_fail (JUNO_IS_BROKER (self));

  /* allowed from inside send(): it counts and logs, nothing more */
  self->stats.connections_cut++;
  juno_broker_log_peer (self, ep, G_LOG_LEVEL_WARNING, "Cut off: %s", why);
}

char *
juno_broker_dup_module_json (JunoBroker *self, const char *module_id)
{
  JunoModule *module;
  GString *out;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);

  module = g_hash_table_lookup (self->modules, module_id);
  if (module == NULL)
    return NULL;
  out = g_string_new (NULL);
  juno_registry_append_module_json (self, out, module);
  return g_string_free (out, FALSE);
}

char *
juno_broker_dup_modules_json (JunoBroker *self)
{
  g_autofree JunoModule **modules = NULL;
  GString *out;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);

  /* juno first, then every module sorted by moduleId */
  out = g_string_new ("[");
  juno_registry_append_module_json (self, out, self->builtin);
  modules = juno_broker_dup_modules (self, NULL);
  for (JunoModule **m = modules; *m != NULL; m++)
    {
      g_string_append_c (out, ',');
      juno_registry_append_module_json (self, out, *m);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

/* Clients and in-process callers */

/* Answers from the core to a client: the line is the core's own, so it
 * parses; the request id names the ClientCall. */
static void
client_send (gpointer user_data, const char *line, gsize len)
{
  JunoEndpoint *client = user_data;
  JunoBroker *self = client->broker;
  g_autofree char *request_id = NULL;
  g_autofree char *stolen_key = NULL;
  g_autofree ClientCall *call = NULL;
  JunoMessage msg;
  gint64 type, code;

  if (juno_message_parse (line, len, &msg) != JUNO_PARSE_OK ||
      msg.keys[JUNO_KEY_REQUEST_ID].kind != JUNO_JSON_STRING ||
      !juno_json_value_get_int64 (&msg.keys[JUNO_KEY_TYPE], &type))
    return;
  request_id = juno_json_value_dup_string (&msg.keys[JUNO_KEY_REQUEST_ID]);
  if (request_id == NULL ||
      !g_hash_table_steal_extended (client->client_calls, request_id, (gpointer *) &stolen_key, (gpointer *) &call))
    return;

  /* the answer is foreign code: it runs when the operation is over */
  if (type == JUNO_MSG_FUNCTION_RESPONSE)
    {
      const JunoJsonValue *data = &msg.keys[JUNO_KEY_DATA];

      queue_call_answer (self, call->func, call->user_data,
                         data->kind != JUNO_JSON_ABSENT ? g_strndup (data->text, data->len) : g_strdup ("null"), -1);
    }
  else
    {
      if (!juno_json_value_get_int64 (&msg.keys[JUNO_KEY_ERROR], &code) || code < 0 || code > G_MAXINT32)
        code = JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST;
      queue_call_answer (self, call->func, call->user_data, NULL, (int) code);
    }
}

static void
drop_client_calls (JunoBroker *self, JunoEndpoint *client)
{
  g_autoptr(GHashTable) calls = g_steal_pointer (&client->client_calls);
  GHashTableIter iter;
  gpointer value;

  client->client_calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, calls);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      ClientCall *call = value;

      queue_call_answer (self, call->func, call->user_data, NULL, JUNO_BROKER_CALL_DROPPED);
    }
}

JunoEndpoint *
juno_broker_add_client (JunoBroker *self, const char *transport, const char *caller)
{
  JunoEndpoint *ep;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  g_return_val_if_fail (transport != NULL, NULL);
  g_return_val_if_fail (caller != NULL && g_utf8_validate (caller, -1, NULL), NULL);
  g_return_val_if_fail (!juno_module_id_is_valid (caller, -1), NULL);
  g_return_val_if_fail (!self->sending, NULL);

  ep = g_new0 (JunoEndpoint, 1);
  ep->broker = self;
  ep->id = self->next_connection_id++;
  g_snprintf (ep->id_str, sizeof ep->id_str, "%" G_GUINT64_FORMAT, ep->id);
  ep->funcs = &client_funcs;
  ep->user_data = ep;
  juno_endpoint_init_identity (ep, transport);
  ep->caller = g_strdup (caller);
  ep->client_calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (self->endpoints, &ep->id, ep);
  g_debug ("Client %s (%s, %s) added", ep->id_str, caller, transport);
  return ep;
}

const char *
juno_endpoint_get_caller (JunoEndpoint *endpoint)
{
  return endpoint->caller;
}

void
juno_endpoint_set_call_timeout (JunoEndpoint *endpoint, guint64 timeout_usec)
{
  endpoint->call_timeout_usec = timeout_usec;
}

gsize
juno_broker_get_max_message_size (JunoBroker *self)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), 0);
  return self->max_message_size;
}

/* Appends @json (NULL or "" for {}) to @out in compact form; it must be a
 * JSON object. @what names it in the error. */
static gboolean
append_object (GString *out, const char *what, const char *json, gsize len, GError **error)
{
  JunoJsonKind kind;
  JunoParseResult result;
  gsize start = out->len;

  if (json == NULL || len == 0)
    {
      g_string_append (out, "{}");
      return TRUE;
    }
  result = juno_json_normalize (json, len, out, &kind);
  if (result == JUNO_PARSE_OK && kind != JUNO_JSON_OBJECT)
    {
      g_string_truncate (out, start);
      result = JUNO_PARSE_NOT_OBJECT;
    }
  if (result != JUNO_PARSE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s %s", what, juno_parse_result_to_string (result));
      return FALSE;
    }
  return TRUE;
}

/* Whether a line of @len bytes (its '\n' included) fits the limit. */
static gboolean
check_size (JunoBroker *self, gsize len, GError **error)
{
  if (self->max_message_size == 0 || len <= self->max_message_size)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
               "the message would be %" G_GSIZE_FORMAT " bytes, more than the limit of %" G_GSIZE_FORMAT,
               len, self->max_message_size);
  return FALSE;
}

gboolean
juno_broker_client_call (JunoBroker *self,
                         JunoEndpoint *client,
                         const char *function,
                         const char *arguments_json,
                         gssize len,
                         JunoBrokerCallFunc func,
                         gpointer user_data,
                         GError **error)
{
  return juno_broker_client_call_as (self, client, NULL, function, arguments_json, len, func, user_data, error);
}

gboolean
juno_broker_client_call_as (JunoBroker *self,
                            JunoEndpoint *client,
                            const char *caller,
                            const char *function,
                            const char *arguments_json,
                            gssize len,
                            JunoBrokerCallFunc func,
                            gpointer user_data,
                            GError **error)
{
  char *own_caller;
  g_autoptr(GString) line = NULL;
  ClientCall *call;
  guint64 id;
  /* what the forwarded call adds to the arguments: the routing keys, the
   * broker's token and the caller */
  gsize envelope;

  g_return_val_if_fail (JUNO_IS_BROKER (self), FALSE);
  g_return_val_if_fail (client != NULL && client->client_calls != NULL, FALSE);
  g_return_val_if_fail (function != NULL && func != NULL, FALSE);
  g_return_val_if_fail (!self->sending, FALSE);

  if (!g_utf8_validate (function, -1, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the function name is not valid UTF-8");
      return FALSE;
    }
  if (arguments_json != NULL && len < 0)
    len = (gssize) strlen (arguments_json);

  id = self->next_internal_id;
  line = g_string_sized_new (64 + strlen (function) + (arguments_json ? (gsize) len : 2));
  g_string_append (line, "{\"requestId\":\"d");
  juno_append_uint (line, id);
  g_string_append (line, "\",\"type\":3,\"function\":");
  juno_json_append_string (line, function);
  g_string_append (line, ",\"arguments\":");
  if (!append_object (line, "arguments", arguments_json, (gsize) MAX (len, 0), error))
    return FALSE;
  g_string_append_c (line, '}');

  envelope = sizeof "{\"requestId\":\"j18446744073709551615\",\"type\":3,\"function\":\"\",\"arguments\":,\"caller\":\"\"}\n" +
             strlen (caller ? caller : client->caller ? client->caller : JUNO_BUILTIN_MODULE_ID);
  if (!check_size (self, line->len + envelope, error))
    return FALSE;

  self->next_internal_id++;
  call = g_new0 (ClientCall, 1);
  call->func = func;
  call->user_data = user_data;
  g_hash_table_insert (client->client_calls, g_strdup_printf ("d%" G_GUINT64_FORMAT, id), call);
  /* answered through client_send, maybe before this returns; the caller
   * is read only while the call is forwarded */
  own_caller = client->caller;
  if (caller != NULL)
    client->caller = (char *) caller;
  juno_broker_handle_line (self, client, line->str, line->len);
  client->caller = own_caller;
  return TRUE;
}

void
juno_broker_call_function (JunoBroker *self,
                           const char *function,
                           const char *arguments_json,
                           JunoBrokerCallFunc func,
                           gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (JUNO_IS_BROKER (self));

  if (!juno_broker_client_call (self, self->internal, function, arguments_json, -1, func, user_data, &error))
    func (self, NULL, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE)
                        ? JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE : JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST,
          user_data);
}

/* Delivers @hook with @data (compact object text); the rules of who may
 * trigger what are the callers'. */
static gboolean
deliver (JunoBroker *self, const char *hook, const char *data_json, gssize len, guint *n_delivered, GError **error)
{
  g_autoptr(GString) data = g_string_new (NULL);
  g_autofree char *module_id = NULL;
  gsize module_len;
  guint n;

  if (!g_utf8_validate (hook, -1, NULL) || !juno_hook_address_is_valid (hook, &module_len))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not of the form module.hook", hook);
      return FALSE;
    }
  if (data_json != NULL && len < 0)
    len = (gssize) strlen (data_json);
  if (!append_object (data, "the data", data_json, (gsize) MAX (len, 0), error))
    return FALSE;
  /* as listeners get it: {"requestId":"b<n>","type":6,"hook":...,"data":...} */
  if (!check_size (self, data->len + strlen (hook) + 64, error))
    return FALSE;

  module_id = g_strndup (hook, module_len);
  juno_broker_enter (self);
  n = juno_registry_deliver_hook (self, module_id, hook + module_len + 1, data->str, data->len);
  juno_broker_leave (self);
  if (n_delivered != NULL)
    *n_delivered = n;
  return TRUE;
}

gboolean
juno_broker_trigger_hook (JunoBroker *self,
                          const char *hook,
                          const char *data_json,
                          guint *n_delivered,
                          GError **error)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), FALSE);
  g_return_val_if_fail (hook != NULL, FALSE);
  g_return_val_if_fail (!self->sending, FALSE);

  return deliver (self, hook, data_json, -1, n_delivered, error);
}

gboolean
juno_broker_relay_hook (JunoBroker *self, const char *hook, const char *data_json, gssize len,
                        guint *n_delivered, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (JUNO_IS_BROKER (self), FALSE);
  g_return_val_if_fail (hook != NULL, FALSE);
  g_return_val_if_fail (!self->sending, FALSE);

  if (g_str_has_prefix (hook, JUNO_BUILTIN_MODULE_ID "."))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the hooks of %s are each broker's own", JUNO_BUILTIN_MODULE_ID);
      return FALSE;
    }
  self->relaying = TRUE;
  ok = deliver (self, hook, data_json, len, n_delivered, error);
  self->relaying = FALSE;
  return ok;
}

guint
juno_broker_fail_calls_to (JunoBroker *self, JunoEndpoint *callee, int code)
{
  guint n;

  g_return_val_if_fail (JUNO_IS_BROKER (self), 0);
  g_return_val_if_fail (callee != NULL && callee->broker == self, 0);
  g_return_val_if_fail (!self->sending, 0);

  juno_broker_enter (self);
  n = juno_calls_fail_callee (self, callee, code);
  juno_broker_leave (self);
  return n;
}

gboolean
juno_broker_get_emitting_relayed (JunoBroker *self)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), FALSE);
  return self->emitting_relayed;
}

void
juno_broker_set_route_func (JunoBroker *self, JunoBrokerRouteFunc func, gpointer user_data)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  self->route_func = func;
  self->route_data = user_data;
}

void
juno_broker_set_extra_stats_func (JunoBroker *self, JunoBrokerExtraStatsFunc func, gpointer user_data)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  self->extra_stats_func = func;
  self->extra_stats_data = user_data;
}

GVariant *
juno_broker_dup_extra_stats (JunoBroker *self)
{
  GVariant *stats;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  if (self->extra_stats_func == NULL)
    return NULL;
  stats = self->extra_stats_func (self->extra_stats_data);
  if (stats == NULL)
    return NULL;
  g_variant_ref_sink (stats);
  if (!g_variant_is_of_type (stats, G_VARIANT_TYPE_VARDICT))
    {
      g_critical ("extra statistics are not of type a{sv}");
      g_variant_unref (stats);
      return NULL;
    }
  return stats;
}

void
juno_broker_set_broker_name (JunoBroker *self, const char *name)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (name != NULL && juno_broker_name_is_valid (name));
  g_return_if_fail (self->stats.modules == 0); /* module objects' budgets assume it */

  g_free (self->broker_name);
  self->broker_name = g_strdup (name);
  g_strfreev (self->own_brokers);
  self->own_brokers = g_new0 (char *, 2);
  self->own_brokers[0] = g_strdup (name);
  if (self->module_brokers == NULL)
    self->module_brokers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
}

void
juno_broker_set_module_brokers (JunoBroker *self, const char *module_id, const char *const *brokers)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  g_return_if_fail (module_id != NULL);
  g_return_if_fail (self->module_brokers != NULL);

  if (brokers == NULL)
    {
      g_hash_table_remove (self->module_brokers, module_id);
      return;
    }
  g_return_if_fail (g_strv_length ((char **) brokers) <= JUNO_BROKER_MAX_MODULE_BROKERS);
  for (guint i = 0; brokers[i] != NULL; i++)
    g_return_if_fail (juno_broker_name_is_valid (brokers[i]));
  g_hash_table_insert (self->module_brokers, g_strdup (module_id), g_strdupv ((char **) brokers));
}

const char *const *
juno_broker_get_module_brokers (JunoBroker *self, const char *module_id)
{
  const char *const *brokers;

  g_return_val_if_fail (JUNO_IS_BROKER (self), NULL);
  if (self->broker_name == NULL)
    return NULL;
  brokers = g_hash_table_lookup (self->module_brokers, module_id);
  return brokers != NULL ? brokers : (const char *const *) self->own_brokers;
}

gboolean
juno_broker_client_trigger (JunoBroker *self,
                            JunoEndpoint *client,
                            const char *hook,
                            const char *data_json,
                            gssize len,
                            guint *n_delivered,
                            GError **error)
{
  g_return_val_if_fail (JUNO_IS_BROKER (self), FALSE);
  g_return_val_if_fail (client != NULL && client->caller != NULL, FALSE);
  g_return_val_if_fail (hook != NULL, FALSE);
  g_return_val_if_fail (!self->sending, FALSE);

  /* the broker's own hooks tell listeners what happened to modules: only
   * the broker says that */
  if (g_str_has_prefix (hook, JUNO_BUILTIN_MODULE_ID "."))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the hooks of %s are the broker's own and cannot be triggered", JUNO_BUILTIN_MODULE_ID);
      return FALSE;
    }
  /* the policy's word on triggering hooks as their module, as for a module */
  if (client != self->internal && !juno_broker_endpoint_may (self, client, JUNO_POLICY_TRIGGER, hook, error))
    return FALSE;
  return deliver (self, hook, data_json, len, n_delivered, error);
}
