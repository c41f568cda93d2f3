/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-errors.c: the broker core through fake endpoints: error replies, table-driven
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

/* ------------------------------------------------------------------ */
/* Error replies, table-driven                                         */
/* ------------------------------------------------------------------ */

typedef enum
{
  SENDER_NEW,      /* connected, not registered */
  SENDER_ACTIVE,   /* registered as "me", active */
  SENDER_INACTIVE, /* registered as "me", waiting for module "missing" */
} SenderState;

#define NO_REPLY (-1)
#define ID_129 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Sent into a world with an active module "svc" that declared "fn" and a
 * registered but inactive module "sleepy" that declared "fn" too. */
static const struct ErrorCase
{
  const char *name;
  SenderState sender;
  const char *line;  /* single quotes for double quotes, unless raw */
  gsize raw_len;     /* > 0: the line is fed verbatim, this long */
  guint depth;       /* > 0: a "data" value nested this deep is appended */
  const char *request_id;
  int error;         /* NO_REPLY: the line is dropped without an answer */
} error_cases[] = {
  /* the checks every line goes through, in order */
  { "not-json", SENDER_NEW, "{'requestId':'r','type':1", 0, 0, NULL, NO_REPLY },
  { "not-json-single-quotes", SENDER_ACTIVE, "{'requestId':'r','type':9}", 26, 0, NULL, NO_REPLY },
  { "empty-line", SENDER_ACTIVE, "", 0, 0, NULL, NO_REPLY },
  { "invalid-utf8", SENDER_NEW, "{\"requestId\":\"\xff\",\"type\":1}", 25, 0, "undefined", 0 },
  { "overlong-utf8", SENDER_ACTIVE, "{\"requestId\":\"\xc0\xaf\",\"type\":9}", 26, 0, "undefined", 0 },
  { "nul-byte", SENDER_ACTIVE, "{\"requestId\":\"a\0\",\"type\":9}", 25, 0, "undefined", 0 },
  { "too-deep", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':'ev','data':", 0, JUNO_JSON_MAX_DEPTH, "undefined", 0 },
  { "too-deep-unterminated", SENDER_ACTIVE, "[", 0, JUNO_JSON_MAX_DEPTH, "undefined", 0 },
  { "not-object-array", SENDER_NEW, "[{'requestId':'r','type':1}]", 0, 0, "undefined", 0 },
  { "not-object-string", SENDER_ACTIVE, "'x'", 0, 0, "undefined", 0 },
  { "not-object-null", SENDER_ACTIVE, "null", 0, 0, "undefined", 0 },
  { "request-id-missing", SENDER_NEW, "{'type':1,'moduleId':'x','version':'1.0.0'}", 0, 0, "undefined", 1 },
  { "request-id-number", SENDER_ACTIVE, "{'requestId':5,'type':9,'function':'f'}", 0, 0, "undefined", 1 },
  { "request-id-null", SENDER_ACTIVE, "{'requestId':null,'type':9,'function':'f'}", 0, 0, "undefined", 1 },
  { "request-id-object", SENDER_ACTIVE, "{'requestId':{'a':'b'},'type':9}", 0, 0, "undefined", 1 },
  { "request-id-before-type", SENDER_ACTIVE, "{'type':99}", 0, 0, "undefined", 1 },
  { "type-missing", SENDER_ACTIVE, "{'requestId':'r'}", 0, 0, "r", 2 },
  { "type-string", SENDER_ACTIVE, "{'requestId':'r','type':'9','function':'f'}", 0, 0, "r", 2 },
  { "type-fraction", SENDER_ACTIVE, "{'requestId':'r','type':9.0,'function':'f'}", 0, 0, "r", 2 },
  { "type-exponent", SENDER_ACTIVE, "{'requestId':'r','type':9e0,'function':'f'}", 0, 0, "r", 2 },
  { "type-negative", SENDER_ACTIVE, "{'requestId':'r','type':-1}", 0, 0, "r", 2 },
  { "type-eleven", SENDER_ACTIVE, "{'requestId':'r','type':11}", 0, 0, "r", 2 },
  { "type-huge", SENDER_ACTIVE, "{'requestId':'r','type':9223372036854775807}", 0, 0, "r", 2 },
  /* numbers json-glib cannot represent: error 0, with the id when it is readable */
  { "number-range-type", SENDER_ACTIVE, "{'requestId':'r','type':99999999999999999999}", 0, 0, "r", 0 },
  { "number-range-call", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.fn','arguments':{'n':1e400}}", 0, 0, "r", 0 },
  { "number-range-negative", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':'ev','data':[-1e400]}", 0, 0, "r", 0 },
  { "number-range-before-id", SENDER_ACTIVE, "{'data':18446744073709551616,'requestId':'r','type':7,'hook':'ev'}", 0, 0, "r", 0 },
  { "number-range-no-id", SENDER_ACTIVE, "{'type':3,'arguments':{'n':1e400}}", 0, 0, "undefined", 0 },
  { "number-range-not-object", SENDER_ACTIVE, "[1e400]", 0, 0, "undefined", 0 },
  { "type-null", SENDER_NEW, "{'requestId':'r','type':null}", 0, 0, "r", 2 },
  { "type-2-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':2}", 0, 0, "r", 2 },
  { "type-6-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':6}", 0, 0, "r", 2 },
  { "type-8-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':8,'hook':'svc.ev','data':{}}", 0, 0, "r", 2 },
  { "type-10-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':10,'function':'fn'}", 0, 0, "r", 2 },
  { "request-id-echoed-verbatim", SENDER_ACTIVE, "{'requestId':'a\\\"b\\\\c\\u00e9','type':99}", 0, 0, "a\"b\\c\xc3\xa9", 2 },
  { "request-id-empty", SENDER_ACTIVE, "{'requestId':'','type':99}", 0, 0, "", 2 },
  /* register (1) */
  { "register-twice", SENDER_ACTIVE, "{'requestId':'r','type':1,'moduleId':'other','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-twice-inactive", SENDER_INACTIVE, "{'requestId':'r','type':1,'moduleId':'other','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-module-id-missing", SENDER_NEW, "{'requestId':'r','type':1,'version':'1.0.0'}", 0, 0, "r", 0 },
  { "register-module-id-number", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':5,'version':'1.0.0'}", 0, 0, "r", 0 },
  { "register-module-id-empty", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-dot", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a.b','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-space", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a b','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-slash", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a/b','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-nul", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a\\u0000','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-non-ascii", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'\\u00e9','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-129", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'" ID_129 "','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-before-version", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a.b'}", 0, 0, "r", 6 },
  { "register-juno", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'juno','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'svc','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken-by-inactive", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'sleepy','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken-escaped", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'\\u0073vc','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken-before-version", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'svc'}", 0, 0, "r", 7 },
  { "register-version-missing", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x'}", 0, 0, "r", 0 },
  { "register-version-number", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':1}", 0, 0, "r", 0 },
  { "register-version-short", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.2'}", 0, 0, "r", 0 },
  { "register-version-v", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'v1.0.0'}", 0, 0, "r", 0 },
  { "register-version-nul", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0\\u0000'}", 0, 0, "r", 0 },
  { "register-deps-array", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':[]}", 0, 0, "r", 0 },
  { "register-deps-string", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':'svc'}", 0, 0, "r", 0 },
  { "register-deps-value-number", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':1}}", 0, 0, "r", 0 },
  { "register-deps-value-null", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':null}}", 0, 0, "r", 0 },
  { "register-deps-bad-requirement", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':'one'}}", 0, 0, "r", 0 },
  { "register-deps-nul-name", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc\\u0000':'1.0.0'}}", 0, 0, "r", 0 },
  { "register-deps-nul-requirement", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':'1.0.0\\u0000'}}", 0, 0, "r", 0 },
  { "register-deps-last-bad", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':'1.0.0','svc':'one'}}", 0, 0, "r", 0 },
  { "register-deps-value-object", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':{'v':'1'}}}", 0, 0, "r", 0 },
  { "register-deps-bad-name", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'a.b':'1.0.0'}}", 0, 0, "r", 0 },
  /* not registered or not active (3) */
  { "declare-unregistered", SENDER_NEW, "{'requestId':'r','type':9,'function':'f'}", 0, 0, "r", 3 },
  /* a missing or ill-typed key is found before the module's state */
  { "declare-unregistered-no-function", SENDER_NEW, "{'requestId':'r','type':9}", 0, 0, "r", 0 },
  { "declare-unregistered-bad-name", SENDER_NEW, "{'requestId':'r','type':9,'function':'a.b'}", 0, 0, "r", 3 },
  { "listen-unregistered-no-hook", SENDER_NEW, "{'requestId':'r','type':5}", 0, 0, "r", 0 },
  { "listen-unregistered-bad-hook", SENDER_NEW, "{'requestId':'r','type':5,'hook':'nodot'}", 0, 0, "r", 3 },
  { "trigger-unregistered-hook-number", SENDER_NEW, "{'requestId':'r','type':7,'hook':1}", 0, 0, "r", 0 },
  { "trigger-unregistered-juno", SENDER_NEW, "{'requestId':'r','type':7,'hook':'juno.moduleActivated'}", 0, 0, "r", 13 },
  { "call-unregistered-function-number", SENDER_NEW, "{'requestId':'r','type':3,'function':[]}", 0, 0, "r", 0 },
  { "call-unregistered-bad-function", SENDER_NEW, "{'requestId':'r','type':3,'function':'nodot'}", 0, 0, "r", 3 },
  { "call-unregistered", SENDER_NEW, "{'requestId':'r','type':3,'function':'svc.fn'}", 0, 0, "r", 3 },
  { "listen-unregistered-too-many-dots", SENDER_NEW, "{'requestId':'r','type':5,'hook':'svc.ev.x'}", 0, 0, "r", 3 },
  { "trigger-unregistered", SENDER_NEW, "{'requestId':'r','type':7,'hook':'ev'}", 0, 0, "r", 3 },
  { "declare-inactive", SENDER_INACTIVE, "{'requestId':'r','type':9,'function':'f'}", 0, 0, "r", 3 },
  { "call-inactive", SENDER_INACTIVE, "{'requestId':'r','type':3,'function':'svc.fn'}", 0, 0, "r", 3 },
  { "call-inactive-no-function", SENDER_INACTIVE, "{'requestId':'r','type':3}", 0, 0, "r", 0 },
  { "call-inactive-unknown-module", SENDER_INACTIVE, "{'requestId':'r','type':3,'function':'nobody.fn'}", 0, 0, "r", 3 },
  { "listen-inactive", SENDER_INACTIVE, "{'requestId':'r','type':5,'hook':'svc.ev'}", 0, 0, "r", 3 },
  { "trigger-inactive", SENDER_INACTIVE, "{'requestId':'r','type':7,'hook':'ev'}", 0, 0, "r", 3 },
  /* declare (9) */
  { "declare-function-missing", SENDER_ACTIVE, "{'requestId':'r','type':9}", 0, 0, "r", 0 },
  { "declare-function-number", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':1}", 0, 0, "r", 0 },
  { "declare-function-dotted", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':'me.f'}", 0, 0, "r", 5 },
  { "declare-function-empty", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':''}", 0, 0, "r", 5 },
  { "declare-function-dash", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':'a-b'}", 0, 0, "r", 5 },
  { "declare-function-nul", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':'f\\u0000'}", 0, 0, "r", 5 },
  /* call (3) */
  { "call-function-missing", SENDER_ACTIVE, "{'requestId':'r','type':3}", 0, 0, "r", 0 },
  { "call-function-number", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':3}", 0, 0, "r", 0 },
  { "call-no-dot", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svcfn'}", 0, 0, "r", 5 },
  { "call-two-dots", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.fn.x'}", 0, 0, "r", 5 },
  { "call-empty-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'.fn'}", 0, 0, "r", 5 },
  { "call-empty-function", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.'}", 0, 0, "r", 5 },
  { "call-bad-function-char", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.f-n'}", 0, 0, "r", 5 },
  { "call-bad-module-char", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'s/vc.fn'}", 0, 0, "r", 5 },
  { "call-malformed-unknown-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'nobody.f-n'}", 0, 0, "r", 5 },
  { "call-unknown-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'nobody.fn'}", 0, 0, "r", 4 },
  { "call-inactive-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'sleepy.fn'}", 0, 0, "r", 4 },
  { "call-undeclared", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.other'}", 0, 0, "r", 5 },
  { "call-juno-undeclared", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'juno.nope'}", 0, 0, "r", 5 },
  /* listen_hook (5) */
  { "listen-hook-missing", SENDER_ACTIVE, "{'requestId':'r','type':5}", 0, 0, "r", 0 },
  { "listen-hook-number", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':5}", 0, 0, "r", 0 },
  { "listen-no-dot", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'svc'}", 0, 0, "r", 0 },
  { "listen-two-dots", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'svc.a.b'}", 0, 0, "r", 0 },
  { "listen-empty-hook", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'svc.'}", 0, 0, "r", 0 },
  { "listen-empty-module", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'.ev'}", 0, 0, "r", 0 },
  { "listen-bad-module", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'s v.ev'}", 0, 0, "r", 0 },
  /* trigger (7) */
  { "trigger-hook-missing", SENDER_ACTIVE, "{'requestId':'r','type':7}", 0, 0, "r", 0 },
  { "trigger-hook-number", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':7}", 0, 0, "r", 0 },
  { "trigger-hook-empty", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':''}", 0, 0, "r", 0 },
  { "trigger-hook-dotted", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':'me.ev'}", 0, 0, "r", 0 },
  /* answers (4, 0) that match no call of the sender */
  { "answer-unknown-token", SENDER_ACTIVE, "{'requestId':'j999','type':4,'data':1}", 0, 0, "j999", 1 },
  { "answer-not-a-token", SENDER_ACTIVE, "{'requestId':'abc','type':4,'data':1}", 0, 0, "abc", 1 },
  { "answer-token-zero", SENDER_ACTIVE, "{'requestId':'j0','type':4}", 0, 0, "j0", 1 },
  { "answer-unregistered", SENDER_NEW, "{'requestId':'j1','type':4}", 0, 0, "j1", 1 },
  { "error-answer-unknown-token", SENDER_ACTIVE, "{'requestId':'j999','type':0,'error':3}", 0, 0, "j999", 1 },
  { "error-answer-not-a-token", SENDER_ACTIVE, "{'requestId':'abc','type':0,'error':3}", 0, 0, "abc", 1 },
};

static char *
error_case_line (const struct ErrorCase *c, gsize *len)
{
  GString *line = g_string_new (NULL);

  if (c->raw_len > 0)
    {
      g_string_append_len (line, c->line, (gssize) c->raw_len);
      *len = line->len;
      return g_string_free (line, FALSE);
    }

  g_string_append (line, c->line);
  if (c->depth > 0)
    {
      /* @depth more containers inside whatever the line opened */
      for (guint i = 0; i < c->depth; i++)
        g_string_append_c (line, '[');
      for (guint i = 0; i < c->depth; i++)
        g_string_append_c (line, ']');
      if (c->line[0] == '{')
        g_string_append_c (line, '}');
    }
  g_strdelimit (line->str, "'", '"');
  *len = line->len;
  return g_string_free (line, FALSE);
}

static void
test_error_case (gconstpointer data)
{
  const struct ErrorCase *c = data;
  Fixture fixture = { 0 }, *f = &fixture;
  FakePeer *svc, *sleepy, *me;
  g_autofree char *line = NULL;
  const JunoStats *stats;
  guint64 errors_before;
  gsize len = 0;

  fixture_set_up (f, NULL);
  svc = add_module (f, "svc");
  declare (svc, "fn");
  sleepy = peer_new (f);
  register_module (sleepy, "sleepy", "1.0.0", "{'missing':'^1.0.0'}");
  me = peer_new (f);
  if (c->sender == SENDER_ACTIVE)
    {
      register_module (me, "me", "1.0.0", NULL);
      pop_hook (me, "juno.activated", "{}");
    }
  else if (c->sender == SENDER_INACTIVE)
    register_module (me, "me", "1.0.0", "{'missing':'^1.0.0'}");
  assert_quiet (f);
  stats = juno_broker_get_stats (f->broker);
  errors_before = stats->errors_sent;

  line = error_case_line (c, &len);
  {
    /* the TAP stream must stay valid UTF-8 */
    g_autofree char *shown = g_utf8_make_valid (line, (gssize) MIN (len, 200));

    g_test_message ("line: %s", shown);
  }
  feed_raw (me, line, len);

  if (c->error == NO_REPLY)
    g_assert_cmpuint (stats->errors_sent, ==, errors_before);
  else
    {
      pop_error (me, c->request_id, c->error);
      g_assert_cmpuint (stats->errors_sent, ==, errors_before + 1);
    }
  assert_quiet (f);
  /* the connection stays usable */
  if (c->sender == SENDER_NEW)
    {
      register_module (me, "late", "1.0.0", NULL);
      pop_hook (me, "juno.activated", "{}");
    }
  else
    {
      feed (me, "{'requestId':'after','type':99}");
      pop_error (me, "after", 2);
    }
  g_assert_true (module_is_active (f, "svc"));
  g_assert_false (module_is_active (f, "sleepy"));
  assert_quiet (f);
  fixture_tear_down (f, NULL);
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/broker/errors/%s", error_cases[i].name);

      g_test_add_data_func (path, &error_cases[i], test_error_case);
    }
  return broker_test_run ();
}
