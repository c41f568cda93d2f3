/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-calls.c: the broker core through fake endpoints: declarations and calls
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

/* ------------------------------------------------------------------ */
/* Declare and calls                                                   */
/* ------------------------------------------------------------------ */

static void
test_declare (Fixture *f, gconstpointer data)
{
  FakePeer *peer = add_module (f, "svc");
  g_autoptr(JsonObject) info = NULL;

  declare (peer, "getUser_2");
  declare (peer, "getUser_2"); /* twice is fine */
  feed (peer, "{'requestId':'esc','type':9,'function':'\\u0066n'}");
  {
    g_autoptr(JsonObject) reply = pop_message (peer, 10, "esc");

    g_assert_cmpstr (get_str (reply, "function"), ==, "fn");
  }
  info = module_info (f, "svc");
  assert_member_json (info, "declaredFunctions", "['fn','getUser_2']");
  g_assert_cmpuint (count_events (f, "declared svc getUser_2"), ==, 2);
  g_assert_cmpuint (count_events (f, "declared svc fn"), ==, 1);
  assert_quiet (f);
}

static void
test_call_route (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;

  declare (svc, "get");
  feed (caller, "{'requestId':'c1','type':3,'function':'svc.get','arguments':{'id':42,'deep':{'x':[1,'two',null]}}}");
  t1 = pop_call (svc, "get", "{'id':42,'deep':{'x':[1,'two',null]}}", "caller");
  g_assert_cmpstr (t1, !=, "c1");
  assert_quiet (f);
  feedf (svc, "{'requestId':'%s','type':4,'data':{'name':'alice','tags':[]}}", t1);
  pop_response (caller, "c1", "{'name':'alice','tags':[]}");

  /* arguments absent or not an object become {}; data absent becomes null */
  feed (caller, "{'requestId':'c2','type':3,'function':'svc.get'}");
  t2 = pop_call (svc, "get", "{}", "caller");
  feed (caller, "{'requestId':'c3','type':3,'function':'svc.get','arguments':[1,2]}");
  t3 = pop_call (svc, "get", "{}", "caller");
  g_assert_cmpstr (t2, !=, t3);
  feedf (svc, "{'requestId':'%s','type':4}", t2);
  pop_response (caller, "c2", "null");
  feedf (svc, "{'requestId':'%s','type':4,'data':[1,'x',false]}", t3);
  pop_response (caller, "c3", "[1,'x',false]");

  /* the caller's id comes back byte for byte, escapes included */
  feed (caller, "{'requestId':'q\\\\u0022\\u00e9','type':3,'function':'svc.get'}");
  t4 = pop_call (svc, "get", "{}", "caller");
  feedf (svc, "{'data':7,'type':4,'requestId':'%s'}", t4);
  {
    g_autoptr(JsonObject) reply = pop_message (caller, 4, "q\\u0022\xc3\xa9");

    assert_member_json (reply, "data", "7");
    g_assert_nonnull (strstr (g_ptr_array_index (caller->lines, caller->next - 1), "\"requestId\":\"q\\\\u0022\\u00e9\""));
  }

  g_assert_cmpuint (stats->calls_routed, ==, 4);
  g_assert_cmpuint (stats->calls_failed, ==, 0);
  g_assert_cmpuint (juno_endpoint_get_stats (caller->ep)->calls_made, ==, 4);
  g_assert_cmpuint (juno_endpoint_get_stats (svc->ep)->calls_received, ==, 4);
  g_assert_cmpuint (juno_endpoint_get_stats (svc->ep)->calls_made, ==, 0);
  assert_quiet (f);
}

/* A call's requestId is held until the answer, so its length is bounded:
 * JUNO_CALL_REQUEST_ID_MAX_LENGTH bytes as written, quotes included. */
