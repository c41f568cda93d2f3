/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-api.c: the broker core through fake endpoints: the in-process API, properties and peer credentials
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"
#include "juno-broker-private.h"

typedef struct
{
  guint calls;
  char *result;
  int code;
} CallResult;

static void
on_call_result (JunoBroker *broker, const char *result_json, int error_code, gpointer user_data)
{
  CallResult *r = user_data;

  r->calls++;
  g_free (r->result);
  r->result = g_strdup (result_json);
  r->code = error_code;
}

static void
test_in_process_call (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  CallResult r = { 0 };
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;

  declare (svc, "f");
  juno_broker_call_function (f->broker, "svc.f", "{\"a\":[1]}", on_call_result, &r);
  t1 = pop_call (svc, "f", "{'a':[1]}", "juno");
  g_assert_cmpuint (r.calls, ==, 0);
  feedf (svc, "{'requestId':'%s','type':4,'data':{'x':2}}", t1);
  g_assert_cmpuint (r.calls, ==, 1);
  g_assert_cmpint (r.code, ==, -1);
  g_assert_cmpstr (r.result, ==, "{\"x\":2}");

  juno_broker_call_function (f->broker, "svc.f", NULL, on_call_result, &r);
  t2 = pop_call (svc, "f", "{}", "juno");
  feedf (svc, "{'requestId':'%s','type':0,'error':7}", t2);
  g_assert_cmpuint (r.calls, ==, 2);
  g_assert_cmpint (r.code, ==, 7);
  g_assert_null (r.result);

  /* refused at once */
  juno_broker_call_function (f->broker, "nobody.f", "{}", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 3);
  g_assert_cmpint (r.code, ==, 4);
  juno_broker_call_function (f->broker, "svc.f", "[1]", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 4);
  g_assert_cmpint (r.code, ==, 0);
  juno_broker_call_function (f->broker, "svc.f", "{\"a\":", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 5);
  g_assert_cmpint (r.code, ==, 0);
  juno_broker_call_function (f->broker, "svc-f", "{}", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 6);
  g_assert_cmpint (r.code, ==, 5);

  /* the built-in functions answer in place */
  juno_broker_call_function (f->broker, "juno.getModuleInfo", "{\"moduleId\":\"svc\"}", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 7);
  g_assert_cmpint (r.code, ==, -1);
  {
    g_autoptr(JsonNode) node = parse_json (r.result);

    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "moduleId"), ==, "svc");
  }

  /* arguments in the wire's grammar, passed on compact: a pretty-printed
   * object reaches the callee on one line; 1e400 is refused */
  juno_broker_call_function (f->broker, "svc.f", " {\n \"a\" : [ 1 , 2.50 ] }\n", on_call_result, &r);
  t4 = pop_call (svc, "f", "{'a':[1,2.50]}", "juno");
  feedf (svc, "{'requestId':'%s','type':4,'data':null}", t4);
  g_assert_cmpuint (r.calls, ==, 8);
  juno_broker_call_function (f->broker, "svc.f", "{\"n\":1e400}", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 9);
  g_assert_cmpint (r.code, ==, 0);

  /* the callee leaving answers the call */
  juno_broker_call_function (f->broker, "svc.f", "{}", on_call_result, &r);
  t3 = pop_call (svc, "f", "{}", "juno");
  peer_remove (svc);
  g_assert_cmpuint (r.calls, ==, 10);
  g_assert_cmpint (r.code, ==, 8);
  g_free (r.result);
  assert_quiet (f);
}

