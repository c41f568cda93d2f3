/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-client.c: libjuno against the real broker
 *
 * Each test starts its own broker (juno-test-broker.c) and drives one or
 * more JunoClients in the test's main context.
 */
#include "config.h"

#include <juno.h>
#include <math.h>

#include "juno-test-broker.h"

typedef struct
{
  JunoTestBroker *broker;
} Fixture;

/* g_test_expect_message() does not see structured logs before GLib 2.76,
 * so expected warnings are matched by our writer. */
static const char *expected_warning;
static guint expected_warning_seen;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (expected_warning != NULL && (level & G_LOG_LEVEL_WARNING))
    for (gsize i = 0; i < n_fields; i++)
      if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0 &&
          g_pattern_match_simple (expected_warning, fields[i].value))
        {
          expected_warning_seen++;
          return G_LOG_WRITER_HANDLED;
        }
  return g_log_writer_default (level, fields, n_fields, data);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->broker = juno_test_broker_new ();
  juno_test_broker_start (f->broker, data != NULL, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->broker, juno_test_broker_free);
}

static JunoClient *
new_client (Fixture *f, const char *module_id)
{
  JunoClient *client = juno_client_new (module_id, "1.0.0");

  juno_client_set_address (client, f->broker->socket_path);
  return client;
}

static JunoClient *
connect_client (Fixture *f, const char *module_id)
{
  g_autoptr(JunoClient) client = new_client (f, module_id);
  g_autoptr(GError) error = NULL;

  g_assert_true (juno_client_connect_sync (client, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (juno_client_get_active (client));
  return g_steal_pointer (&client);
}

static JsonNode *
json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  return node;
}

static void
assert_json (JsonNode *node, const char *expected)
{
  g_autofree char *text = json_to_string (node, FALSE);

  g_assert_cmpstr (text, ==, expected);
}

/* Calls answered by another client of this thread. A synchronous call does
 * not run this thread's context, where that client answers, so these wait
 * for the asynchronous forms instead. */
static JsonNode *
call_here (JunoClient *client, const char *function, JsonNode *arguments, int timeout_msec,
           GCancellable *cancellable, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  juno_client_call_async (client, function, arguments, timeout_msec, cancellable,
                          juno_test_on_result, &result);
  juno_test_wait_result (&result);
  return juno_client_call_finish (client, result, error);
}

static JsonNode *
call_json_here (JunoClient *client, const char *function, const char *arguments, int timeout_msec,
                GCancellable *cancellable, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  juno_client_call_json_async (client, function, arguments, timeout_msec, cancellable,
                               juno_test_on_result, &result);
  juno_test_wait_result (&result);
  return juno_client_call_json_finish (client, result, error);
}

/* Function handlers ---------------------------------------------------- */

static void
handle_echo (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) result = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "caller");
  json_builder_add_string_value (builder, juno_invocation_get_caller (invocation));
  json_builder_set_member_name (builder, "function");
  json_builder_add_string_value (builder, juno_invocation_get_function (invocation));
  json_builder_set_member_name (builder, "arguments");
  json_builder_add_value (builder, json_node_copy (juno_invocation_get_arguments (invocation)));
  json_builder_end_object (builder);
  result = json_builder_get_root (builder);
  juno_invocation_return_value (invocation, result);
  g_assert_true (juno_invocation_get_answered (invocation));
}

static void
handle_fail (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  JsonObject *arguments = json_node_get_object (juno_invocation_get_arguments (invocation));

  juno_invocation_return_error (invocation, (int) json_object_get_int_member (arguments, "code"));
}

static void
handle_hold (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  GPtrArray *held = user_data;

  g_ptr_array_add (held, g_object_ref (invocation));
}

static void
handle_drop (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
}

static void
count_signal (gpointer instance, gpointer user_data)
{
  (*(int *) user_data)++;
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(int *) user_data)++;
}

/* Connecting ------------------------------------------------------------ */

static void
test_connect_unix (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) client = new_client (f, "alpha");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  int activated = 0, notified = 0;

  g_signal_connect (client, "activated", G_CALLBACK (count_signal), &activated);
  g_signal_connect (client, "notify::active", G_CALLBACK (count_notify), &notified);
  g_assert_false (juno_client_get_active (client));
  juno_client_connect_async (client, NULL, juno_test_on_result, &result);
  juno_test_wait_result (&result);
  g_assert_true (juno_client_connect_finish (client, result, &error));
  g_assert_no_error (error);
  g_assert_true (juno_client_get_active (client));
  g_assert_cmpint (activated, ==, 1);
  g_assert_cmpint (notified, ==, 1);
  g_assert_cmpstr (juno_client_get_module_id (client), ==, "alpha");
  g_assert_cmpstr (juno_client_get_version (client), ==, "1.0.0");

  /* A second connect while connected is refused. */
  g_clear_object (&result);
  juno_client_connect_async (client, NULL, juno_test_on_result, &result);
  juno_test_wait_result (&result);
  g_assert_false (juno_client_connect_finish (client, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
}

static void
test_connect_tcp (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) client = juno_client_new ("alpha", "1.0.0");
  g_autoptr(JsonNode) modules = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", f->broker->port);

  g_assert_cmpuint (f->broker->port, >, 0);
  juno_client_set_address (client, address);
  g_assert_true (juno_client_connect_sync (client, NULL, &error));
  g_assert_no_error (error);
  modules = juno_client_call_sync (client, "juno.listModules", NULL, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (modules)), ==, 2);
}

