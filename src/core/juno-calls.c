/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-calls.c: routing of function calls and the table of calls in flight
 *
 * Every forwarded call gets a broker token ("j<n>") that replaces the
 * caller's requestId on the way to the callee; the answer is matched by that
 * token and by the callee's identity, and goes back under the caller's own
 * requestId. So every call gets exactly one answer: the callee's, error 8
 * when the callee goes away, or error 9 when the call timeout passes. A call
 * is linked into its caller's and its callee's queues and into one deadline
 * queue ordered by deadline (calls share one timeout, so a new call almost
 * always goes at the tail), which one GSource with a ready time serves.
 */
#include "config.h"

#include <string.h>

#include "juno-broker-private.h"

typedef struct
{
  GSource source;
  JunoBroker *broker; /* unowned: the broker destroys the source */
} DeadlineSource;

/* Timed-out calls remembered per callee for their late answers. */
#define EXPIRED_KEPT 64

static void expire_calls (JunoBroker *self);

static gboolean
deadline_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  JunoBroker *self = ((DeadlineSource *) source)->broker;

  /* an operation of its own: error 9 to an in-process caller is an answer */
  juno_broker_enter (self);
  expire_calls (self);
  juno_broker_leave (self);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs deadline_source_funcs = {
  .dispatch = deadline_source_dispatch,
};

void
juno_calls_init (JunoBroker *self)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  GSource *source = g_source_new (&deadline_source_funcs, sizeof (DeadlineSource));

  ((DeadlineSource *) source)->broker = self;
  g_source_set_name (source, "juno call deadlines");
  g_source_set_ready_time (source, -1);
  g_source_attach (source, context);
  self->timeout_source = source;
}

/* Call records for request ids up to this long (quotes included) are of
 * one size and recycled: a routed call allocates nothing once the broker
 * has served as many calls at once as it keeps spares (docs/design.md). */
#define POOLED_REQUEST_ID_MAX 62

static JunoCall *
call_new (JunoBroker *self, gsize request_id_len)
{
  JunoCall *call;

  if (request_id_len > POOLED_REQUEST_ID_MAX)
    return g_malloc0 (sizeof (JunoCall) + request_id_len + 1);
  if (self->n_spare_calls > 0)
    {
      call = self->spare_calls[--self->n_spare_calls];
      memset (call, 0, sizeof (JunoCall) + POOLED_REQUEST_ID_MAX + 1);
    }
  else
    call = g_malloc0 (sizeof (JunoCall) + POOLED_REQUEST_ID_MAX + 1);
  call->pooled = TRUE;
  return call;
}

static void
call_release (JunoBroker *self, JunoCall *call)
{
  if (call->pooled && self->n_spare_calls < G_N_ELEMENTS (self->spare_calls))
    self->spare_calls[self->n_spare_calls++] = call;
  else
    g_free (call);
}

static void
call_free (JunoBroker *self, JunoCall *call)
{
  g_hash_table_remove (self->calls, &call->token);
  g_queue_unlink (&call->caller->calls_out, &call->caller_link);
  juno_quota_release_call (call->caller);
  g_queue_unlink (&call->callee->calls_in, &call->callee_link);
  if (call->deadline != 0)
    g_queue_unlink (call->deadline_queue, &call->deadline_link);
  call_release (self, call);
}

void
juno_calls_clear (JunoBroker *self)
{
  if (self->timeout_source != NULL)
    {
      g_source_destroy (self->timeout_source);
      g_clear_pointer (&self->timeout_source, g_source_unref);
    }
  if (self->calls != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->calls);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          JunoCall *call = value;

          g_hash_table_iter_remove (&iter);
          g_free (call);
        }
      g_queue_init (&self->deadlines);
      g_queue_init (&self->client_deadlines);
    }
  while (self->n_spare_calls > 0)
    g_free (self->spare_calls[--self->n_spare_calls]);
}

/* The deadline source fires at the earliest deadline, or later: it is only
 * ever moved earlier here. When calls leave the queue it keeps its ready
 * time, and on firing finds what is due and moves to the next deadline
 * (expire_calls). Every change of a ready time wakes the main context up (an
 * eventfd written, then read), so following the queue's head with every
 * call and answer would cost two system calls per message; this way it
 * changes about once per call timeout. */
static void
schedule_deadline (JunoBroker *self, gint64 deadline)
{
  gint64 ready = g_source_get_ready_time (self->timeout_source);

  if (ready < 0 || deadline < ready)
    g_source_set_ready_time (self->timeout_source, deadline);
}