static void
test_call_request_id_length (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  g_autofree char *longest = g_strnfill (JUNO_CALL_REQUEST_ID_MAX_LENGTH - 2, 'r');
  g_autofree char *too_long = g_strnfill (JUNO_CALL_REQUEST_ID_MAX_LENGTH - 1, 'r');
  g_autofree char *token = NULL;

  declare (svc, "get");
  feedf (caller, "{'requestId':'%s','type':3,'function':'svc.get'}", longest);
  token = pop_call (svc, "get", "{}", "caller");
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", token);
  pop_response (caller, longest, "1");

  feedf (caller, "{'requestId':'%s','type':3,'function':'svc.get'}", too_long);
  pop_error (caller, too_long, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
  g_assert_cmpuint (juno_endpoint_get_n_calls_waiting (caller->ep), ==, 0);
  assert_no_output (svc);
  assert_quiet (f);
}

static void
test_call_same_request_id (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *a = add_module (f, "a");
  FakePeer *b = add_module (f, "b");
  g_autofree char *ta = NULL, *tb = NULL, *ta2 = NULL;

  declare (svc, "f");
  feed (a, "{'requestId':'same','type':3,'function':'svc.f','arguments':{'from':'a'}}");
  feed (b, "{'requestId':'same','type':3,'function':'svc.f','arguments':{'from':'b'}}");
  ta = pop_call (svc, "f", "{'from':'a'}", "a");
  tb = pop_call (svc, "f", "{'from':'b'}", "b");
  g_assert_cmpstr (ta, !=, tb);

  /* answered in reverse order, each reaches its own caller */
  feedf (svc, "{'requestId':'%s','type':4,'data':'for b'}", tb);
  pop_response (b, "same", "'for b'");
  assert_no_output (a);
  feedf (svc, "{'requestId':'%s','type':4,'data':'for a'}", ta);
  pop_response (a, "same", "'for a'");

  /* one caller reusing an id while the first call is pending */
  feed (a, "{'requestId':'dup','type':3,'function':'svc.f'}");
  feed (a, "{'requestId':'dup','type':3,'function':'svc.f','arguments':{'n':2}}");
  g_free (ta);
  ta = pop_call (svc, "f", "{}", "a");
  ta2 = pop_call (svc, "f", "{'n':2}", "a");
  g_assert_cmpstr (ta, !=, ta2);
  feedf (svc, "{'requestId':'%s','type':4,'data':2}", ta2);
  pop_response (a, "dup", "2");
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", ta);
  pop_response (a, "dup", "1");
  /* a token answers once; a second answer names no call: error 1 */
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", ta);
  pop_error (svc, ta, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
  assert_quiet (f);
}

static void
test_call_callee_error (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  static const struct
  {
    const char *error;
    gint64 delivered;
  } codes[] = {
    { "42", 42 },
    { "0", 0 },
    { "2147483647", 2147483647 },
    { "-3", 0 },
    { "1.5", 0 },
    { "'x'", 0 },
    { "null", 0 },
    { NULL, 0 }, /* absent */
  };

  declare (svc, "f");
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autofree char *rid = g_strdup_printf ("e%u", i);
      g_autofree char *token = NULL;

      feedf (caller, "{'requestId':'%s','type':3,'function':'svc.f'}", rid);
      token = pop_call (svc, "f", "{}", "caller");
      if (codes[i].error != NULL)
        feedf (svc, "{'requestId':'%s','type':0,'error':%s}", token, codes[i].error);
      else
        feedf (svc, "{'requestId':'%s','type':0}", token);
      pop_error (caller, rid, codes[i].delivered);
      assert_quiet (f);
    }
  g_assert_cmpuint (stats->calls_failed, ==, G_N_ELEMENTS (codes));
  g_assert_cmpuint (stats->errors_sent, ==, 0); /* relayed, not the broker's */
}

static void
test_call_foreign_token (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  FakePeer *evil = add_module (f, "evil");
  g_autofree char *token = NULL;

  declare (svc, "f");
  declare (evil, "f");
  feed (caller, "{'requestId':'c1','type':3,'function':'svc.f'}");
  token = pop_call (svc, "f", "{}", "caller");

  /* the token was issued to svc, not to evil */
  feedf (evil, "{'requestId':'%s','type':4,'data':'forged'}", token);
  pop_error (evil, token, 1);
  feedf (evil, "{'requestId':'%s','type':0,'error':5}", token);
  pop_error (evil, token, 1);
  /* nor to the caller */
  feedf (caller, "{'requestId':'%s','type':4,'data':'forged'}", token);
  pop_error (caller, token, 1);
  assert_quiet (f);

  feedf (svc, "{'requestId':'%s','type':4,'data':'real'}", token);
  pop_response (caller, "c1", "'real'");
  assert_quiet (f);
}

static void
test_call_self (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  g_autofree char *token = NULL;

  declare (svc, "f");
  feed (svc, "{'requestId':'me','type':3,'function':'svc.f','arguments':{'a':1}}");
  token = pop_call (svc, "f", "{'a':1}", "svc");
  feedf (svc, "{'requestId':'%s','type':4,'data':true}", token);
  pop_response (svc, "me", "true");
  assert_quiet (f);
}

static void
test_call_callee_disconnected (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *a = add_module (f, "a");
  FakePeer *b = add_module (f, "b");
  FakePeer *other = add_module (f, "other");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t_other = NULL, *t_svc = NULL;

  declare (svc, "f");
  declare (other, "g");
  declare (b, "h");
  feed (a, "{'requestId':'a1','type':3,'function':'svc.f'}");
  feed (a, "{'requestId':'a2','type':3,'function':'svc.f'}");
  feed (b, "{'requestId':'b1','type':3,'function':'svc.f'}");
  feed (a, "{'requestId':'a3','type':3,'function':'other.g'}");
  feed (svc, "{'requestId':'s1','type':3,'function':'b.h'}");
  t1 = pop_call (svc, "f", "{}", "a");
  t2 = pop_call (svc, "f", "{}", "a");
  t3 = pop_call (svc, "f", "{}", "b");
  t_other = pop_call (other, "g", "{}", "a");
  t_svc = pop_call (b, "h", "{}", "svc");
  assert_quiet (f);

  /* every call waiting on svc is answered at once */
  peer_remove (svc);
  pop_error (a, "a1", 8);
  pop_error (a, "a2", 8);
  pop_error (b, "b1", 8);
  assert_quiet (f);
  g_assert_cmpuint (stats->calls_failed, ==, 3);
  g_assert_cmpuint (stats->errors_sent, ==, 3);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 1);

  /* svc's own call went with it: b's answer is dropped without a word */
  feedf (b, "{'requestId':'%s','type':4,'data':1}", t_svc);
  assert_quiet (f);
  /* the call to another callee is untouched */
  feedf (other, "{'requestId':'%s','type':4,'data':'ok'}", t_other);
  pop_response (a, "a3", "'ok'");
  /* and a caller that leaves takes its calls along */
  feed (a, "{'requestId':'a4','type':3,'function':'other.g'}");
  g_free (t_other);
  t_other = pop_call (other, "g", "{}", "a");
  peer_remove (a);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 0);
  feedf (other, "{'requestId':'%s','type':4,'data':'late'}", t_other);
  assert_quiet (f);
}