static void
test_connect_default (void)
{
  g_autoptr(JunoTestBroker) broker = juno_test_broker_new ();
  g_autoptr(JunoClient) client = juno_client_new ("alpha", "1.0.0");
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("XDG_RUNTIME_DIR"));
  g_autofree char *address = NULL;

  juno_test_broker_start (broker, FALSE, broker->dir);
  g_setenv ("XDG_RUNTIME_DIR", broker->dir, TRUE);
  address = juno_default_address ();
  g_assert_cmpstr (address, ==, broker->socket_path);
  g_assert_null (juno_client_get_address (client));
  g_assert_true (juno_client_connect_sync (client, NULL, &error));
  g_assert_no_error (error);
  if (saved != NULL)
    g_setenv ("XDG_RUNTIME_DIR", saved, TRUE);
  else
    g_unsetenv ("XDG_RUNTIME_DIR");
}

static void
test_connect_no_broker (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) client = juno_client_new ("alpha", "1.0.0");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->broker->dir, "nothing.sock", NULL);
  g_autoptr(JsonNode) result = NULL;

  juno_client_set_address (client, path);
  g_assert_false (juno_client_connect_sync (client, NULL, &error));
  g_assert_true (error != NULL && error->domain == G_IO_ERROR);
  g_assert_false (juno_client_get_active (client));
  g_clear_error (&error);

  /* With no connection, requests fail at once. */
  result = juno_client_call_sync (client, "juno.listModules", NULL, -1, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_NOT_CONNECTED);
  g_assert_true (juno_error_is_disconnected (error));
  g_clear_error (&error);

  juno_client_set_address (client, "tcp:nohost");
  g_assert_false (juno_client_connect_sync (client, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
}

static void
test_connect_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) first = connect_client (f, "alpha");
  g_autoptr(JunoClient) second = new_client (f, "alpha");
  g_autoptr(JunoClient) invalid = new_client (f, "a.b");
  g_autoptr(JunoClient) reserved = new_client (f, "juno");
  g_autoptr(GError) error = NULL;

  g_assert_true (juno_client_get_active (first));
  g_assert_false (juno_client_connect_sync (second, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_DUPLICATE_MODULE);
  g_clear_error (&error);
  g_assert_false (juno_client_connect_sync (invalid, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_MODULE_ID);
  g_clear_error (&error);
  g_assert_false (juno_client_connect_sync (reserved, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_DUPLICATE_MODULE);
}

static void
test_connect_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) client = new_client (f, "waiting");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* Never active: its dependency never comes. */
  juno_client_add_dependency (client, "absent", "^1.0.0");
  juno_client_connect_async (client, cancellable, juno_test_on_result, &result);
  g_cancellable_cancel (cancellable);
  juno_test_wait_result (&result);
  g_assert_false (juno_client_connect_finish (client, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (juno_client_get_active (client));
}

static void
test_dependencies (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) dependent = new_client (f, "dependent");
  g_autoptr(JunoClient) provider = NULL;
  g_autoptr(GAsyncResult) connected = NULL;
  g_autoptr(GAsyncResult) called = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) arguments = json ("{\"moduleId\":\"provider\"}");
  int deactivated = 0;

  juno_client_add_dependency (dependent, "provider", "^1.0.0");
  juno_client_connect_async (dependent, NULL, juno_test_on_result, &connected);
  /* Queued until the module is active, then sent. */
  juno_client_call_async (dependent, "juno.getModuleInfo", arguments, -1, NULL,
                          juno_test_on_result, &called);

  provider = new_client (f, "provider");
  g_assert_true (juno_client_declare_function (provider, "echo", handle_echo, NULL, NULL, &error));
  g_assert_true (juno_client_connect_sync (provider, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (juno_client_roundtrip_sync (provider, NULL, &error));

  juno_test_wait_result (&connected);
  g_assert_true (juno_client_connect_finish (dependent, connected, &error));
  g_assert_true (juno_client_get_active (dependent));
  juno_test_wait_result (&called);
  answer = juno_client_call_finish (dependent, called, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (answer), "registered"));
  g_clear_pointer (&answer, json_node_unref);
  answer = call_here (dependent, "provider.echo", NULL, -1, NULL, &error);
  g_assert_no_error (error);
  assert_json (answer, "{\"caller\":\"dependent\",\"function\":\"echo\",\"arguments\":{}}");

  /* The provider leaving deactivates the dependent. */
  g_signal_connect (dependent, "deactivated", G_CALLBACK (count_signal), &deactivated);
  juno_client_close (provider);
  while (juno_client_get_active (dependent))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (deactivated, ==, 1);
}

/* Calls ------------------------------------------------------------------ */

static void
test_call_answers (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) callee = new_client (f, "callee");
  g_autoptr(JunoClient) caller = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) arguments = json ("{\"x\":[1,2,{\"y\":\"z\"}]}");
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GAsyncResult) result = NULL;

  g_assert_true (juno_client_declare_function (callee, "echo", handle_echo, NULL, NULL, &error));
  g_assert_true (juno_client_declare_function (callee, "fail", handle_fail, NULL, NULL, &error));
  g_assert_true (juno_client_declare_function (callee, "hold", handle_hold, held, NULL, &error));
  g_assert_false (juno_client_declare_function (callee, "bad.name", handle_echo, NULL, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (juno_client_connect_sync (callee, NULL, &error));
  caller = connect_client (f, "caller");

  answer = call_here (caller, "callee.echo", arguments, -1, NULL, &error);
  g_assert_no_error (error);
  assert_json (answer, "{\"caller\":\"caller\",\"function\":\"echo\",\"arguments\":{\"x\":[1,2,{\"y\":\"z\"}]}}");
  g_clear_pointer (&answer, json_node_unref);

  /* A module may call itself. */
  answer = juno_client_call_sync (callee, "callee.echo", NULL, -1, NULL, &error);
  g_assert_no_error (error);
  assert_json (answer, "{\"caller\":\"callee\",\"function\":\"echo\",\"arguments\":{}}");
  g_clear_pointer (&answer, json_node_unref);

  /* Answered later, with a value and with NULL (JSON null). */
  juno_client_call_async (caller, "callee.hold", NULL, -1, NULL, juno_test_on_result, &result);
  while (held->len == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (result);
  g_assert_cmpstr (juno_invocation_get_caller (g_ptr_array_index (held, 0)), ==, "caller");
  g_assert_true (juno_invocation_get_client (g_ptr_array_index (held, 0)) == callee);
  juno_invocation_return_value (g_ptr_array_index (held, 0), NULL);
  juno_test_wait_result (&result);
  answer = juno_client_call_finish (caller, result, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_NULL (answer));
  g_clear_pointer (&answer, json_node_unref);

  /* Error answers keep their code, protocol or not. */
  {
    static const int codes[] = { 0, 4, 9, 42 };

    for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
      {
        g_autofree char *text = g_strdup_printf ("{\"code\":%d}", codes[i]);
        g_autoptr(JsonNode) code_arguments = json (text);

        answer = call_here (caller, "callee.fail", code_arguments, -1, NULL, &error);
        g_assert_null (answer);
        g_assert_error (error, JUNO_ERROR, codes[i]);
        g_clear_error (&error);
      }
  }
}

static void
test_call_errors (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) callee = new_client (f, "callee");
  g_autoptr(JunoClient) caller = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  static const struct
  {
    const char *function;
    int code;
  } cases[] = {
    { "nobody.echo", JUNO_ERROR_UNKNOWN_MODULE },
    { "callee.absent", JUNO_ERROR_UNKNOWN_FUNCTION },
    { "nodot", JUNO_ERROR_UNKNOWN_FUNCTION },
    { "callee.drop", JUNO_ERROR_HANDLER_FAILED },
  };

  g_assert_true (juno_client_declare_function (callee, "hold", handle_hold, held, NULL, &error));
  g_assert_true (juno_client_declare_function (callee, "drop", handle_drop, NULL, NULL, &error));
  g_assert_true (juno_client_connect_sync (callee, NULL, &error));
  caller = connect_client (f, "caller");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) answer = NULL;

      expected_warning = "*dropped without an answer*";
      expected_warning_seen = 0;
      answer = call_here (caller, cases[i].function, NULL, -1, NULL, &error);
      expected_warning = NULL;
      g_assert_cmpuint (expected_warning_seen, ==, g_str_equal (cases[i].function, "callee.drop"));
      g_assert_null (answer);
      g_assert_error (error, JUNO_ERROR, cases[i].code);
      g_clear_error (&error);
    }

  /* Arguments and hook data must be objects. */
  {
    g_autoptr(JsonNode) array = json ("[1]");

    g_assert_null (juno_client_call_sync (caller, "callee.hold", array, -1, NULL, &error));
    g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (juno_client_trigger_sync (caller, "x", array, NULL, &error));
    g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* A finite default, a little above the broker's 30 s, settable. */
  g_assert_cmpint (juno_client_get_default_timeout (caller), ==, 35000);
  {
    GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (caller), "default-timeout");

    g_assert_cmpint (G_PARAM_SPEC_INT (pspec)->default_value, ==, 35000);
  }

  /* Client-side timeout; the late answer is then ignored. */
  g_assert_null (call_here (caller, "callee.hold", NULL, 50, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_TIMED_OUT);
  g_assert_true (juno_error_is_timeout (error));
  g_clear_error (&error);
  g_assert_cmpuint (held->len, ==, 1);
  juno_invocation_return_value (g_ptr_array_index (held, 0), NULL);

  juno_client_set_default_timeout (caller, 50);
  g_assert_null (call_here (caller, "callee.hold", NULL, -1, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  juno_client_set_default_timeout (caller, 0);

  /* Cancelled while in flight. */
  juno_client_call_async (caller, "callee.hold", NULL, -1, cancellable, juno_test_on_result, &result);
  while (held->len < 3)
    g_main_context_iteration (NULL, TRUE);
  g_cancellable_cancel (cancellable);
  juno_test_wait_result (&result);
  g_assert_null (juno_client_call_finish (caller, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* Late answers to calls the caller gave up on are harmless. */
  juno_invocation_return_value (g_ptr_array_index (held, 1), NULL);
  juno_invocation_return_error (g_ptr_array_index (held, 2), JUNO_ERROR_UNKNOWN_MODULE);

  /* The roundtrip still works after all that. */
  g_assert_true (juno_client_roundtrip_sync (caller, NULL, &error));
  g_assert_no_error (error);
}

typedef struct
{
  guint answered;
  guint wrong;
} Many;

static void
handle_double (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  JsonObject *arguments = json_node_get_object (juno_invocation_get_arguments (invocation));
  g_autoptr(JsonNode) result = json_node_new (JSON_NODE_VALUE);

  json_node_set_int (result, json_object_get_int_member (arguments, "i") * 2);
  juno_invocation_return_value (invocation, result);
}

typedef struct
{
  Many *many;
  gint64 i;
} ManyCall;

static void
on_many_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ManyCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = juno_client_call_finish (JUNO_CLIENT (source), result, &error);

  g_assert_no_error (error);
  if (json_node_get_int (answer) != call->i * 2)
    call->many->wrong++;
  call->many->answered++;
  g_free (call);
}

static void
test_call_many (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) callee = new_client (f, "callee");
  g_autoptr(JunoClient) caller = NULL;
  g_autoptr(GError) error = NULL;
  Many many = { 0 };
  const guint n = 500;

  g_assert_true (juno_client_declare_function (callee, "double", handle_double, NULL, NULL, &error));
  g_assert_true (juno_client_connect_sync (callee, NULL, &error));
  caller = connect_client (f, "caller");

  /* All in flight at once: each answer must find its own call. */
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"i\":%u}", i);
      g_autoptr(JsonNode) arguments = json (text);
      ManyCall *call = g_new0 (ManyCall, 1);

      call->many = &many;
      call->i = i;
      juno_client_call_async (caller, "callee.double", arguments, -1, NULL, on_many_checked, call);
    }
  while (many.answered < n)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (many.wrong, ==, 0);
}