/* The callee of a call that timed out, or whose caller left, may still
 * answer it; those late answers are dropped quietly. The last EXPIRED_KEPT
 * such tokens are remembered per callee, so any other answer naming a
 * finished call (a second answer, another module's token) gets error 1. */
static void
remember_expired (JunoEndpoint *callee, guint64 token)
{
  if (callee->expired == NULL)
    callee->expired = g_new0 (guint64, EXPIRED_KEPT);
  callee->expired[callee->n_expired++ % EXPIRED_KEPT] = token;
}

static gboolean
forget_expired (JunoEndpoint *ep, guint64 token)
{
  guint n = MIN (ep->n_expired, EXPIRED_KEPT);

  for (guint i = 0; i < n; i++)
    if (ep->expired[i] == token)
      {
        ep->expired[i] = 0; /* one late answer each */
        return TRUE;
      }
  return FALSE;
}

/* Answers the caller with an error code and forgets the call. */
static void
fail_call (JunoBroker *self, JunoCall *call, int code)
{
  juno_broker_begin_message (self, call->caller_request_id, call->caller_request_id_len, JUNO_MSG_ERROR);
  g_string_append (self->out, ",\"error\":");
  juno_append_uint (self->out, (guint64) code);
  self->stats.errors_sent++;
  self->stats.calls_failed++;
  juno_broker_send (self, call->caller);
  call_free (self, call);
}

/* The call whose deadline comes first, of both queues, or NULL. */
static JunoCall *
earliest_call (JunoBroker *self)
{
  JunoCall *a = self->deadlines.head ? self->deadlines.head->data : NULL;
  JunoCall *b = self->client_deadlines.head ? self->client_deadlines.head->data : NULL;

  if (a == NULL || (b != NULL && b->deadline < a->deadline))
    return b;
  return a;
}

static void
expire_calls (JunoBroker *self)
{
  gint64 now = g_get_monotonic_time ();
  JunoCall *call;

  while ((call = earliest_call (self)) != NULL && call->deadline <= now)
    {

      juno_broker_log_peer (self, call->callee, G_LOG_LEVEL_MESSAGE,
                            "Call j%" G_GUINT64_FORMAT " from connection %s timed out",
                            call->token, call->caller->id_str);
      self->stats.calls_timed_out++;
      remember_expired (call->callee, call->token);
      fail_call (self, call, JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT);
    }
  g_source_set_ready_time (self->timeout_source, call != NULL ? call->deadline : -1);
}

void
juno_calls_drop_endpoint (JunoBroker *self, JunoEndpoint *ep)
{
  GList *link;

  while ((link = ep->calls_in.head) != NULL)
    fail_call (self, link->data, JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED);
  /* the callees' answers to these will find no call and be dropped */
  while ((link = ep->calls_out.head) != NULL)
    {
      JunoCall *call = link->data;

      remember_expired (call->callee, call->token);
      call_free (self, call);
    }
}

guint
juno_calls_fail_callee (JunoBroker *self, JunoEndpoint *callee, int code)
{
  GList *link;
  guint n = 0;

  while ((link = callee->calls_in.head) != NULL)
    {
      JunoCall *call = link->data;

      remember_expired (callee, call->token);
      fail_call (self, call, code);
      n++;
    }
  return n;
}

/* Longest moduleId as a JSON string, with ,"next": around it. */
#define NEXT_KEY_RESERVE (sizeof ",\"next\":\"\"" + JUNO_MODULE_ID_MAX_LENGTH)

/* Appends to self->out the module objects of juno.listModules that fit in
 * one line of the size limit: juno first (on the first page only), then the
 * modules sorted by moduleId, from the first one after @after. When some
 * are left over, the answer carries "next": the last moduleId it holds, to
 * pass as "after" for the rest. FALSE when not even one fits. */
