/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-api.c: the broker core through fake endpoints: the in-process API, properties and peer credentials
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

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
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL;

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

  /* the callee leaving answers the call */
  juno_broker_call_function (f->broker, "svc.f", "{}", on_call_result, &r);
  t3 = pop_call (svc, "f", "{}", "juno");
  peer_remove (svc);
  g_assert_cmpuint (r.calls, ==, 8);
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

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/in-process/call", test_in_process_call);
  ADD ("/core/broker/in-process/trigger", test_in_process_trigger);
  ADD ("/core/broker/properties", test_properties);
  ADD ("/core/broker/endpoint-credentials", test_endpoint_credentials);
  return broker_test_run ();
}