typedef struct
{
  JsonNode *inner;
  GError *error;
  gboolean done;
} Nested;

/* A synchronous call made from the callback of an asynchronous one: its
 * answer must still be read although the outer callback has not returned. */
static void
on_outer_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Nested *nested = user_data;
  g_autoptr(JsonNode) outer = juno_client_call_finish (JUNO_CLIENT (source), result, &nested->error);

  g_autoptr(JsonNode) arguments = json ("{\"moduleId\":\"callee\"}");

  g_assert_no_error (nested->error);
  g_assert_nonnull (outer);
  /* answered by the broker: a client of this thread could not answer it */
  nested->inner = juno_client_call_sync (JUNO_CLIENT (source), "juno.getModuleInfo", arguments, -1,
                                         NULL, &nested->error);
  nested->done = TRUE;
}

static void
handle_close (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  juno_invocation_return_value (invocation, NULL);
  juno_client_close (client);
}

static void
test_call_nested (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) callee = new_client (f, "callee");
  g_autoptr(JunoClient) caller = NULL;
  g_autoptr(JsonNode) arguments = json ("{\"depth\":1}");
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  Nested nested = { 0 };

  g_assert_true (juno_client_declare_function (callee, "echo", handle_echo, NULL, NULL, &error));
  g_assert_true (juno_client_declare_function (callee, "close", handle_close, NULL, NULL, &error));
  g_assert_true (juno_client_connect_sync (callee, NULL, &error));
  caller = connect_client (f, "caller");

  juno_client_call_async (caller, "callee.echo", arguments, -1, NULL, on_outer_answer, &nested);
  juno_test_wait_flag (&nested.done);
  g_assert_no_error (nested.error);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (nested.inner), "registered"));
  json_node_unref (nested.inner);

  /* A handler may close its own client; the answer goes out first. */
  juno_client_set_reconnect (callee, FALSE);
  answer = call_here (caller, "callee.close", NULL, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_NULL (answer));
  g_assert_false (juno_client_get_active (callee));
}

