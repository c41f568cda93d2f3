/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-reentrancy.c: what a signal handler may do to the broker core
 *
 * The core queues its signals (and the answers to in-process calls) until
 * the outermost operation is over, so a handler may trigger hooks, call
 * functions, remove endpoints (the one being served too) and iterate the
 * main context. Each test drives a real JunoBroker through fake endpoints
 * whose send() checks that every line is one whole JSON object; run under
 * ASan, a handler that freed a module still in use would fail here.
 */
#include <string.h>

#include "juno-broker-private.h"

typedef struct
{
  JunoBroker *broker;
  JunoEndpoint *ep; /* NULL once removed */
  GPtrArray *lines; /* char *: every line sent to it, '\n' dropped */
} Peer;

typedef struct
{
  JunoBroker *broker;
  GPtrArray *peers;  /* Peer, owned */
  GPtrArray *events; /* char *: the broker's signals, in order */
} Fixture;

/* Every line is a whole JSON object: a clobbered buffer would show. */
static void
peer_send (gpointer user_data, const char *data, gsize len)
{
  Peer *peer = user_data;
  JunoMessage msg;

  g_assert_cmpuint (len, >, 1);
  g_assert_cmpint (data[len - 1], ==, '\n');
  g_assert_cmpint (juno_message_parse (data, len - 1, &msg), ==, JUNO_PARSE_OK);
  g_ptr_array_add (peer->lines, g_strndup (data, len - 1));
}

static const JunoEndpointFuncs peer_funcs = { .send = peer_send };

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  g_ptr_array_unref (peer->lines);
  g_free (peer);
}

static Peer *
peer_new (Fixture *f)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->broker = f->broker;
  peer->lines = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (f->peers, peer);
  peer->ep = juno_broker_add_endpoint (f->broker, &peer_funcs, peer, "fake");
  return peer;
}

static void
peer_remove (Peer *peer)
{
  JunoEndpoint *ep = g_steal_pointer (&peer->ep);

  g_assert_nonnull (ep);
  juno_broker_remove_endpoint (peer->broker, ep);
}

/* Feeds a line written with single quotes for double quotes. */
static void
feed (Peer *peer, const char *line)
{
  g_autofree char *text = g_strdup (line);

  g_strdelimit (text, "'", '"');
  juno_broker_handle_line (peer->broker, peer->ep, text, strlen (text));
}

static void G_GNUC_PRINTF (2, 3)
feedf (Peer *peer, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  feed (peer, line);
}

static guint
count_lines (Peer *peer, const char *needle)
{
  guint n = 0;

  for (guint i = 0; i < peer->lines->len; i++)
    if (strstr (g_ptr_array_index (peer->lines, i), needle) != NULL)
      n++;
  return n;
}

static gboolean
has_line (Peer *peer, const char *needle)
{
  return count_lines (peer, needle) > 0;
}

static Peer *
module_new (Fixture *f, const char *id, const char *deps)
{
  Peer *peer = peer_new (f);

  feedf (peer, "{'requestId':'r','type':1,'moduleId':'%s','version':'1.0.0'%s%s}", id,
         deps ? ",'dependencies':" : "", deps ? deps : "");
  g_assert_true (has_line (peer, "\"type\":2"));
  return peer;
}

static void
record (Fixture *f, char *event)
{
  g_ptr_array_add (f->events, event);
}

static void
on_registered (JunoBroker *b, const char *id, guint64 conn, Fixture *f)
{
  record (f, g_strdup_printf ("registered %s", id));
}

static void
on_activated (JunoBroker *b, const char *id, Fixture *f)
{
  record (f, g_strdup_printf ("activated %s", id));
}

static void
on_deactivated (JunoBroker *b, const char *id, Fixture *f)
{
  record (f, g_strdup_printf ("deactivated %s", id));
}

static void
on_disconnected (JunoBroker *b, guint64 conn, const char *id, Fixture *f)
{
  record (f, g_strdup_printf ("disconnected %s", id ? id : "-"));
}

static void
on_triggered (JunoBroker *b, const char *hook, const char *data, Fixture *f)
{
  record (f, g_strdup_printf ("triggered %s %s", hook, data));
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->broker = juno_broker_new ();
  f->peers = g_ptr_array_new_with_free_func (peer_free);
  f->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (f->broker, "module-registered", G_CALLBACK (on_registered), f);
  g_signal_connect (f->broker, "module-activated", G_CALLBACK (on_activated), f);
  g_signal_connect (f->broker, "module-deactivated", G_CALLBACK (on_deactivated), f);
  g_signal_connect (f->broker, "module-disconnected", G_CALLBACK (on_disconnected), f);
  g_signal_connect (f->broker, "hook-triggered", G_CALLBACK (on_triggered), f);
}

