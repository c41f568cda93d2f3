/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-limits.c: the broker core through fake endpoints: names per
 * module, discovery answers within the line limit, one spelling per call
 * token, carriage returns and byte-order marks (the fixture is in
 * broker-fixture.c) */
#include "broker-fixture.h"

static void
test_limits_names (Fixture *f, gconstpointer data)
{
  FakePeer *m;
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  g_autoptr(JsonObject) info = NULL;

  juno_broker_set_name_limits (f->broker, 3, 8);
  m = add_module (f, "m");
  declare (m, "a");
  declare (m, "b");
  listen_hook (m, "x.y");
  /* again: held already, not counted */
  declare (m, "a");
  feed (m, "{'requestId':'c','type':9,'function':'c'}");
  pop_error (m, "c", JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
  feed (m, "{'requestId':'h','type':5,'hook':'x.z'}");
  pop_error (m, "h", JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
  g_assert_cmpuint (stats->limits_reached, ==, 2);
  f->expected_warnings = 2;

  info = module_info (f, "m");
  assert_member_json (info, "declaredFunctions", "[\"a\",\"b\"]");
  assert_member_json (info, "registeredHooks", "[\"x.y\"]");
  assert_quiet (f);
}

static void
test_limits_name_length (Fixture *f, gconstpointer data)
{
  FakePeer *m;

  juno_broker_set_name_limits (f->broker, 100, 8);
  m = add_module (f, "m");
  declare (m, "abcdefgh");
  feed (m, "{'requestId':'f','type':9,'function':'abcdefghi'}");
  pop_error (m, "f", JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
  listen_hook (m, "abc.defg");
  feed (m, "{'requestId':'h','type':5,'hook':'abc.defgh'}");
  pop_error (m, "h", JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
  f->expected_warnings = 2;
  assert_quiet (f);
}

/* Pages through juno.listModules as @caller; returns the moduleIds seen. */
static GPtrArray *
list_all_pages (FakePeer *caller, gsize limit, guint *n_pages)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *after = NULL;

  *n_pages = 0;
  for (;;)
    {
      g_autoptr(JsonObject) answer = NULL;
      const char *line;
      JsonArray *page;

      if (after != NULL)
        feedf (caller, "{'requestId':'p','type':3,'function':'juno.listModules','arguments':{'after':'%s'}}", after);
      else
        feed (caller, "{'requestId':'p','type':3,'function':'juno.listModules'}");
      line = g_ptr_array_index (caller->lines, caller->next);
      g_assert_cmpuint (strlen (line), <=, limit);
      answer = pop_message (caller, JUNO_MSG_FUNCTION_RESPONSE, "p");
      page = json_object_get_array_member (answer, "data");
      g_assert_cmpuint (json_array_get_length (page), >, 0);
      for (guint i = 0; i < json_array_get_length (page); i++)
        g_ptr_array_add (ids, g_strdup (json_object_get_string_member (json_array_get_object_element (page, i),
                                                                      "moduleId")));
      (*n_pages)++;
      g_assert_cmpuint (*n_pages, <, 100);
      if (!json_object_has_member (answer, "next"))
        return ids;
      g_free (after);
      after = g_strdup (json_object_get_string_member (answer, "next"));
      g_assert_cmpstr (after, ==, g_ptr_array_index (ids, ids->len - 1));
    }
}

static void
test_limits_list_modules_paged (Fixture *f, gconstpointer data)
{
  const gsize limit = 2048;
  g_autoptr(GPtrArray) ids = NULL;
  FakePeer *caller;
  guint n_pages;

  juno_broker_set_max_message_size (f->broker, limit);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *id = g_strdup_printf ("mod%02u", i);
      FakePeer *m = add_module (f, id);

      for (guint j = 0; j < 5; j++)
        {
          g_autofree char *fn = g_strdup_printf ("function_with_a_long_name_%u", j);

          declare (m, fn);
        }
    }
  caller = add_module (f, "zz");
  ids = list_all_pages (caller, limit, &n_pages);
  g_assert_cmpuint (ids->len, ==, 22);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, "juno");
  g_assert_cmpstr (g_ptr_array_index (ids, 1), ==, "mod00");
  g_assert_cmpstr (g_ptr_array_index (ids, 20), ==, "mod19");
  g_assert_cmpstr (g_ptr_array_index (ids, 21), ==, "zz");
  g_assert_cmpuint (n_pages, >, 1);
  assert_quiet (f);
}

static void
test_limits_module_object_fits (Fixture *f, gconstpointer data)
{
  const gsize limit = 1024;
  FakePeer *m;
  guint accepted = 0;

  juno_broker_set_max_message_size (f->broker, limit);
  m = add_module (f, "m");
  for (guint i = 0; i < 100; i++)
    {
      feedf (m, "{'requestId':'d','type':9,'function':'f%03u_padding_padding'}", i);
      if (strstr (g_ptr_array_index (m->lines, m->next), "\"type\":0") != NULL)
        {
          pop_error (m, "d", JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
          break;
        }
      json_object_unref (pop_message (m, JUNO_MSG_FUNCTION_DECLARED, "d"));
      accepted++;
    }
  g_assert_cmpuint (accepted, >, 10);
  g_assert_cmpuint (accepted, <, 100);
  f->expected_warnings = 1;
  feed (m, "{'requestId':'i','type':3,'function':'juno.getModuleInfo','arguments':{'moduleId':'m'}}");
  g_assert_cmpuint (strlen (g_ptr_array_index (m->lines, m->next)), <=, limit);
  json_object_unref (pop_message (m, JUNO_MSG_FUNCTION_RESPONSE, "i"));
  assert_quiet (f);
}

/* Spellings of a live token ("j<n>") that must not answer its call: a
 * prefix, then the token or its digits, then a suffix. */
static const struct
{
  const char *prefix;
  gboolean digits_only;
  const char *suffix;
} token_aliases[] = {
  { "j0", TRUE, "" },                     /* a leading zero */
  { "j000000000000000000", TRUE, "" },    /* many */
  { "", FALSE, " " },                     /* a trailing space */
  { " ", FALSE, "" },
};

static void
test_limits_token_spelling (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  g_autofree char *token = NULL;
  guint64 n;

  declare (svc, "f");
  feed (caller, "{'requestId':'c1','type':3,'function':'svc.f'}");
  token = pop_call (svc, "f", "{}", "caller");
  g_assert_true (token[0] == 'j');
  n = g_ascii_strtoull (token + 1, NULL, 10);

  for (guint i = 0; i < G_N_ELEMENTS (token_aliases); i++)
    {
      g_autofree char *alias = g_strconcat (token_aliases[i].prefix,
                                            token_aliases[i].digits_only ? token + 1 : token,
                                            token_aliases[i].suffix, NULL);

      feedf (svc, "{'requestId':'%s','type':4,'data':'alias'}", alias);
      pop_error (svc, alias, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
    }
  /* the token plus 2^64 (and 2^65): 20 digits, past the 64-bit range */
  {
    static const char *const plus[] = { "18446744073709551616", "36893488147419103232" };

    for (guint i = 0; i < G_N_ELEMENTS (plus); i++)
      {
        /* n is small: adding it to the last digits keeps the decimal sum exact */
        g_autofree char *alias = NULL;
        guint64 low = g_ascii_strtoull (plus[i] + 10, NULL, 10) + n;

        alias = g_strdup_printf ("j%.10s%010" G_GUINT64_FORMAT, plus[i], low);
        feedf (svc, "{'requestId':'%s','type':4,'data':'alias'}", alias);
        pop_error (svc, alias, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
      }
  }
  /* an escaped 'j' */
  feedf (svc, "{'requestId':'\\u006a%s','type':4,'data':'alias'}", token + 1);
  pop_error (svc, token, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
  assert_no_output (caller);

  feedf (svc, "{'requestId':'%s','type':4,'data':'real'}", token);
  pop_response (caller, "c1", "'real'");
  assert_quiet (f);
}

static void
test_limits_carriage_return (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *m = add_module (f, "m");
  static const char cr[] = "{\"requestId\":\"c\",\"type\":3,\"function\":\"svc.f\",\"arguments\":{\"x\":\r1}}";
  static const char bom[] = "\xef\xbb\xbf{\"requestId\":\"b\",\"type\":9,\"function\":\"g\"}\r";

  declare (svc, "f");
  feed_raw (m, cr, sizeof cr - 1);
  pop_error (m, "undefined", JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST);
  assert_no_output (svc);
  feed_raw (m, bom, sizeof bom - 1);
  json_object_unref (pop_message (m, JUNO_MSG_FUNCTION_DECLARED, "b"));
  assert_quiet (f);
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/limits/names", test_limits_names);
  ADD ("/core/broker/limits/name-length", test_limits_name_length);
  ADD ("/core/broker/limits/list-modules-paged", test_limits_list_modules_paged);
  ADD ("/core/broker/limits/module-object-fits", test_limits_module_object_fits);
  ADD ("/core/broker/limits/token-spelling", test_limits_token_spelling);
  ADD ("/core/broker/limits/carriage-return", test_limits_carriage_return);
  return broker_test_run ();
}