/* Synchronous calls and the application's context ------------------------ */

/* A module in a thread of its own, with its own context, like another
 * process: "peer.relay" first calls "caller.ping", then answers. */
typedef struct
{
  const char *socket_path;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  GMutex lock;
  GCond cond;
  gboolean ready;
  int ping_answers; /* atomic */
} Peer;

static void
on_peer_ping_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Peer *peer = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = juno_client_call_finish (JUNO_CLIENT (source), result, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_NULL (answer));
  g_atomic_int_inc (&peer->ping_answers);
  g_main_context_wakeup (NULL); /* the test's thread waits for it */
}

static void
handle_relay (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  juno_client_call_async (client, "caller.ping", NULL, -1, NULL, on_peer_ping_answer, user_data);
  juno_invocation_return_value (invocation, NULL);
}

static gpointer
peer_run (gpointer data)
{
  Peer *peer = data;
  g_autoptr(JunoClient) client = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (peer->context);
  client = juno_client_new ("peer", "1.0.0");
  juno_client_set_address (client, peer->socket_path);
  g_assert_true (juno_client_declare_function (client, "relay", handle_relay, peer, NULL, &error));
  g_assert_true (juno_client_connect_sync (client, NULL, &error));
  g_assert_true (juno_client_roundtrip_sync (client, NULL, &error));
  g_mutex_lock (&peer->lock);
  peer->ready = TRUE;
  g_cond_signal (&peer->cond);
  g_mutex_unlock (&peer->lock);
  g_main_loop_run (peer->loop);
  juno_client_close (client);
  g_clear_object (&client);
  g_main_context_pop_thread_default (peer->context);
  return NULL;
}