/* Every endpoint leaves, the tables are empty and the broker goes. */
static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  const JunoStats *stats = juno_broker_get_stats (f->broker);

  for (guint i = 0; i < f->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (f->peers, i);

      if (peer->ep != NULL)
        peer_remove (peer);
    }
  g_assert_cmpuint (stats->connections, ==, 0);
  g_assert_cmpuint (stats->modules, ==, 0);
  g_assert_cmpuint (stats->active_modules, ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->modules), ==, 1); /* juno */
  g_assert_cmpuint (g_hash_table_size (f->broker->listeners), ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->dependents), ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 0);
  g_assert_cmpuint (f->broker->emissions->len, ==, 0);
  g_assert_cmpuint (f->broker->depth, ==, 0);
  g_assert_finalize_object (f->broker);
  g_ptr_array_unref (f->peers);
  g_ptr_array_unref (f->events);
}

static guint
event_index (Fixture *f, const char *event)
{
  for (guint i = 0; i < f->events->len; i++)
    if (g_str_equal (g_ptr_array_index (f->events, i), event))
      return i;
  g_test_message ("missing event: %s", event);
  g_assert_not_reached ();
}

/* ------------------------------------------------------------------ */

typedef struct
{
  Fixture *f;
  const char *const *ids; /* modules that must all be active by now */
  guint n_triggered;
} TriggerState;

/* Runs after resolve() is done: every module of the set is already
 * active, and a hook triggered from here goes out whole. */
static void
trigger_on_activated (JunoBroker *b, const char *id, TriggerState *st)
{
  g_autofree char *data = g_strdup_printf ("{\"from\":\"%s\"}", id);
  g_autoptr(GError) error = NULL;
  guint n = 0;

  for (const char *const *m = st->ids; *m; m++)
    g_assert_true (juno_module_get_active (juno_broker_lookup_module (b, *m)));
  g_assert_true (juno_broker_trigger_hook (b, "src.ev", data, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  st->n_triggered++;
}

static void
test_handler_triggers_hook (Fixture *f, gconstpointer data)
{
  static const char *const ids[] = { "base", "d1", "d2", "d3", NULL };
  TriggerState st = { f, ids, 0 };
  Peer *listener = module_new (f, "listener", NULL);
  Peer *d[3];
  Peer *base;

  feed (listener, "{'requestId':'l1','type':5,'hook':'src.ev'}");
  feed (listener, "{'requestId':'l2','type':5,'hook':'juno.moduleActivated'}");
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("d%d", i + 1);

      d[i] = module_new (f, id, "{'base':'^1'}");
      g_assert_false (has_line (d[i], "juno.activated"));
    }
  g_signal_connect (f->broker, "module-activated", G_CALLBACK (trigger_on_activated), &st);
  base = module_new (f, "base", NULL);

  /* four modules came up in one operation; the handler ran for each after it */
  g_assert_cmpuint (st.n_triggered, ==, 4);
  g_assert_cmpuint (count_lines (listener, "\"hook\":\"src.ev\""), ==, 4);
  g_assert_cmpuint (count_lines (listener, "juno.moduleActivated"), ==, 4);
  /* the broadcasts of the operation went out before any handler's hook */
  g_assert_nonnull (strstr (g_ptr_array_index (listener->lines, listener->lines->len - 5), "juno.moduleActivated"));
  for (int i = 0; i < 3; i++)
    g_assert_cmpuint (count_lines (d[i], "juno.activated"), ==, 1);
  g_assert_true (has_line (base, "juno.activated"));
  /* registered, then the activations, then what the handlers raised */
  g_assert_cmpuint (event_index (f, "registered base"), <, event_index (f, "activated base"));
  g_assert_cmpuint (event_index (f, "activated d3"), <, event_index (f, "triggered src.ev {\"from\":\"base\"}"));
  g_signal_handlers_disconnect_by_func (f->broker, trigger_on_activated, &st);
}

/* ------------------------------------------------------------------ */

typedef struct
{
  Peer *victims[3];
  guint runs;
} RemoveState;

/* On the first of the dependents, while the others are still to do */
static void
remove_on_deactivated (JunoBroker *b, const char *id, RemoveState *st)
{
  if (!g_str_equal (id, "d1") || st->runs++ > 0)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (st->victims); i++)
    if (st->victims[i] != NULL && st->victims[i]->ep != NULL)
      peer_remove (st->victims[i]);
}