static gboolean
append_module_page (JunoBroker *self, const char *after)
{
  g_autofree JunoModule **modules = juno_broker_dup_modules (self, NULL);
  g_autoptr(GString) object = g_string_new (NULL);
  /* the line ends with ']', maybe the "next" key, and '}' */
  gsize reserve = NEXT_KEY_RESERVE + 2;
  gsize limit = self->max_message_size > reserve ? self->max_message_size - reserve : 0;
  JunoModule **m = modules;
  JunoModule *last = NULL;

  g_string_append (self->out, ",\"data\":[");
  if (after != NULL)
    while (*m != NULL && strcmp ((*m)->id, after) <= 0)
      m++;
  for (JunoModule *module = after ? *m++ : self->builtin; module != NULL; module = *m++)
    {
      g_string_truncate (object, 0);
      juno_registry_append_module_json (self, object, module);
      if (self->out->len + (last ? 1 : 0) + object->len > limit)
        {
          if (last == NULL)
            return FALSE;
          g_string_append (self->out, "],\"next\":");
          juno_json_append_string (self->out, last->id);
          return TRUE;
        }
      if (last != NULL)
        g_string_append_c (self->out, ',');
      g_string_append_len (self->out, object->str, object->len);
      last = module;
      if (*m == NULL)
        break;
    }
  g_string_append_c (self->out, ']');
  return TRUE;
}

/* juno.getStats: the broker's counters, named as D-Bus GetStats names
 * them, in lowerCamelCase (docs/protocol.md). */
static void
append_stats (JunoBroker *self, GString *out)
{
  const JunoStats *s = &self->stats;
  const struct
  {
    const char *name;
    guint64 value;
  } counters[] = {
    { "connections", s->connections },
    { "connectionsTotal", s->connections_total },
    { "modules", s->modules },
    { "activeModules", s->active_modules },
    { "messagesIn", s->messages_in },
    { "messagesOut", s->messages_out },
    { "bytesIn", s->bytes_in },
    { "bytesOut", s->bytes_out },
    { "callsRouted", s->calls_routed },
    { "callsFailed", s->calls_failed },
    { "callsTimedOut", s->calls_timed_out },
    { "hooksTriggered", s->hooks_triggered },
    { "hooksDelivered", s->hooks_delivered },
    { "errorsSent", s->errors_sent },
    { "limitsReached", s->limits_reached },
    { "connectionsCut", s->connections_cut },
    { "accessDenied", s->access_denied },
  };
  g_autoptr(GVariant) extra = juno_broker_dup_extra_stats (self);

  g_string_append (out, "{\"version\":");
  juno_json_append_string (out, self->version);
  for (gsize i = 0; i < G_N_ELEMENTS (counters); i++)
    {
      g_string_append (out, ",\"");
      g_string_append (out, counters[i].name);
      g_string_append (out, "\":");
      juno_append_uint (out, counters[i].value);
    }
  if (extra != NULL)
    {
      GVariantIter iter;
      const char *key;
      GVariant *value;

      g_variant_iter_init (&iter, extra);
      while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
        {
          g_string_append_c (out, ',');
          juno_json_append_string (out, key);
          g_string_append_c (out, ':');
          if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
            juno_append_uint (out, g_variant_get_uint64 (value));
          else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
            juno_json_append_string (out, g_variant_get_string (value, NULL));
          else
            g_string_append (out, "null");
        }
    }
  g_string_append_c (out, '}');
}

/* The functions of the built-in module juno, answered in place. Each
 * answer fits in one line of the size limit (--max-message-size), so no
 * module can make discovery fail for the others: listModules is paged, and
 * a module object always fits, as the registry keeps it small enough. */