static void
test_call_timeout (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *c1 = add_module (f, "c1");
  FakePeer *c2 = add_module (f, "c2");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
  guint64 call_timeout = 0;

  juno_broker_set_call_timeout (f->broker, SHORT_TIMEOUT_USEC);
  g_object_get (f->broker, "call-timeout", &call_timeout, NULL);
  g_assert_cmpuint (call_timeout, ==, SHORT_TIMEOUT_USEC);
  declare (svc, "slow");
  feed (c1, "{'requestId':'first','type':3,'function':'svc.slow'}");
  feed (c2, "{'requestId':'second','type':3,'function':'svc.slow'}");
  t1 = pop_call (svc, "slow", "{}", "c1");
  t2 = pop_call (svc, "slow", "{}", "c2");

  wait_for_output (c1);
  pop_error (c1, "first", 9);
  wait_for_output (c2);
  pop_error (c2, "second", 9);
  g_assert_cmpuint (stats->calls_timed_out, ==, 2);
  g_assert_cmpuint (stats->calls_failed, ==, 2);
  g_assert_cmpuint (stats->errors_sent, ==, 2);
  assert_quiet (f);

  /* late answers reach no one, and earn the callee no error */
  feedf (svc, "{'requestId':'%s','type':4,'data':'late'}", t1);
  feedf (svc, "{'requestId':'%s','type':0,'error':3}", t2);
  assert_quiet (f);

  /* an answer in time cancels the deadline */
  feed (c1, "{'requestId':'third','type':3,'function':'svc.slow'}");
  t3 = pop_call (svc, "slow", "{}", "c1");
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 1);
  feedf (svc, "{'requestId':'%s','type':4,'data':3}", t3);
  pop_response (c1, "third", "3");
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 0);
  iterate_pending_sources ();
  assert_quiet (f);

  /* 0 means calls never time out */
  juno_broker_set_call_timeout (f->broker, 0);
  feed (c2, "{'requestId':'fourth','type':3,'function':'svc.slow'}");
  t4 = pop_call (svc, "slow", "{}", "c2");
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 1);
  feedf (svc, "{'requestId':'%s','type':4}", t4);
  pop_response (c2, "fourth", "null");
  g_assert_cmpuint (stats->calls_timed_out, ==, 2);
  assert_quiet (f);
}