/* A handler removes modules that were in the work set of the operation
 * that raised the signal. */
static void
test_handler_removes_other_endpoints (Fixture *f, gconstpointer data)
{
  RemoveState st = { 0 };
  Peer *base = module_new (f, "base", NULL);
  Peer *d1 = module_new (f, "d1", "{'base':'^1'}");
  Peer *d2 = module_new (f, "d2", "{'base':'^1'}");
  Peer *d3 = module_new (f, "d3", "{'d2':'^1'}");
  Peer *watcher = module_new (f, "watcher", NULL);

  feed (watcher, "{'requestId':'w','type':5,'hook':'juno.moduleDisconnected'}");
  st.victims[0] = d2;
  st.victims[1] = d3;
  g_signal_connect (f->broker, "module-deactivated", G_CALLBACK (remove_on_deactivated), &st);
  peer_remove (base);

  g_assert_cmpuint (st.runs, ==, 1);
  g_assert_null (juno_broker_lookup_module (f->broker, "base"));
  g_assert_null (juno_broker_lookup_module (f->broker, "d2"));
  g_assert_null (juno_broker_lookup_module (f->broker, "d3"));
  g_assert_false (juno_module_get_active (juno_broker_lookup_module (f->broker, "d1")));
  g_assert_cmpuint (count_lines (d1, "juno.deactivated"), ==, 1);
  g_assert_cmpuint (count_lines (watcher, "juno.moduleDisconnected"), ==, 3);
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->modules, ==, 2);
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->active_modules, ==, 1);
  g_signal_handlers_disconnect_by_func (f->broker, remove_on_deactivated, &st);
}

static void
remove_self_on_registered (JunoBroker *b, const char *id, guint64 conn, Peer *peer)
{
  if (g_str_equal (id, "gone"))
    peer_remove (peer);
}

/* A handler removes the endpoint whose line the broker is handling. */
static void
test_handler_removes_served_endpoint (Fixture *f, gconstpointer data)
{
  Peer *watcher = module_new (f, "watcher", NULL);
  Peer *user = module_new (f, "user", "{'gone':'^1'}");
  Peer *peer = peer_new (f);
  gulong id;

  feed (watcher, "{'requestId':'w','type':5,'hook':'juno.moduleDeactivated'}");
  id = g_signal_connect (f->broker, "module-registered", G_CALLBACK (remove_self_on_registered), peer);
  feed (peer, "{'requestId':'r','type':1,'moduleId':'gone','version':'1.0.0'}");
  g_signal_handler_disconnect (f->broker, id);

  g_assert_null (peer->ep);
  g_assert_true (has_line (peer, "\"requestId\":\"r\",\"type\":2"));
  g_assert_true (has_line (peer, "juno.activated"));
  g_assert_null (juno_broker_lookup_module (f->broker, "gone"));
  /* its dependent came up in the operation and went down in the handler's */
  g_assert_cmpuint (count_lines (user, "juno.activated"), ==, 1);
  g_assert_cmpuint (count_lines (user, "juno.deactivated"), ==, 1);
  g_assert_cmpuint (count_lines (watcher, "juno.moduleDeactivated"), ==, 2);
  g_assert_cmpuint (event_index (f, "activated user"), <, event_index (f, "disconnected gone"));
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->modules, ==, 2);
}

static void
remove_on_triggered (JunoBroker *b, const char *hook, const char *data, Peer **peers)
{
  for (int i = 0; peers[i] != NULL; i++)
    if (peers[i]->ep != NULL)
      peer_remove (peers[i]);
}

/* A hook's handler removes the trigger and one of the listeners. */
static void
test_hook_handler_removes_trigger_and_listener (Fixture *f, gconstpointer data)
{
  Peer *src = module_new (f, "src", NULL);
  Peer *l1 = module_new (f, "l1", NULL);
  Peer *l2 = module_new (f, "l2", NULL);
  Peer *victims[] = { src, l1, NULL };
  gulong id;

  feed (l1, "{'requestId':'a','type':5,'hook':'src.ev'}");
  feed (l2, "{'requestId':'b','type':5,'hook':'src.ev'}");
  id = g_signal_connect (f->broker, "hook-triggered", G_CALLBACK (remove_on_triggered), victims);
  feed (src, "{'requestId':'t','type':7,'hook':'ev','data':{'k':1}}");
  g_signal_handler_disconnect (f->broker, id);

  g_assert_null (src->ep);
  g_assert_null (l1->ep);
  g_assert_true (has_line (src, "\"requestId\":\"t\",\"type\":8"));
  g_assert_true (has_line (l1, "\"data\":{\"k\":1}"));
  g_assert_true (has_line (l2, "\"data\":{\"k\":1}"));
  g_assert_cmpuint (event_index (f, "triggered src.ev {\"k\":1}"), <, event_index (f, "disconnected src"));
}

