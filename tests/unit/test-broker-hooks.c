/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-hooks.c: the broker core through fake endpoints: hooks
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

static void
test_hooks_deliver (Fixture *f, gconstpointer data)
{
  FakePeer *trig = add_module (f, "trig");
  FakePeer *dep = add_module (f, "dep");
  FakePeer *l1 = add_module (f, "l1");
  FakePeer *l2 = peer_new (f);
  FakePeer *other = add_module (f, "other");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  guint64 ack_seq;

  register_module (l2, "l2", "1.0.0", "{'dep':'^1.0.0'}");
  pop_hook (l2, "juno.activated", "{}");
  listen_hook (l1, "trig.ev");
  listen_hook (l1, "trig.ev"); /* twice: still one delivery */
  listen_hook (l2, "trig.ev");
  listen_hook (trig, "trig.ev");
  listen_hook (other, "trig.other");
  g_assert_cmpuint (count_events (f, "listening l1 trig.ev"), ==, 2);
  g_assert_cmpuint (count_events (f, "listening l2 trig.ev"), ==, 1);

  /* l2 goes inactive with its dependency; it keeps its registration */
  peer_remove (dep);
  pop_hook (l2, "juno.deactivated", "{}");
  assert_quiet (f);

  feed (trig, "{'requestId':'t1','type':7,'hook':'ev','data':{'k':[1,2],'s':'\\u00e9'}}");
  pop_reply (trig, 8, "t1"); /* the ack has no hook and no data */
  ack_seq = last_seq (trig);
  pop_hook (trig, "trig.ev", "{'k':[1,2],'s':'\xc3\xa9'}");
  g_assert_cmpuint (last_seq (trig), >, ack_seq);
  pop_hook (l1, "trig.ev", "{'k':[1,2],'s':'\xc3\xa9'}");
  g_assert_cmpuint (last_seq (l1), >, ack_seq);
  assert_quiet (f);
  g_assert_cmpuint (stats->hooks_triggered, ==, 1);
  g_assert_cmpuint (stats->hooks_delivered, ==, 2);
  g_assert_cmpuint (count_events (f, "triggered trig.ev {\"k\":[1,2],\"s\":\"\\u00e9\"}"), ==, 1);

  /* data absent or not an object becomes {} */
  feed (trig, "{'requestId':'t2','type':7,'hook':'ev'}");
  pop_reply (trig, 8, "t2");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l1, "trig.ev", "{}");
  feed (trig, "{'requestId':'t3','type':7,'hook':'ev','data':[1]}");
  pop_reply (trig, 8, "t3");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l1, "trig.ev", "{}");
  g_assert_cmpuint (count_events (f, "triggered trig.ev {}"), ==, 2);
  assert_quiet (f);

  /* nobody listens: the ack alone */
  feed (trig, "{'requestId':'t4','type':7,'hook':'quiet'}");
  pop_reply (trig, 8, "t4");
  assert_quiet (f);
  g_assert_cmpuint (stats->hooks_triggered, ==, 4);
  g_assert_cmpuint (stats->hooks_delivered, ==, 6);

  /* l2 serves again once its dependency is back */
  dep = add_module (f, "dep");
  pop_hook (l2, "juno.activated", "{}");
  feed (trig, "{'requestId':'t5','type':7,'hook':'ev','data':{}}");
  pop_reply (trig, 8, "t5");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l1, "trig.ev", "{}");
  pop_hook (l2, "trig.ev", "{}");
  assert_quiet (f);

  /* a listener that leaves is unhooked */
  peer_remove (l1);
  feed (trig, "{'requestId':'t6','type':7,'hook':'ev'}");
  pop_reply (trig, 8, "t6");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l2, "trig.ev", "{}");
  g_assert_cmpuint (stats->hooks_delivered, ==, 11);
  assert_quiet (f);
}

static void
test_hooks_lifecycle (Fixture *f, gconstpointer data)
{
  FakePeer *watch = add_module (f, "watch");
  FakePeer *quiet = add_module (f, "quiet"); /* listens to nothing */
  FakePeer *x, *y;
  g_autofree char *x_data = NULL, *y_data = NULL;
  g_autofree char *x_event = NULL, *y_event = NULL;

  listen_hook (watch, "juno.moduleConnected");
  listen_hook (watch, "juno.moduleDisconnected");
  listen_hook (watch, "juno.moduleActivated");
  listen_hook (watch, "juno.moduleDeactivated");

  /* a connection that never registers: an observer, never announced */
  x = peer_new (f);
  {
    g_autofree char *id = peer_id_string (x);

    x_data = g_strdup_printf ("{'connectionId':'%s'}", id);
    x_event = g_strdup_printf ("disconnected %s -", id);
  }
  assert_quiet (f);
  peer_remove (x);
  g_assert_cmpuint (count_events (f, x_event), ==, 0);
  assert_quiet (f);

  /* one that registers, and leaves while active */
  y = peer_new (f);
  {
    g_autofree char *id = peer_id_string (y);

    y_data = g_strdup_printf ("{'connectionId':'%s'}", id);
    y_event = g_strdup_printf ("disconnected %s y", id);
  }
  register_module (y, "y", "1.0.0", NULL);
  pop_hook (watch, "juno.moduleConnected", y_data);
  pop_hook (y, "juno.activated", "{}");
  pop_hook (watch, "juno.moduleActivated", "{'moduleId':'y'}");
  assert_quiet (f);
  peer_remove (y);
  pop_hook (watch, "juno.moduleDeactivated", "{'moduleId':'y'}");
  pop_hook (watch, "juno.moduleDisconnected", y_data);
  g_assert_cmpuint (count_events (f, y_event), ==, 1);
  g_assert_cmpuint (count_events (f, "deactivated y"), ==, 1);
  assert_quiet (f);
  assert_no_output (quiet);

  /* broadcasts carry fresh broker-made ids */
  {
    const char *a = g_ptr_array_index (watch->lines, watch->next - 1);
    const char *b = g_ptr_array_index (watch->lines, watch->next - 2);
    g_autoptr(JsonNode) na = parse_json (a);
    g_autoptr(JsonNode) nb = parse_json (b);

    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (na), "requestId"), !=,
                     json_object_get_string_member (json_node_get_object (nb), "requestId"));
  }
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/hooks/deliver", test_hooks_deliver);
  ADD ("/core/broker/hooks/lifecycle", test_hooks_lifecycle);
  return broker_test_run ();
}