static void
test_call_max_in_flight (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *greedy = add_module (f, "greedy");
  FakePeer *polite = add_module (f, "polite");
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *tp = NULL;
  guint max_calls = 0;

  juno_broker_set_max_calls_in_flight (f->broker, 2);
  g_object_get (f->broker, "max-calls-in-flight", &max_calls, NULL);
  g_assert_cmpuint (max_calls, ==, 2);
  declare (svc, "f");
  feed (greedy, "{'requestId':'g1','type':3,'function':'svc.f'}");
  feed (greedy, "{'requestId':'g2','type':3,'function':'svc.f'}");
  t1 = pop_call (svc, "f", "{}", "greedy");
  t2 = pop_call (svc, "f", "{}", "greedy");
  feed (greedy, "{'requestId':'g3','type':3,'function':'svc.f'}");
  pop_error (greedy, "g3", 11);
  f->expected_warnings = 1;
  assert_quiet (f);

  /* the limit is per caller */
  feed (polite, "{'requestId':'p1','type':3,'function':'svc.f'}");
  tp = pop_call (svc, "f", "{}", "polite");
  /* the built-in module answers at once and is not limited */
  feed (greedy, "{'requestId':'g-list','type':3,'function':'juno.listModules'}");
  json_object_unref (pop_message (greedy, 4, "g-list"));

  /* an answer frees a slot */
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", t1);
  pop_response (greedy, "g1", "1");
  feed (greedy, "{'requestId':'g4','type':3,'function':'svc.f'}");
  t3 = pop_call (svc, "f", "{}", "greedy");
  assert_quiet (f);
}


static void
test_call_timeout_lowered (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *patient = add_module (f, "patient");
  FakePeer *hasty = add_module (f, "hasty");
  g_autofree char *t1 = NULL, *t2 = NULL;

  declare (svc, "f");
  juno_broker_set_call_timeout (f->broker, (guint64) 3600 * G_USEC_PER_SEC);
  feed (patient, "{'requestId':'p','type':3,'function':'svc.f'}");
  t1 = pop_call (svc, "f", "{}", "patient");
  /* applies to calls made from now on, even behind a call that waits longer */
  juno_broker_set_call_timeout (f->broker, SHORT_TIMEOUT_USEC);
  feed (hasty, "{'requestId':'h','type':3,'function':'svc.f'}");
  t2 = pop_call (svc, "f", "{}", "hasty");
  wait_for_output (hasty);
  pop_error (hasty, "h", 9);
  assert_quiet (f);
  feedf (svc, "{'requestId':'%s','type':4,'data':'done'}", t1);
  pop_response (patient, "p", "'done'");
  assert_quiet (f);
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/declare", test_declare);
  ADD ("/core/broker/call/route", test_call_route);
  ADD ("/core/broker/call/request-id-length", test_call_request_id_length);
  ADD ("/core/broker/call/same-request-id", test_call_same_request_id);
  ADD ("/core/broker/call/callee-error", test_call_callee_error);
  ADD ("/core/broker/call/foreign-token", test_call_foreign_token);
  ADD ("/core/broker/call/self", test_call_self);
  ADD ("/core/broker/call/callee-disconnected", test_call_callee_disconnected);
  ADD ("/core/broker/call/timeout", test_call_timeout);
  ADD ("/core/broker/call/max-in-flight", test_call_max_in_flight);
  ADD ("/core/broker/call/timeout-lowered", test_call_timeout_lowered);
  return broker_test_run ();
}