/* ------------------------------------------------------------------ */

typedef struct
{
  Fixture *f;
  guint answers;
  char *result;
  int code;
} CallState;

static void
on_call_answer (JunoBroker *b, const char *result, int code, gpointer user_data)
{
  CallState *st = user_data;
  g_autoptr(GError) error = NULL;

  st->answers++;
  st->result = g_strdup (result);
  st->code = code;
  /* the answer may re-enter too */
  g_assert_true (juno_broker_trigger_hook (b, "svc.answered", NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
call_on_activated (JunoBroker *b, const char *id, CallState *st)
{
  if (g_str_equal (id, "svc"))
    juno_broker_call_function (b, "svc.fn", "{\"x\":1}", on_call_answer, st);
}

/* A handler makes an in-process call; its answer runs as an emission. */
static void
test_handler_calls_function (Fixture *f, gconstpointer data)
{
  CallState st = { f, 0, NULL, 0 };
  Peer *listener = module_new (f, "listener", NULL);
  Peer *svc = peer_new (f);
  g_autofree char *token = NULL;
  const char *line, *p;
  gulong id;

  feed (listener, "{'requestId':'l','type':5,'hook':'svc.answered'}");
  id = g_signal_connect (f->broker, "module-activated", G_CALLBACK (call_on_activated), &st);
  /* the call cannot be routed before svc declares fn: error 5 at once */
  feed (svc, "{'requestId':'r','type':1,'moduleId':'svc','version':'1.0.0'}");
  g_assert_cmpuint (st.answers, ==, 1);
  g_assert_null (st.result);
  g_assert_cmpint (st.code, ==, JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION);
  g_clear_pointer (&st.result, g_free);
  g_signal_handler_disconnect (f->broker, id);

  feed (svc, "{'requestId':'d','type':9,'function':'fn'}");
  st.answers = 0;
  juno_broker_call_function (f->broker, "svc.fn", "{\"x\":1}", on_call_answer, &st);
  g_assert_cmpuint (st.answers, ==, 0);
  line = g_ptr_array_index (svc->lines, svc->lines->len - 1);
  p = strstr (line, "\"requestId\":\"j");
  g_assert_nonnull (p);
  token = g_strndup (p + 13, (gsize) (strchr (p + 13, '"') - (p + 13)));
  feedf (svc, "{'requestId':'%s','type':4,'data':{'ok':true}}", token);
  g_assert_cmpuint (st.answers, ==, 1);
  g_assert_cmpstr (st.result, ==, "{\"ok\":true}");
  g_assert_cmpuint (count_lines (listener, "svc.answered"), ==, 2);
  g_free (st.result);
}

/* ------------------------------------------------------------------ */

typedef struct
{
  Peer *victim;
  Peer *caller;
  guint iterations;
} IterateState;

static gboolean
remove_from_idle (gpointer data)
{
  IterateState *st = data;

  peer_remove (st->victim);
  return G_SOURCE_REMOVE;
}

/* Runs the main context from inside a handler until the idle (which
 * removes an endpoint) and the call deadline (which answers error 9) ran. */
static void
iterate_on_activated (JunoBroker *b, const char *id, IterateState *st)
{
  if (!g_str_equal (id, "trigger"))
    return;
  g_idle_add (remove_from_idle, st);
  while ((st->victim->ep != NULL || !has_line (st->caller, "\"error\":9")) && st->iterations < 1000)
    {
      g_main_context_iteration (NULL, TRUE);
      st->iterations++;
    }
}

static void
test_handler_iterates_main_context (Fixture *f, gconstpointer data)
{
  IterateState st = { 0 };
  Peer *svc = module_new (f, "svc", NULL);
  Peer *caller = module_new (f, "caller", NULL);
  Peer *victim = module_new (f, "victim", NULL);
  Peer *watcher = module_new (f, "watcher", NULL);
  gulong id;

  feed (watcher, "{'requestId':'w','type':5,'hook':'juno.moduleDisconnected'}");
  feed (svc, "{'requestId':'d','type':9,'function':'fn'}");
  juno_broker_set_call_timeout (f->broker, 1000); /* 1 ms */
  feed (caller, "{'requestId':'c1','type':3,'function':'svc.fn'}");
  g_assert_true (has_line (svc, "\"caller\":\"caller\""));

  st.victim = victim;
  st.caller = caller;
  id = g_signal_connect (f->broker, "module-activated", G_CALLBACK (iterate_on_activated), &st);
  module_new (f, "trigger", NULL);
  g_signal_handler_disconnect (f->broker, id);

  g_assert_null (victim->ep);
  g_assert_true (has_line (caller, "\"requestId\":\"c1\",\"type\":0,\"error\":9"));
  g_assert_cmpuint (count_lines (watcher, "juno.moduleDisconnected"), ==, 1);
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->calls_timed_out, ==, 1);
  g_assert_cmpuint (event_index (f, "activated trigger"), <, event_index (f, "disconnected victim"));
  /* a late answer finds no call */
  feed (svc, "{'requestId':'j1','type':4,'data':1}");
  g_assert_cmpuint (count_lines (caller, "\"c1\""), ==, 1);
}

/* ------------------------------------------------------------------ */

typedef struct
{
  JunoBroker *broker;
  JunoEndpoint *ep;
  guint sends;
} Reentrant;

static void
reentrant_send (gpointer user_data, const char *data, gsize len)
{
  Reentrant *r = user_data;
  static const char line[] = "{\"requestId\":\"x\",\"type\":99}";

  r->sends++;
  /* a bug in an endpoint: refused, the broker's state untouched */
  juno_broker_handle_line (r->broker, r->ep, line, sizeof line - 1);
  g_assert_null (juno_broker_add_endpoint (r->broker, &peer_funcs, NULL, "fake"));
}

static const JunoEndpointFuncs reentrant_funcs = { .send = reentrant_send };

static void
test_send_must_not_reenter (Fixture *f, gconstpointer data)
{
  Reentrant r = { f->broker, NULL, 0 };
  guint64 before;

  r.ep = juno_broker_add_endpoint (f->broker, &reentrant_funcs, &r, "fake");
  before = juno_broker_get_stats (f->broker)->messages_in;
  g_test_expect_message ("juno-core", G_LOG_LEVEL_CRITICAL, "*juno_broker_handle_line*!self->sending*");
  g_test_expect_message ("juno-core", G_LOG_LEVEL_CRITICAL, "*juno_broker_add_endpoint*!self->sending*");
  juno_broker_handle_line (f->broker, r.ep, "{\"requestId\":\"a\",\"type\":99}", 27);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (r.sends, ==, 1);
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->messages_in, ==, before + 1);
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->connections, ==, 1);
  juno_broker_remove_endpoint (f->broker, r.ep);
}

