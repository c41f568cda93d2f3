/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-register.c: the broker core through fake endpoints: registration and the line format
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

/* ------------------------------------------------------------------ */
/* Registration                                                        */
/* ------------------------------------------------------------------ */

static void
test_register_activated (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  g_autoptr(JsonObject) hook = NULL;
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  const char *const events[] = { "connected 1", "registered mod-1_A 1", "activated mod-1_A", NULL };

  g_assert_cmpuint (peer->id, ==, 1); /* juno itself is 0 */
  g_assert_null (juno_endpoint_get_module_id (peer->ep));
  feed (peer, "{'type':1,'version':'2.0.0-rc.1+b5','moduleId':'mod-1_A','requestId':'first','extra':[1]}");
  pop_reply (peer, 2, "first");
  hook = pop_message (peer, 8, NULL);
  assert_members (hook, "requestId,type,hook,data");
  g_assert_cmpstr (get_str (hook, "requestId"), !=, "first");
  g_assert_cmpstr (get_str (hook, "hook"), ==, "juno.activated");
  assert_member_json (hook, "data", "{}");
  assert_no_output (peer);

  g_assert_cmpstr (juno_endpoint_get_module_id (peer->ep), ==, "mod-1_A");
  g_assert_true (juno_broker_lookup_module_endpoint (f->broker, "mod-1_A") == peer->ep);
  g_assert_null (juno_broker_lookup_module_endpoint (f->broker, "juno"));
  g_assert_null (juno_broker_lookup_module_endpoint (f->broker, "nobody"));
  g_assert_true (juno_broker_lookup_endpoint (f->broker, 1) == peer->ep);
  g_assert_null (juno_broker_lookup_endpoint (f->broker, 2));
  g_assert_cmpuint (stats->modules, ==, 1);
  g_assert_cmpuint (stats->active_modules, ==, 1);
  assert_events (f, events);
}

static void
test_register_inactive (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  const char *const events[] = { "connected 1", "registered waiting 1", NULL };

  register_module (peer, "waiting", "1.0.0", "{'later':'>=1.0.0'}");
  assert_no_output (peer);
  g_assert_cmpuint (stats->modules, ==, 1);
  g_assert_cmpuint (stats->active_modules, ==, 0);
  g_assert_false (module_is_active (f, "waiting"));
  assert_events (f, events);
}

static void
test_register_accepted_forms (Fixture *f, gconstpointer data)
{
  g_autofree char *id_128 = g_strnfill (JUNO_MODULE_ID_MAX_LENGTH, 'z');
  FakePeer *a = peer_new (f), *b = peer_new (f), *c = peer_new (f), *d = peer_new (f);

  register_module (a, id_128, "1.0.0", NULL);
  pop_hook (a, "juno.activated", "{}");
  register_module (b, "deps-null", "0.0.1", "null");
  pop_hook (b, "juno.activated", "{}");
  register_module (c, "deps-empty", "0.0.1", "{}");
  pop_hook (c, "juno.activated", "{}");
  /* an escaped moduleId is decoded */
  feed (d, "{'requestId':'r','type':1,'moduleId':'\\u0041-_9','version':'1.0.0'}");
  pop_reply (d, 2, "r");
  pop_hook (d, "juno.activated", "{}");
  g_assert_cmpstr (juno_endpoint_get_module_id (d->ep), ==, "A-_9");
  assert_quiet (f);
}

static void
test_register_name_reusable (Fixture *f, gconstpointer data)
{
  FakePeer *first = add_module (f, "again");
  FakePeer *second = peer_new (f);

  feed (second, "{'requestId':'r','type':1,'moduleId':'again','version':'1.0.0'}");
  pop_error (second, "r", 7);
  peer_remove (first);
  register_module (second, "again", "2.0.0", NULL);
  pop_hook (second, "juno.activated", "{}");
  assert_quiet (f);
}

static void
test_oversized (Fixture *f, gconstpointer data)
{
  FakePeer *peer = add_module (f, "big");
  const JunoStats *stats = juno_broker_get_stats (f->broker);

  juno_broker_report_oversized (f->broker, peer->ep);
  f->lines_fed++; /* counted as a message in, with no bytes */
  peer->fed++;
  pop_error (peer, "undefined", 10);
  g_assert_cmpuint (stats->errors_sent, ==, 1);
  f->expected_warnings = 1;
  /* still usable */
  declare (peer, "f");
  assert_quiet (f);
}

static void
test_register_dependency_limit (Fixture *f, gconstpointer data)
{
  FakePeer *ok = peer_new (f), *over = peer_new (f);
  GString *deps = g_string_new ("{");

  for (guint i = 0; i < 256; i++)
    g_string_append_printf (deps, "%s'd%u':'*'", i ? "," : "", i);
  g_string_append_c (deps, '}');
  register_module (ok, "many", "1.0.0", deps->str);
  g_string_truncate (deps, deps->len - 1);
  g_string_append (deps, ",'d256':'*'}");
  feedf (over, "{'requestId':'r','type':1,'moduleId':'toomany','version':'1.0.0','dependencies':%s}", deps->str);
  pop_error (over, "r", 0);
  g_string_free (deps, TRUE);
  assert_quiet (f);
}

static void
test_line_ending (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  static const char line[] = "{\"requestId\":\"cr\",\"type\":1,\"moduleId\":\"cr\",\"version\":\"1.0.0\"}\r";

  /* a line that came with "\r\n" */
  feed_raw (peer, line, sizeof line - 1);
  pop_reply (peer, 2, "cr");
  pop_hook (peer, "juno.activated", "{}");
  assert_quiet (f);
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/errors/oversized", test_oversized);
  ADD ("/core/broker/register/activated", test_register_activated);
  ADD ("/core/broker/register/inactive", test_register_inactive);
  ADD ("/core/broker/register/accepted-forms", test_register_accepted_forms);
  ADD ("/core/broker/register/name-reusable", test_register_name_reusable);
  ADD ("/core/broker/register/dependency-limit", test_register_dependency_limit);
  ADD ("/core/broker/register/line-ending", test_line_ending);
  return broker_test_run ();
}