static void
test_in_process_trigger (Fixture *f, gconstpointer data)
{
  FakePeer *l = add_module (f, "l");
  g_autoptr(GError) error = NULL;
  guint n = 99;

  listen_hook (l, "ext.ev");
  g_assert_true (juno_broker_trigger_hook (f->broker, "ext.ev", "{\"k\":1}", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  pop_hook (l, "ext.ev", "{'k':1}");
  g_assert_true (juno_broker_trigger_hook (f->broker, "ext.other", NULL, &n, &error));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (juno_broker_trigger_hook (f->broker, "ext.ev", NULL, NULL, &error));
  pop_hook (l, "ext.ev", "{}");
  g_assert_cmpuint (count_events (f, "triggered ext.ev {\"k\":1}"), ==, 1);
  g_assert_cmpuint (count_events (f, "triggered ext.other {}"), ==, 1);

  g_assert_false (juno_broker_trigger_hook (f->broker, "nodot", NULL, &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_broker_trigger_hook (f->broker, "a.b.c", NULL, &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_broker_trigger_hook (f->broker, "ext.ev", "[1]", &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (juno_broker_trigger_hook (f->broker, "ext.ev", "{\"k\":", &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (juno_broker_trigger_hook (f->broker, "ext.ev", "{\"k\":-1e400}", &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "out of range"));
  g_clear_error (&error);
  /* delivered compact, on one line */
  g_assert_true (juno_broker_trigger_hook (f->broker, "ext.ev", "{\n  \"k\" : \"a b\"\n}", &n, &error));
  pop_hook (l, "ext.ev", "{'k':'a b'}");
  assert_quiet (f);
}

static void
on_notify (GObject *object, GParamSpec *pspec, guint *count)
{
  (*count)++;
}

static void
test_properties (Fixture *f, gconstpointer data)
{
  g_autofree char *version = NULL;
  guint notified = 0;
  guint64 timeout = 0;
  guint max_calls = 0;

  g_object_get (f->broker, "version", &version, "call-timeout", &timeout, "max-calls-in-flight", &max_calls, NULL);
  g_assert_cmpstr (version, ==, juno_broker_get_version (f->broker));
  g_assert_cmpuint (timeout, ==, 30 * G_USEC_PER_SEC); /* the defaults */
  g_assert_cmpuint (max_calls, ==, 1024);

  g_signal_connect (f->broker, "notify", G_CALLBACK (on_notify), &notified);
  juno_broker_set_call_timeout (f->broker, 1000);
  juno_broker_set_call_timeout (f->broker, 1000);
  g_assert_cmpuint (notified, ==, 1); /* only on a real change */
  g_object_set (f->broker, "max-calls-in-flight", 7u, NULL);
  g_object_set (f->broker, "max-calls-in-flight", 7u, NULL);
  g_assert_cmpuint (notified, ==, 2);
  g_object_get (f->broker, "max-calls-in-flight", &max_calls, NULL);
  g_assert_cmpuint (max_calls, ==, 7);
}

static void
test_endpoint_credentials (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;

  g_assert_false (juno_endpoint_get_peer_credentials (peer->ep, &pid, &uid, &gid));
  juno_endpoint_set_peer_credentials (peer->ep, 1234, 1000, 100);
  g_assert_true (juno_endpoint_get_peer_credentials (peer->ep, &pid, &uid, &gid));
  g_assert_cmpint (pid, ==, 1234);
  g_assert_cmpuint (uid, ==, 1000);
  g_assert_cmpuint (gid, ==, 100);
  g_assert_true (juno_endpoint_get_peer_credentials (peer->ep, NULL, NULL, NULL));
}

/* Peers of the same credentials, groups and units share one identity;
 * each keeps its own pid and address, a change to one leaves the others
 * as they were, and the last endpoint of an identity takes it away. */
static void
test_endpoint_identity_shared (Fixture *f, gconstpointer data)
{
  FakePeer *a = peer_new (f);
  FakePeer *b = peer_new (f);
  FakePeer *c = peer_new (f);
  const gid_t groups[] = { 100, 27 };
  JunoBroker *broker = f->broker;
  guint base = g_hash_table_size (broker->identities);
  pid_t pid = 0;
  gid_t gid = 0;

  /* before credentials: one identity per transport */
  g_assert_true (a->ep->identity == b->ep->identity);
  juno_endpoint_set_peer_credentials (a->ep, 1234, 1000, 100);
  juno_endpoint_set_peer_credentials (b->ep, 5678, 1000, 100);
  juno_endpoint_set_peer_credentials (c->ep, 91011, 1000, 100);
  for (guint i = 0; i < 3; i++)
    {
      FakePeer *p = (FakePeer *[]) { a, b, c }[i];

      juno_endpoint_set_peer_groups (p->ep, groups, G_N_ELEMENTS (groups));
      juno_endpoint_set_peer_units (p->ep, "svc.service", NULL, "system.slice");
    }
  juno_endpoint_set_peer_address (b->ep, "b-only", 0);
  g_assert_true (a->ep->identity == b->ep->identity);
  g_assert_true (b->ep->identity == c->ep->identity);
  g_assert_cmpuint (a->ep->identity->ref_count, ==, 3);
  g_assert_cmpuint (g_hash_table_size (broker->identities), ==, base);
  g_assert_true (juno_endpoint_get_peer_credentials (b->ep, &pid, NULL, NULL));
  g_assert_cmpint (pid, ==, 5678);
  g_assert_null (juno_endpoint_get_peer_address (a->ep));
  g_assert_cmpstr (juno_endpoint_get_peer_address (b->ep), ==, "b-only");

  /* a change to one is its own */
  juno_endpoint_set_peer_units (c->ep, "other.service", NULL, "system.slice");
  g_assert_true (c->ep->identity != a->ep->identity);
  g_assert_cmpuint (a->ep->identity->ref_count, ==, 2);
  g_assert_cmpuint (g_hash_table_size (broker->identities), ==, base + 1);
  g_assert_cmpstr (juno_endpoint_get_peer_unit (a->ep), ==, "svc.service");
  g_assert_cmpstr (juno_endpoint_get_peer_unit (c->ep), ==, "other.service");
  g_assert_cmpstr (juno_endpoint_get_peer_slice (c->ep), ==, "system.slice");
  g_assert_true (juno_endpoint_get_peer_credentials (c->ep, NULL, NULL, &gid));
  g_assert_cmpuint (gid, ==, 100);
  g_assert_cmpuint (c->ep->identity->n_groups, ==, 2);

  /* the last endpoint of an identity takes it away; the others keep theirs */
  peer_remove (c);
  g_assert_cmpuint (g_hash_table_size (broker->identities), ==, base);
  peer_remove (a);
  g_assert_cmpuint (b->ep->identity->ref_count, ==, 1);
  g_assert_cmpstr (juno_endpoint_get_peer_unit (b->ep), ==, "svc.service");
  g_assert_true (juno_endpoint_get_peer_credentials (b->ep, &pid, NULL, NULL));
  g_assert_cmpint (pid, ==, 5678);
  peer_remove (b);
  g_assert_cmpuint (g_hash_table_size (broker->identities), ==, base - 1);
}

/* Clients: the typed API of the D-Bus control plane */

static void
client_remove (Fixture *f, JunoEndpoint *client)
{
  const JunoEndpointStats *es = juno_endpoint_get_stats (client);

  f->client_in += es->messages_in;
  f->client_bytes_in += es->bytes_in;
  f->client_out += es->messages_out;
  f->client_bytes_out += es->bytes_out;
  juno_broker_remove_endpoint (f->broker, client);
}

static void
test_client_call (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  JunoEndpoint *a = juno_broker_add_client (f->broker, "test", "test:a");
  JunoEndpoint *b = juno_broker_add_client (f->broker, "test", "test:b");
  g_autoptr(GError) error = NULL;
  CallResult r = { 0 };
  g_autofree char *t1 = NULL;

  /* a client is no connection and fires no lifecycle hook */
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->connections, ==, 1);
  g_assert_cmpuint (count_events (f, "connected"), ==, 0);
  g_assert_cmpstr (juno_endpoint_get_caller (a), ==, "test:a");
  g_assert_cmpstr (juno_endpoint_get_transport (a), ==, "test");
  g_assert_null (juno_endpoint_get_module_id (a));
  g_assert_null (juno_endpoint_get_caller (svc->ep));

  declare (svc, "f");
  /* any layout, one compact line (fake_send refuses a raw newline) */
  g_assert_true (juno_broker_client_call (f->broker, a, "svc.f", "{\n  \"a\" : [ 1,\r\n 2 ],\n\t\"s\":\"x\\ny\"\n}\n",
                                          -1, on_call_result, &r, &error));
  g_assert_no_error (error);
  t1 = pop_call (svc, "f", "{'a':[1,2],'s':'x\\ny'}", "test:a");
  g_assert_nonnull (strstr (g_ptr_array_index (svc->lines, svc->lines->len - 1), "{\"a\":[1,2],\"s\":\"x\\ny\"}"));
  feedf (svc, "{'requestId':'%s','type':4,'data':[3]}", t1);
  g_assert_cmpuint (r.calls, ==, 1);
  g_assert_cmpstr (r.result, ==, "[3]");

  /* refused before anything is sent: not one object, or not JSON */
  for (guint i = 0; i < 5; i++)
    {
      static const char *const bad[] = {
        "{\"a\":1}\n{\"requestId\":\"x\",\"type\":7,\"hook\":\"juno.deactivated\"}",
        "{\"a\":1},\"caller\":\"juno\"",
        "[1]",
        "{'a':1}",
        "{\"a\":\"\xff\"}",
      };

      g_assert_false (juno_broker_client_call (f->broker, a, "svc.f", bad[i], -1, on_call_result, &r, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
    }
  g_assert_cmpuint (r.calls, ==, 1);
  assert_no_output (svc);

  /* each client its own quota */
  juno_broker_set_max_calls_in_flight (f->broker, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *t = NULL;

      g_assert_true (juno_broker_client_call (f->broker, a, "svc.f", "", 0, on_call_result, &r, &error));
      t = pop_call (svc, "f", "{}", "test:a");
    }
  g_assert_true (juno_broker_client_call (f->broker, a, "svc.f", NULL, 0, on_call_result, &r, &error));
  g_assert_cmpuint (r.calls, ==, 2);
  g_assert_cmpint (r.code, ==, JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS);
  g_assert_true (juno_broker_client_call (f->broker, b, "svc.f", "{}", 2, on_call_result, &r, &error));
  g_free (pop_call (svc, "f", "{}", "test:b"));
  g_assert_cmpuint (r.calls, ==, 2);
  f->expected_warnings++;

  /* the size limit holds the forwarded message */
  juno_broker_set_max_message_size (f->broker, 256);
  {
    g_autofree char *big = g_strdup_printf ("{\"s\":\"%0200d\"}", 0);

    g_assert_false (juno_broker_client_call (f->broker, b, "svc.f", big, -1, on_call_result, &r, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    g_clear_error (&error);
  }
  assert_no_output (svc);

  /* a client leaving ends its calls, once each; late answers go nowhere */
  client_remove (f, a);
  g_assert_cmpuint (r.calls, ==, 4);
  g_assert_cmpint (r.code, ==, JUNO_BROKER_CALL_DROPPED);
  client_remove (f, b);
  g_assert_cmpuint (r.calls, ==, 5);
  g_assert_cmpint (r.code, ==, JUNO_BROKER_CALL_DROPPED);
  g_free (r.result);
  assert_quiet (f);
}

static void
test_client_call_timeout (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *mod = add_module (f, "mod");
  JunoEndpoint *client = juno_broker_add_client (f->broker, "test", "test:c");
  g_autoptr(GError) error = NULL;
  CallResult r = { 0 };
  g_autofree char *t1 = NULL, *t2 = NULL;

  declare (svc, "f");
  juno_endpoint_set_call_timeout (client, SHORT_TIMEOUT_USEC);
  /* the module's call keeps the broker's timeout (30 s), the client's is shorter */
  feed (mod, "{'requestId':'m','type':3,'function':'svc.f'}");
  t1 = pop_call (svc, "f", "{}", "mod");
  g_assert_true (juno_broker_client_call (f->broker, client, "svc.f", "{}", -1, on_call_result, &r, &error));
  t2 = pop_call (svc, "f", "{}", "test:c");
  while (r.calls == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (r.code, ==, JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT);
  assert_no_output (mod);
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", t1);
  pop_response (mod, "m", "1");
  client_remove (f, client);
  g_assert_cmpuint (r.calls, ==, 1);
  g_free (r.result);
}

static void
test_client_trigger (Fixture *f, gconstpointer data)
{
  FakePeer *l = add_module (f, "l");
  JunoEndpoint *client = juno_broker_add_client (f->broker, "test", "test:t");
  g_autoptr(GError) error = NULL;
  guint n = 99;

  listen_hook (l, "clock.tick");
  listen_hook (l, "juno.moduleActivated");
  /* a module that is not connected: its listeners get it */
  g_assert_true (juno_broker_client_trigger (f->broker, client, "clock.tick", "{ \"n\" :\n 1 }", -1, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  pop_hook (l, "clock.tick", "{'n':1}");
  /* juno's hooks are the broker's alone */
  g_assert_false (juno_broker_client_trigger (f->broker, client, "juno.moduleActivated", "{\"moduleId\":\"x\"}", -1,
                                              &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_false (juno_broker_client_trigger (f->broker, client, "clock.tick", "{}\n{}", -1, &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  assert_no_output (l);
  client_remove (f, client);
}

static void
on_stats_changed (gpointer data)
{
  (*(guint *) data)++;
}

static void
test_watch_stats (Fixture *f, gconstpointer data)
{
  guint changes = 0;
  FakePeer *a;

  juno_broker_watch_stats (f->broker, on_stats_changed, &changes);
  a = add_module (f, "a");
  /* once, then forgotten */
  g_assert_cmpuint (changes, ==, 1);
  feed (a, "{'requestId':'x','type':9,'function':'f'}");
  g_assert_cmpuint (changes, ==, 1);
  juno_broker_watch_stats (f->broker, on_stats_changed, &changes);
  g_assert_cmpuint (changes, ==, 1);
  feed (a, "{'requestId':'y','type':9,'function':'g'}");
  g_assert_cmpuint (changes, ==, 2);
  juno_broker_watch_stats (f->broker, on_stats_changed, &changes);
  juno_broker_watch_stats (f->broker, NULL, NULL);
  feed (a, "{'requestId':'z','type':9,'function':'h'}");
  g_assert_cmpuint (changes, ==, 2);
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/in-process/call", test_in_process_call);
  ADD ("/core/broker/in-process/trigger", test_in_process_trigger);
  ADD ("/core/broker/client/call", test_client_call);
  ADD ("/core/broker/client/call-timeout", test_client_call_timeout);
  ADD ("/core/broker/client/trigger", test_client_trigger);
  ADD ("/core/broker/watch-stats", test_watch_stats);
  ADD ("/core/broker/properties", test_properties);
  ADD ("/core/broker/endpoint-credentials", test_endpoint_credentials);
  ADD ("/core/broker/endpoint-identity-shared", test_endpoint_identity_shared);
  return broker_test_run ();
}