static void
call_builtin (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg, const char *function)
{
  const JunoJsonValue *args = &msg->keys[JUNO_KEY_ARGUMENTS];
  const char *key = strcmp (function, JUNO_FUNCTION_LIST_MODULES) == 0 ? "after" : "moduleId";
  JunoJsonValue value;
  g_autofree char *id = NULL;
  gboolean fits = TRUE;

  if (strcmp (function, JUNO_FUNCTION_GET_STATS) == 0)
    {
      self->stats.calls_routed++;
      juno_broker_begin_reply (self, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_MSG_FUNCTION_RESPONSE);
      g_string_append (self->out, ",\"data\":");
      append_stats (self, self->out);
      juno_broker_send (self, ep);
      return;
    }

  if (args->kind == JUNO_JSON_OBJECT && juno_json_object_lookup (args->text, args->len, key, &value) &&
      value.kind == JUNO_JSON_STRING)
    id = juno_json_value_dup_string (&value);

  self->stats.calls_routed++;
  juno_broker_begin_reply (self, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_MSG_FUNCTION_RESPONSE);
  if (key[0] == 'a')
    fits = append_module_page (self, id);
  else
    {
      JunoModule *module = id ? g_hash_table_lookup (self->modules, id) : NULL;

      g_string_append (self->out, ",\"data\":");
      if (module != NULL)
        juno_registry_append_module_json (self, self->out, module);
      else
        g_string_append (self->out, "null");
      fits = self->out->len + 1 <= self->max_message_size;
    }
  if (!fits)
    {
      /* only a requestId close to the limit leaves no room for one module */
      self->stats.limits_reached++;
      juno_broker_log_peer (self, ep, G_LOG_LEVEL_INFO, "Refused a discovery call (error %d): its answer "
                            "would exceed --max-message-size", JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
      juno_broker_send_error (self, ep, &msg->keys[JUNO_KEY_REQUEST_ID], JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
      return;
    }
  juno_broker_send (self, ep);
}

void
juno_calls_handle_call (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  const JunoJsonValue *value = &msg->keys[JUNO_KEY_FUNCTION];
  const JunoJsonValue *args = &msg->keys[JUNO_KEY_ARGUMENTS];
  const JunoJsonValue *rid = &msg->keys[JUNO_KEY_REQUEST_ID];
  g_autofree char *decoded = NULL;
  char buffer[128];
  char *name, *dot;
  gsize module_len;
  JunoModule *target;
  JunoCall *call;
  const char *caller_id;
  guint64 timeout = self->call_timeout_usec;
  GQueue *queue = &self->deadlines;

  /* the caller's id is held until the call is answered: bounded, so that
   * calls in flight cannot pin a line's worth of memory each */
  if (rid->len > JUNO_CALL_REQUEST_ID_MAX_LENGTH)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID, "the call's requestId is too long");
  if (value->kind != JUNO_JSON_STRING)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "function is missing or not a string");
  /* a client calls as itself; a module only once it is active; an
   * observer only the built-in functions, checked below */
  if (ep->caller != NULL)
    caller_id = ep->caller;
  else if (juno_endpoint_is_observer (self, ep))
    caller_id = NULL;
  else if (ep->module == NULL || !ep->module->active)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE, "the caller is not active");
  else
    caller_id = ep->module->id;
  name = juno_json_value_get_string (value, buffer, sizeof buffer, &decoded);
  if (caller_id == NULL && (name == NULL || !juno_function_address_is_valid (name, &module_len)))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE, "the caller is not registered");
  if (name == NULL || !juno_function_address_is_valid (name, &module_len))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION, "function is not of the form module.function");
  if (caller_id == NULL && (module_len != strlen (JUNO_BUILTIN_MODULE_ID) ||
                            strncmp (name, JUNO_BUILTIN_MODULE_ID, module_len) != 0))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE,
                               "an observer may call only the functions of juno");
  if (!juno_broker_allows_all (self, ep, JUNO_POLICY_CALL) &&
      !juno_broker_check_access (self, ep, JUNO_POLICY_CALL, name, rid))
    return;

  dot = name + module_len;
  *dot = '\0';
  target = g_hash_table_lookup (self->modules, name);
  if (target == NULL || !target->active)
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNKNOWN_MODULE, "the called module is not active");
  if (!juno_module_has_function (target, dot + 1))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION, "the function is not declared");
  if (target == self->builtin)
    return call_builtin (self, ep, msg, dot + 1);
  if (ep->calls_out.length >= self->max_calls_in_flight)
    {
      juno_broker_log_peer (self, ep, G_LOG_LEVEL_WARNING, "Refused a call: %u calls already in flight",
                            ep->calls_out.length);
      juno_broker_send_error (self, ep, rid, JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS);
      return;
    }
  if (!juno_quota_may_call (self, ep))
    {
      juno_broker_log_peer (self, ep, G_LOG_LEVEL_WARNING, "Refused a call: uid %u has %u calls in flight, "
                            "its quota (--max-calls-per-user)", (unsigned) ep->identity->uid, juno_quota_get_user_calls (ep));
      juno_broker_send_error (self, ep, rid, JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS);
      return;
    }

  call = call_new (self, rid->len);
  call->token = self->next_call_token++;
  call->caller = ep;
  call->callee = target->endpoint;
  /* the federation may send it to another instance (spread) */
  if (G_UNLIKELY (self->route_func != NULL))
    {
      JunoEndpoint *other = self->route_func (self->route_data, ep, target->id);

      if (other != NULL)
        call->callee = other;
    }
  memcpy (call->caller_request_id, rid->text, rid->len);
  call->caller_request_id_len = rid->len;
  call->caller_link.data = call;
  call->callee_link.data = call;
  call->deadline_link.data = call;
  g_hash_table_insert (self->calls, &call->token, call);
  g_queue_push_tail_link (&ep->calls_out, &call->caller_link);
  juno_quota_charge_call (ep);
  g_queue_push_tail_link (&call->callee->calls_in, &call->callee_link);
  /* a caller's own timeout applies when it is the shorter one; such calls
   * wait in a queue of their own, so that each queue stays in the order
   * calls are made as long as its timeout does not change */
  if (ep->call_timeout_usec > 0 && (timeout == 0 || ep->call_timeout_usec < timeout))
    {
      timeout = ep->call_timeout_usec;
      queue = &self->client_deadlines;
    }
  if (timeout > 0)
    {
      GList *before = queue->tail;

      call->deadline = g_get_monotonic_time () + (gint64) timeout;
      call->deadline_queue = queue;
      /* the timeout may have been lowered since the calls ahead were made:
       * keep the queue ordered by deadline (usually this is the tail) */
      while (before != NULL && ((JunoCall *) before->data)->deadline > call->deadline)
        before = before->prev;
      if (before != NULL)
        g_queue_insert_after_link (queue, before, &call->deadline_link);
      else
        g_queue_push_head_link (queue, &call->deadline_link);
      schedule_deadline (self, call->deadline);
    }

  g_string_truncate (self->out, 0);
  JUNO_OUT_LITERAL (self->out, "{\"requestId\":\"j");
  juno_append_uint (self->out, call->token);
  JUNO_OUT_LITERAL (self->out, "\",\"type\":3,\"function\":\"");
  juno_out_append (self->out, dot + 1, strlen (dot + 1));
  JUNO_OUT_LITERAL (self->out, "\",\"arguments\":");
  if (args->kind == JUNO_JSON_OBJECT)
    juno_out_append (self->out, args->text, args->len);
  else
    JUNO_OUT_LITERAL (self->out, "{}");
  JUNO_OUT_LITERAL (self->out, ",\"caller\":");
  juno_json_append_string (self->out, caller_id);
  self->stats.calls_routed++;
  ep->stats.calls_made++;
  call->callee->stats.calls_received++;
  juno_broker_send (self, call->callee);
}

