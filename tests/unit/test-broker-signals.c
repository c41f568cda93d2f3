/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-signals.c: the broker core through fake endpoints: signals, counters and teardown under load
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

/* ------------------------------------------------------------------ */
/* Signals and counters                                                */
/* ------------------------------------------------------------------ */

static void
test_signals (Fixture *f, gconstpointer data)
{
  FakePeer *p = peer_new (f);
  FakePeer *q = peer_new (f);
  const char *const events[] = {
    /* a connection is announced when it asks to register */
    "connected 1",
    "registered p 1",
    "activated p",
    "declared p f",
    "listening p p.ev",
    "triggered p.ev {\"x\":1}",
    "connected 2",
    "registered q 2",
    "activated q",
    "deactivated p",
    "deactivated q",
    "disconnected 1 p",
    "disconnected 2 q",
    NULL,
  };

  register_module (p, "p", "1.0.0", NULL);
  pop_hook (p, "juno.activated", "{}");
  declare (p, "f");
  listen_hook (p, "p.ev");
  feed (p, "{'requestId':'t','type':7,'hook':'ev','data':{\"x\":1}}");
  pop_reply (p, 8, "t");
  pop_hook (p, "p.ev", "{'x':1}");
  register_module (q, "q", "1.0.0", "{'p':'*'}");
  pop_hook (q, "juno.activated", "{}");
  peer_remove (p);
  pop_hook (q, "juno.deactivated", "{}");
  peer_remove (q);
  assert_events (f, events);
}

static void
test_stats (Fixture *f, gconstpointer data)
{
  const JunoStats *s = juno_broker_get_stats (f->broker);
  FakePeer *a, *b, *u;
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;

  g_assert_cmpuint (s->connections, ==, 0);
  g_assert_cmpuint (s->messages_out, ==, 0);
  a = peer_new (f);
  b = peer_new (f);
  u = peer_new (f);
  g_assert_cmpuint (s->connections, ==, 3);
  g_assert_cmpuint (s->connections_total, ==, 3);

  register_module (a, "a", "1.0.0", NULL);
  pop_hook (a, "juno.activated", "{}");
  register_module (b, "b", "1.0.0", "{'a':'^1'}");
  pop_hook (b, "juno.activated", "{}");
  g_assert_cmpuint (s->modules, ==, 2);
  g_assert_cmpuint (s->active_modules, ==, 2);
  g_assert_cmpuint (s->messages_in, ==, 2);
  g_assert_cmpuint (s->messages_out, ==, 4);
  declare (b, "f");

  feed (a, "{'requestId':'r1','type':3,'function':'b.f'}");
  t1 = pop_call (b, "f", "{}", "a");
  feedf (b, "{'requestId':'%s','type':4,'data':1}", t1);
  pop_response (a, "r1", "1");
  feed (a, "{'requestId':'r2','type':3,'function':'b.f'}");
  t2 = pop_call (b, "f", "{}", "a");
  feedf (b, "{'requestId':'%s','type':0,'error':5}", t2);
  pop_error (a, "r2", 5);
  g_assert_cmpuint (s->calls_routed, ==, 2);
  g_assert_cmpuint (s->calls_failed, ==, 1);
  g_assert_cmpuint (s->errors_sent, ==, 0);

  /* refused by the broker: an error, but not a routed call */
  feed (a, "{'requestId':'r3','type':3,'function':'b.nope'}");
  pop_error (a, "r3", 5);
  g_assert_cmpuint (s->calls_routed, ==, 2);
  g_assert_cmpuint (s->calls_failed, ==, 1);
  g_assert_cmpuint (s->errors_sent, ==, 1);

  feed (u, "not json");
  feed (u, "[]");
  pop_error (u, "undefined", 0);
  g_assert_cmpuint (s->errors_sent, ==, 2);

  listen_hook (a, "a.ev");
  feed (a, "{'requestId':'t','type':7,'hook':'ev'}");
  pop_reply (a, 8, "t");
  pop_hook (a, "a.ev", "{}");
  g_assert_cmpuint (s->hooks_triggered, ==, 1);
  g_assert_cmpuint (s->hooks_delivered, ==, 1);

  juno_broker_set_call_timeout (f->broker, SHORT_TIMEOUT_USEC);
  feed (a, "{'requestId':'r4','type':3,'function':'b.f'}");
  t3 = pop_call (b, "f", "{}", "a");
  wait_for_output (a);
  pop_error (a, "r4", 9);
  g_assert_cmpuint (s->calls_routed, ==, 3);
  g_assert_cmpuint (s->calls_timed_out, ==, 1);
  g_assert_cmpuint (s->calls_failed, ==, 2);
  g_assert_cmpuint (s->errors_sent, ==, 3);

  feed (b, "{'requestId':'r5','type':3,'function':'juno.listModules'}");
  json_object_unref (pop_message (b, 4, "r5"));
  g_assert_cmpuint (s->calls_routed, ==, 4);

  declare (a, "g");
  feed (b, "{'requestId':'r6','type':3,'function':'a.g'}");
  t4 = pop_call (a, "g", "{}", "b");
  peer_remove (a);
  pop_error (b, "r6", 8);
  pop_hook (b, "juno.deactivated", "{}");
  g_assert_cmpuint (s->calls_routed, ==, 5);
  g_assert_cmpuint (s->calls_failed, ==, 3);
  g_assert_cmpuint (s->errors_sent, ==, 4);
  g_assert_cmpuint (s->calls_timed_out, ==, 1);
  g_assert_cmpuint (s->connections, ==, 2);
  g_assert_cmpuint (s->connections_total, ==, 3);
  g_assert_cmpuint (s->modules, ==, 1);
  g_assert_cmpuint (s->active_modules, ==, 0);

  /* counted by hand: every line fed above, every line popped above */
  g_assert_cmpuint (s->messages_in, ==, 16);
  g_assert_cmpuint (s->messages_out, ==, 21);
  assert_quiet (f);
}

/* ------------------------------------------------------------------ */
/* Teardown under load                                                 */
/* ------------------------------------------------------------------ */

static void
test_remove_everything (Fixture *f, gconstpointer data)
{
  FakePeer *peers[8];
  const JunoStats *stats = juno_broker_get_stats (f->broker);

  juno_broker_set_call_timeout (f->broker, (guint64) 3600 * G_USEC_PER_SEC);
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *deps = i > 0 ? g_strdup_printf ("{'m%u':'*','m%u':'*'}", i - 1, (i + 3) % 8) : NULL;

      peers[i] = peer_new (f);
      register_module (peers[i], id, "1.0.0", deps);
    }
  /* all active once the ring closes through m0 */
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      pop_hook (peers[i], "juno.activated", "{}");
      declare (peers[i], "f");
      listen_hook (peers[i], "juno.moduleDisconnected");
      listen_hook (peers[i], "m0.ev");
    }
  g_assert_cmpuint (stats->active_modules, ==, 8);
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    for (guint j = 0; j < G_N_ELEMENTS (peers); j++)
      feedf (peers[i], "{'requestId':'c%u','type':3,'function':'m%u.f'}", j, j);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 64);
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 64);
  g_assert_cmpuint (g_hash_table_size (f->broker->dependents), >, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->listeners), ==, 2);
  /* fixture_tear_down removes them all and checks that nothing is left */
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/signals", test_signals);
  ADD ("/core/broker/stats", test_stats);
  ADD ("/core/broker/remove-everything", test_remove_everything);
  return broker_test_run ();
}