/* ------------------------------------------------------------------ */

static void
nested_trigger_on_registered (JunoBroker *b, const char *id, guint64 conn, Fixture *f)
{
  guint before = f->events->len;

  g_assert_true (juno_broker_trigger_hook (b, "x.nested", NULL, NULL, NULL));
  /* queued behind what the outer operation raised, not run in here */
  g_assert_cmpuint (f->events->len, ==, before);
}

static void
test_emissions_keep_order (Fixture *f, gconstpointer data)
{
  static const char *const expected[] = {
    "registered m", "activated m", "triggered x.nested {}", NULL
  };
  gulong id = g_signal_connect (f->broker, "module-registered", G_CALLBACK (nested_trigger_on_registered), f);

  module_new (f, "m", NULL);
  g_signal_handler_disconnect (f->broker, id);
  g_assert_cmpuint (f->events->len, ==, g_strv_length ((char **) expected));
  for (guint i = 0; expected[i]; i++)
    g_assert_cmpstr (g_ptr_array_index (f->events, i), ==, expected[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/core/reentrancy/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("handler-triggers-hook", test_handler_triggers_hook);
  ADD ("handler-removes-other-endpoints", test_handler_removes_other_endpoints);
  ADD ("handler-removes-served-endpoint", test_handler_removes_served_endpoint);
  ADD ("hook-handler-removes-trigger-and-listener", test_hook_handler_removes_trigger_and_listener);
  ADD ("handler-calls-function", test_handler_calls_function);
  ADD ("handler-iterates-main-context", test_handler_iterates_main_context);
  ADD ("send-must-not-reenter", test_send_must_not_reenter);
  ADD ("emissions-keep-order", test_emissions_keep_order);
#undef ADD

  return g_test_run ();
}