/* "j<digits>" exactly as the broker wrote it, or 0: no escapes, no leading
 * zero, no value past 2^64 - 1, so each token has one spelling. */
static guint64
parse_token (const JunoJsonValue *rid)
{
  guint64 token = 0;

  if (rid->escaped || rid->len < 4 || rid->len > 23 || rid->text[1] != 'j' || rid->text[2] == '0')
    return 0;
  for (guint i = 2; i < rid->len - 1; i++)
    {
      guint digit = (guint) (rid->text[i] - '0');

      if (!g_ascii_isdigit (rid->text[i]) || token > (G_MAXUINT64 - digit) / 10)
        return 0;
      token = token * 10 + digit;
    }
  return token;
}

void
juno_calls_handle_answer (JunoBroker *self, JunoEndpoint *ep, JunoMessageType type, const JunoMessage *msg)
{
  const JunoJsonValue *rid = &msg->keys[JUNO_KEY_REQUEST_ID];
  guint64 token = parse_token (rid);
  JunoCall *call = token ? g_hash_table_lookup (self->calls, &token) : NULL;
  JunoEndpoint *caller;
  gint64 code;

  if (call == NULL || call->callee != ep)
    {
      if (call == NULL && token != 0 && ep->expired != NULL && forget_expired (ep, token))
        juno_broker_log_peer (self, ep, G_LOG_LEVEL_INFO, "Dropped a late answer to call j%" G_GUINT64_FORMAT
                              ": the call had timed out or its caller left", token);
      else
        juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID, "the answer's requestId names no call to this module");
      return;
    }

  caller = call->caller;
  juno_broker_begin_message (self, call->caller_request_id, call->caller_request_id_len, type);
  if (type == JUNO_MSG_FUNCTION_RESPONSE)
    {
      const JunoJsonValue *data = &msg->keys[JUNO_KEY_DATA];

      JUNO_OUT_LITERAL (self->out, ",\"data\":");
      if (data->kind != JUNO_JSON_ABSENT)
        juno_out_append (self->out, data->text, data->len);
      else
        JUNO_OUT_LITERAL (self->out, "null");
    }
  else
    {
      if (!juno_json_value_get_int64 (&msg->keys[JUNO_KEY_ERROR], &code) || code < 0 || code > G_MAXINT32)
        code = JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST;
      g_string_append (self->out, ",\"error\":");
      juno_append_uint (self->out, (guint64) code);
      self->stats.calls_failed++;
    }
  call_free (self, call);
  juno_broker_send (self, caller);
}