static void
peer_start (Peer *peer, const char *socket_path)
{
  peer->socket_path = socket_path;
  peer->context = g_main_context_new ();
  peer->loop = g_main_loop_new (peer->context, FALSE);
  g_mutex_init (&peer->lock);
  g_cond_init (&peer->cond);
  peer->thread = g_thread_new ("peer", peer_run, peer);
  g_mutex_lock (&peer->lock);
  while (!peer->ready)
    g_cond_wait (&peer->cond, &peer->lock);
  g_mutex_unlock (&peer->lock);
}

static void
peer_stop (Peer *peer)
{
  g_main_loop_quit (peer->loop);
  g_thread_join (peer->thread);
  g_main_loop_unref (peer->loop);
  g_main_context_unref (peer->context);
  g_mutex_clear (&peer->lock);
  g_cond_clear (&peer->cond);
}

static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
handle_ping (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  juno_invocation_return_value (invocation, NULL);
}

static void
test_sync_private_context (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) caller = new_client (f, "caller");
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  Peer peer = { 0 };
  gboolean idle_ran = FALSE, timeout_ran = FALSE, pinged = FALSE, hooked = FALSE;

  g_assert_true (juno_client_declare_function (caller, "ping", handle_ping, &pinged, NULL, &error));
  g_assert_true (juno_client_listen (caller, "caller.tick", &error));
  g_signal_connect_swapped (caller, "hook-triggered::caller.tick", G_CALLBACK (set_flag), &hooked);
  g_assert_true (juno_client_connect_sync (caller, NULL, &error));
  g_assert_true (juno_client_roundtrip_sync (caller, NULL, &error));
  peer_start (&peer, f->broker->socket_path);

  /* Sources of the application's context due during the call wait. */
  g_idle_add (set_flag, &idle_ran);
  g_timeout_add (0, set_flag, &timeout_ran);
  /* The hook's delivery comes in during the next call: it waits too. */
  g_assert_true (juno_client_trigger_sync (caller, "tick", NULL, NULL, &error));
  g_assert_no_error (error);
  /* peer.relay calls caller.ping before answering: that call comes in
   * during this one and is handled only after it returned. */
  answer = juno_client_call_sync (caller, "peer.relay", NULL, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_NULL (answer));
  g_assert_false (idle_ran);
  g_assert_false (timeout_ran);
  g_assert_false (pinged);
  g_assert_false (hooked);

  /* Once the application's context runs, all of it happens. */
  juno_test_wait_flag (&pinged);
  juno_test_wait_flag (&hooked);
  juno_test_wait_flag (&idle_ran);
  juno_test_wait_flag (&timeout_ran);
  while (g_atomic_int_get (&peer.ping_answers) == 0)
    g_main_context_iteration (NULL, TRUE);
  peer_stop (&peer);
}

/* Hooks ------------------------------------------------------------------ */

typedef struct
{
  int pings;
  int others;
  char *last_hook;
  char *last_data;
} Hooks;

