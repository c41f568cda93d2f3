/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-standby.c: the broker core through fake endpoints: names a
 * federation proxy yields to a local module and takes back
 * (juno_endpoint_set_yields_name; the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

static FakePeer *
add_proxy (Fixture *f, const char *id, const char *version)
{
  FakePeer *proxy = peer_new (f);

  juno_endpoint_set_yields_name (proxy->ep, TRUE);
  register_module (proxy, id, version, NULL);
  if (juno_endpoint_holds_name (proxy->ep))
    pop_hook (proxy, "juno.activated", "{}");
  return proxy;
}

/* A local module takes a proxy's name: the dependent stays active, calls
 * go to the local module; when it leaves, the proxy takes the name back
 * and the dependent still never deactivates. */
static void
test_local_takes_over (Fixture *f, gconstpointer data)
{
  FakePeer *proxy = add_proxy (f, "db", "1.0.0");
  FakePeer *app = peer_new (f);
  FakePeer *local;
  g_autofree char *token = NULL;

  declare (proxy, "get");
  register_module (app, "app", "1.0.0", "{'db':'^1'}");
  pop_hook (app, "juno.activated", "{}");
  g_assert_true (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));

  local = peer_new (f);
  register_module (local, "db", "1.2.0", NULL);
  pop_hook (local, "juno.activated", "{}");
  declare (local, "get");
  g_assert_true (juno_endpoint_holds_name (local->ep));
  g_assert_false (juno_endpoint_holds_name (proxy->ep));
  g_assert_true (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));
  g_assert_cmpstr (juno_module_get_version (juno_broker_lookup_module (f->broker, "db")), ==, "1.2.0");

  feed (app, "{'requestId':'c1','type':3,'function':'db.get','arguments':{}}");
  token = pop_call (local, "get", "{}", "app");
  feedf (local, "{'requestId':'%s','type':4,'data':1}", token);
  pop_response (app, "c1", "1");

  peer_remove (local);
  g_assert_true (juno_endpoint_holds_name (proxy->ep));
  pop_hook (proxy, "juno.activated", "{}");
  g_assert_true (juno_module_get_active (juno_broker_lookup_module (f->broker, "db")));
  g_assert_true (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));
  g_assert_cmpuint (count_events (f, "deactivated app"), ==, 0);
  g_assert_cmpuint (count_events (f, "activated app"), ==, 1);

  /* the functions it declared while standing by are its own again */
  g_clear_pointer (&token, g_free);
  feed (app, "{'requestId':'c2','type':3,'function':'db.get','arguments':{}}");
  token = pop_call (proxy, "get", "{}", "app");
  feedf (proxy, "{'requestId':'%s','type':4,'data':2}", token);
  pop_response (app, "c2", "2");
}

/* A proxy that registers behind a local module stands by; it takes the
 * name when the local one leaves; removed while standing by it leaves no
 * trace. */
static void
test_proxy_stands_by (Fixture *f, gconstpointer data)
{
  FakePeer *local = add_module (f, "db");
  FakePeer *app = peer_new (f);
  FakePeer *proxy, *other;
  guint registered;

  register_module (app, "app", "1.0.0", "{'db':'1'}");
  pop_hook (app, "juno.activated", "{}");
  proxy = add_proxy (f, "db", "1.5.0");
  declare (proxy, "get");
  g_assert_false (juno_endpoint_holds_name (proxy->ep));
  g_assert_cmpuint (count_events (f, "declared db get"), ==, 0);

  /* a second proxy of the same name is refused: one stands by at most */
  other = peer_new (f);
  juno_endpoint_set_yields_name (other->ep, TRUE);
  feed (other, "{'requestId':'r','type':1,'moduleId':'db','version':'1.0.0'}");
  pop_error (other, "r", 7);
  peer_remove (other);
  /* a second local module is refused as before */
  other = peer_new (f);
  feed (other, "{'requestId':'r2','type':1,'moduleId':'db','version':'1.0.0'}");
  pop_error (other, "r2", 7);
  peer_remove (other);

  registered = count_events (f, "registered db");
  peer_remove (local);
  g_assert_true (juno_endpoint_holds_name (proxy->ep));
  g_assert_cmpstr (juno_module_get_version (juno_broker_lookup_module (f->broker, "db")), ==, "1.5.0");
  g_assert_true (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));
  g_assert_cmpuint (count_events (f, "deactivated app"), ==, 0);
  (void) registered;

  /* behind a new local module again, then gone while standing by */
  local = add_module (f, "db");
  g_assert_false (juno_endpoint_holds_name (proxy->ep));
  peer_remove (proxy);
  g_assert_true (juno_endpoint_holds_name (local->ep));
  g_assert_true (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));
  g_assert_cmpuint (count_events (f, "deactivated app"), ==, 0);
}

/* The new holder's version decides: a dependent it does not satisfy
 * deactivates, and activates again when the proxy takes the name back. */
static void
test_version_still_decides (Fixture *f, gconstpointer data)
{
  FakePeer *proxy = add_proxy (f, "db", "1.0.0");
  FakePeer *app = peer_new (f);
  FakePeer *local;

  register_module (app, "app", "1.0.0", "{'db':'^1'}");
  local = peer_new (f);
  register_module (local, "db", "2.0.0", NULL);
  g_assert_false (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));
  peer_remove (local);
  g_assert_true (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));
  g_assert_cmpuint (count_events (f, "deactivated app"), ==, 1);
  peer_remove (proxy);
  g_assert_false (juno_module_get_active (juno_broker_lookup_module (f->broker, "app")));
}

/* Calls waiting on a proxy whose link went down fail at once; the late
 * answers are dropped quietly. */
static void
test_fail_calls_to (Fixture *f, gconstpointer data)
{
  FakePeer *proxy = add_proxy (f, "db", "1.0.0");
  FakePeer *app = add_module (f, "app");
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;

  declare (proxy, "get");
  feed (app, "{'requestId':'c1','type':3,'function':'db.get','arguments':{}}");
  feed (app, "{'requestId':'c2','type':3,'function':'db.get','arguments':{}}");
  t1 = pop_call (proxy, "get", "{}", "app");
  t2 = pop_call (proxy, "get", "{}", "app");
  juno_broker_fail_calls_to (f->broker, proxy->ep, JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED);
  pop_error (app, "c1", 8);
  pop_error (app, "c2", 8);
  g_assert_cmpuint (juno_endpoint_get_n_calls_waiting (app->ep), ==, 0);
  feedf (proxy, "{'requestId':'%s','type':4,'data':1}", t1);
  assert_no_output (proxy);
  assert_no_output (app);
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/standby/local-takes-over", test_local_takes_over);
  ADD ("/core/broker/standby/proxy-stands-by", test_proxy_stands_by);
  ADD ("/core/broker/standby/version-still-decides", test_version_still_decides);
  ADD ("/core/broker/standby/fail-calls-to", test_fail_calls_to);
  return g_test_run ();
}