static void
on_ping (JunoClient *client, const char *hook, JsonNode *data, gpointer user_data)
{
  Hooks *hooks = user_data;

  hooks->pings++;
  g_free (hooks->last_hook);
  hooks->last_hook = g_strdup (hook);
  g_free (hooks->last_data);
  hooks->last_data = json_to_string (data, FALSE);
}

static void
on_other (JunoClient *client, const char *hook, JsonNode *data, gpointer user_data)
{
  ((Hooks *) user_data)->others++;
}

static void
test_hooks (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) listener = new_client (f, "listener");
  g_autoptr(JunoClient) sender = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) payload = json ("{\"n\":1}");
  Hooks hooks = { 0 };

  g_signal_connect (listener, "hook-triggered::sender.ping", G_CALLBACK (on_ping), &hooks);
  g_signal_connect (listener, "hook-triggered::sender.other", G_CALLBACK (on_other), &hooks);
  /* Listened before connecting: sent on activation. */
  g_assert_true (juno_client_listen (listener, "sender.ping", &error));
  g_assert_true (juno_client_listen (listener, "sender.ping", &error));
  g_assert_false (juno_client_listen (listener, "nodot", &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_client_listen (listener, "a.b.c", &error));
  g_clear_error (&error);
  g_assert_true (juno_client_connect_sync (listener, NULL, &error));
  g_assert_true (juno_client_roundtrip_sync (listener, NULL, &error));
  g_assert_no_error (error);

  sender = connect_client (f, "sender");
  g_assert_true (juno_client_trigger_sync (sender, "ping", payload, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (juno_client_trigger_sync (sender, "other", NULL, NULL, &error));
  g_assert_false (juno_client_trigger_sync (sender, "sender.ping", NULL, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (juno_client_trigger_sync (sender, "ping", NULL, NULL, &error));

  while (hooks.pings < 2)
    g_main_context_iteration (NULL, TRUE);
  /* Hooks arrive in order; nothing for hooks not listened to. */
  g_assert_true (juno_client_roundtrip_sync (listener, NULL, &error));
  g_assert_cmpint (hooks.pings, ==, 2);
  g_assert_cmpint (hooks.others, ==, 0);
  g_assert_cmpstr (hooks.last_hook, ==, "sender.ping");
  g_assert_cmpstr (hooks.last_data, ==, "{}");

  /* Listening after activation is sent at once. */
  g_assert_true (juno_client_listen (listener, "sender.other", &error));
  g_assert_true (juno_client_roundtrip_sync (listener, NULL, &error));
  g_assert_true (juno_client_trigger_sync (sender, "other", payload, NULL, &error));
  while (hooks.others < 1)
    g_main_context_iteration (NULL, TRUE);
  g_free (hooks.last_hook);
  g_free (hooks.last_data);
}

/* Reconnection ----------------------------------------------------------- */

static void
on_disconnected (JunoClient *client, const GError *error, gpointer user_data)
{
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED);
  (*(int *) user_data)++;
}

static void
test_reconnect (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) service = new_client (f, "service");
  g_autoptr(JunoClient) user = NULL;
  g_autoptr(JunoClient) fresh = NULL;
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GAsyncResult) pending = NULL;
  g_autoptr(GAsyncResult) own = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  Hooks hooks = { 0 };
  int lost = 0;

  g_assert_true (juno_client_get_reconnect (service));
  g_assert_true (juno_client_declare_function (service, "echo", handle_echo, NULL, NULL, &error));
  g_assert_true (juno_client_declare_function (service, "hold", handle_hold, held, NULL, &error));
  g_assert_true (juno_client_listen (service, "fresh.ping", &error));
  g_signal_connect (service, "hook-triggered::fresh.ping", G_CALLBACK (on_ping), &hooks);
  g_signal_connect (service, "disconnected", G_CALLBACK (on_disconnected), &lost);
  g_assert_true (juno_client_connect_sync (service, NULL, &error));
  user = connect_client (f, "user");
  juno_client_set_reconnect (user, FALSE);

  /* Calls in flight when the broker goes: both sides' fail at once. */
  juno_client_call_async (user, "service.hold", NULL, -1, NULL, juno_test_on_result, &pending);
  while (held->len == 0)
    g_main_context_iteration (NULL, TRUE);
  juno_client_call_async (service, "service.hold", NULL, -1, NULL, juno_test_on_result, &own);
  while (held->len < 2)
    g_main_context_iteration (NULL, TRUE);
  juno_test_broker_stop (f->broker);

  juno_test_wait_result (&pending);
  g_assert_null (juno_client_call_finish (user, pending, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED);
  g_clear_error (&error);
  juno_test_wait_result (&own);
  g_assert_null (juno_client_call_finish (service, own, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED);
  g_clear_error (&error);
  g_assert_cmpint (lost, ==, 1);
  g_assert_false (juno_client_get_active (service));

  /* An answer for the old connection goes nowhere. */
  juno_invocation_return_value (g_ptr_array_index (held, 0), NULL);
  /* No connection: calls fail rather than wait. */
  g_assert_null (juno_client_call_sync (user, "service.echo", NULL, -1, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);

  /* The broker comes back: the service registers, declares and listens again. */
  juno_test_broker_start (f->broker, FALSE, NULL);
  while (!juno_client_get_active (service))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (juno_client_roundtrip_sync (service, NULL, &error));
  g_assert_no_error (error);

  fresh = connect_client (f, "fresh");
  answer = call_here (fresh, "service.echo", NULL, -1, NULL, &error);
  g_assert_no_error (error);
  assert_json (answer, "{\"caller\":\"fresh\",\"function\":\"echo\",\"arguments\":{}}");
  g_assert_true (juno_client_trigger_sync (fresh, "ping", NULL, NULL, &error));
  while (hooks.pings < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (hooks.last_hook, ==, "fresh.ping");
  g_free (hooks.last_hook);
  g_free (hooks.last_data);
  juno_client_close (service);
  g_assert_false (juno_client_get_active (service));
}

/* The broker's grammar, applied by libjuno: JSON text is checked and sent
 * as written; a JsonNode json-glib would write as "inf" is refused with an
 * error instead of leaving the caller waiting for an answer. */
/* Answers with {"args": ARGUMENTS} built as JSON text, after checking that
 * text the broker would refuse is not sent. */
static void
handle_json_text (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  g_autofree char *arguments = juno_invocation_dup_arguments_json (invocation);
  g_autofree char *result = g_strdup_printf ("{\"args\": %s}", arguments);
  g_autoptr(GError) error = NULL;

  g_assert_false (juno_invocation_return_json (invocation, "{\"n\":1e400}", &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_invocation_return_json (invocation, "nope", &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_invocation_get_answered (invocation));
  g_assert_true (juno_invocation_return_json (invocation, result, &error));
  g_assert_no_error (error);
}

/* {"n": N} -> {"double": 2N, "names": ["a", "b"]}, through GVariant */
static void
handle_variant (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  g_autoptr(GVariant) arguments = juno_invocation_dup_arguments_variant (invocation);
  const char *names[] = { "a", "b" };
  GVariantDict dict;
  gint64 n = 0;

  g_assert_true (g_variant_is_of_type (arguments, G_VARIANT_TYPE ("a{sv}")));
  g_assert_true (g_variant_lookup (arguments, "n", "x", &n));
  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "double", "x", n * 2);
  g_variant_dict_insert_value (&dict, "names", g_variant_new_strv (names, 2));
  juno_invocation_return_variant (invocation, g_variant_dict_end (&dict));
}

static void
handle_infinity (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  g_autoptr(JsonNode) result = json_node_init_double (json_node_alloc (), INFINITY);

  juno_invocation_return_value (invocation, result);
}

static void
test_call_json (Fixture *f, gconstpointer data)
{
  g_autoptr(JunoClient) callee = new_client (f, "callee");
  g_autoptr(JunoClient) caller = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(JsonNode) infinite = json_node_init_object (json_node_alloc (), json_object_new ());
  static const struct
  {
    const char *text;
    const char *reason;
  } refused[] = {
    { "{\"name\":1e400}", "*holds a number out of range*" },
    { "{\"n\":-1e400}", "*holds a number out of range*" },
    { "{\"id\":18446744073709551616}", "*holds a number out of range*" },
    { "{'a':1}", "*is not valid JSON*" },
    { "{\"a\":.5}", "*is not valid JSON*" },
    { "{\"a\":\"\t\"}", "*is not valid JSON*" },
    { "[1]", "*is not a JSON object*" },
    { "", "*is not valid JSON*" },
    { "{\"a\":\"\xff\"}", "*is not valid UTF-8*" },
  };

  g_assert_true (juno_client_declare_function (callee, "echo", handle_echo, NULL, NULL, &error));
  g_assert_true (juno_client_declare_function (callee, "infinity", handle_infinity, NULL, NULL, &error));
  g_assert_true (juno_client_declare_function (callee, "text", handle_json_text, NULL, NULL, &error));
  g_assert_true (juno_client_declare_function (callee, "variant", handle_variant, NULL, NULL, &error));
  g_assert_true (juno_client_connect_sync (callee, NULL, &error));
  caller = connect_client (f, "caller");

  /* GVariant both ways; anything but a dictionary is refused unsent. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GVariant) value = NULL;
    g_autoptr(GVariant) names = NULL;
    g_autofree char *text = NULL;
    gint64 doubled = 0;

    juno_client_call_variant_async (caller, "callee.variant", g_variant_new_parsed ("{'n': <int64 21>}"), -1,
                                    NULL, juno_test_on_result, &result);
    juno_test_wait_result (&result);
    value = juno_client_call_variant_finish (caller, result, &error);
    g_assert_no_error (error);
    g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE ("a{sv}")));
    g_assert_true (g_variant_lookup (value, "double", "x", &doubled));
    g_assert_cmpint (doubled, ==, 42);
    names = g_variant_lookup_value (value, "names", G_VARIANT_TYPE ("av"));
    text = g_variant_print (names, FALSE);
    g_assert_cmpstr (text, ==, "[<'a'>, <'b'>]");
    g_assert_null (juno_client_call_variant_sync (caller, "callee.variant", g_variant_new_int32 (1), -1,
                                                  NULL, &error));
    g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (juno_client_trigger_variant_sync (caller, "ev", g_variant_new_strv (NULL, 0), NULL, &error));
    g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_true (juno_client_trigger_variant_sync (caller, "ev", g_variant_new_parsed ("{'k': <'v'>}"), NULL, &error));
    g_assert_no_error (error);
    /* answered by the broker: a synchronous call works here */
    g_clear_pointer (&value, g_variant_unref);
    value = juno_client_call_variant_sync (caller, "juno.getModuleInfo",
                                           g_variant_new_parsed ("{'moduleId': <'callee'>}"), -1, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_variant_lookup (value, "registered", "b", NULL));
  }

  /* A handler reading and answering JSON text. */
  answer = call_json_here (caller, "callee.text", "{\"a\": [1, \"b\"]}", -1, NULL, &error);
  g_assert_no_error (error);
  assert_json (answer, "{\"args\":{\"a\":[1,\"b\"]}}");
  g_clear_pointer (&answer, json_node_unref);

  answer = call_json_here (caller, "callee.echo", " {\n \"x\" : [ 1.50, 2E+1 ] } ", -1, NULL, &error);
  g_assert_no_error (error);
  assert_json (answer, "{\"caller\":\"caller\",\"function\":\"echo\",\"arguments\":{\"x\":[1.5,20.0]}}");
  g_clear_pointer (&answer, json_node_unref);
  answer = call_json_here (caller, "callee.echo", NULL, -1, NULL, &error);
  g_assert_no_error (error);
  assert_json (answer, "{\"caller\":\"caller\",\"function\":\"echo\",\"arguments\":{}}");
  g_clear_pointer (&answer, json_node_unref);

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      answer = call_json_here (caller, "callee.echo", refused[i].text, -1, NULL, &error);
      g_assert_null (answer);
      g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
      if (!g_pattern_match_simple (refused[i].reason, error->message))
        g_error ("%s: unexpected message: %s", refused[i].text, error->message);
      g_clear_error (&error);
      g_assert_false (juno_client_trigger_json_sync (caller, "ev", refused[i].text, NULL, &error));
      g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_true (juno_client_trigger_json_sync (caller, "ev", "{\"n\":9223372036854775807}", NULL, &error));
  g_assert_no_error (error);
  g_assert_false (juno_client_trigger_json_sync (caller, "a.b", "{}", NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* a JsonNode holding infinity: refused before sending */
  json_object_set_double_member (json_node_get_object (infinite), "n", INFINITY);
  answer = call_here (caller, "callee.echo", infinite, -1, NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_client_trigger_sync (caller, "ev", infinite, NULL, &error));
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* a handler answering infinity: the caller gets error 0 at once */
  expected_warning = "The answer to call * cannot be sent*";
  expected_warning_seen = 0;
  answer = call_here (caller, "callee.infinity", NULL, -1, NULL, &error);
  g_assert_null (answer);
  g_assert_error (error, JUNO_ERROR, JUNO_ERROR_MALFORMED_REQUEST);
  g_assert_cmpuint (expected_warning_seen, ==, 1);
  expected_warning = NULL;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

  ADD ("/client/connect/unix", test_connect_unix, NULL);
  ADD ("/client/connect/tcp", test_connect_tcp, GINT_TO_POINTER (1));
  g_test_add_func ("/client/connect/default", test_connect_default);
  ADD ("/client/connect/no-broker", test_connect_no_broker, NULL);
  ADD ("/client/connect/refused", test_connect_refused, NULL);
  ADD ("/client/connect/cancel", test_connect_cancel, NULL);
  ADD ("/client/connect/dependencies", test_dependencies, NULL);
  ADD ("/client/call/answers", test_call_answers, NULL);
  ADD ("/client/call/errors", test_call_errors, NULL);
  ADD ("/client/call/many", test_call_many, NULL);
  ADD ("/client/call/nested", test_call_nested, NULL);
  ADD ("/client/call/json", test_call_json, NULL);
  ADD ("/client/call/sync-private-context", test_sync_private_context, NULL);
  ADD ("/client/hooks", test_hooks, NULL);
  ADD ("/client/reconnect", test_reconnect, NULL);

  return g_test_run ();
}
