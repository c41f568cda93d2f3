/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-common.c: table-driven tests for the common library
 *
 * The grammar of names, the default socket path and the table of protocol
 * error texts, each case registered as its own test path so a failure names
 * the input.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "juno-common.h"

typedef enum
{
  MODULE_ID,
  FUNCTION_NAME,
  HOOK_NAME,
  FUNCTION_ADDRESS,
  HOOK_ADDRESS,
} NameKind;

typedef struct
{
  NameKind kind;
  const char *text;
  gboolean valid;
  gsize module_len;  /* for the addresses, when valid */
} NameCase;

#define LONG_ID_128 \
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const NameCase name_cases[] = {
  { MODULE_ID, "auth", TRUE },
  { MODULE_ID, "A-b_9", TRUE },
  { MODULE_ID, "-", TRUE },
  { MODULE_ID, LONG_ID_128, TRUE },
  { MODULE_ID, LONG_ID_128 "a", FALSE },
  { MODULE_ID, "", FALSE },
  { MODULE_ID, "a.b", FALSE },
  { MODULE_ID, "a b", FALSE },
  { MODULE_ID, "caf\xc3\xa9", FALSE },
  { MODULE_ID, "a/b", FALSE },
  { MODULE_ID, "a:b", FALSE },

  { FUNCTION_NAME, "greet", TRUE },
  { FUNCTION_NAME, "get_2", TRUE },
  { FUNCTION_NAME, "_", TRUE },
  { FUNCTION_NAME, "", FALSE },
  { FUNCTION_NAME, "a-b", FALSE },
  { FUNCTION_NAME, "a.b", FALSE },
  { FUNCTION_NAME, "a b", FALSE },
  { FUNCTION_NAME, "\xc3\xa9", FALSE },

  { HOOK_NAME, "tick", TRUE },
  { HOOK_NAME, "on-change", TRUE },
  { HOOK_NAME, "with space", TRUE },
  { HOOK_NAME, "\xc3\xa9t\xc3\xa9", TRUE },
  { HOOK_NAME, "", FALSE },
  { HOOK_NAME, ".", FALSE },
  { HOOK_NAME, "a.b", FALSE },
  { HOOK_NAME, "tick.", FALSE },

  { FUNCTION_ADDRESS, "greeter.greet", TRUE, 7 },
  { FUNCTION_ADDRESS, "juno.listModules", TRUE, 4 },
  { FUNCTION_ADDRESS, "my-mod.f_1", TRUE, 6 },
  { FUNCTION_ADDRESS, LONG_ID_128 ".f", TRUE, 128 },
  { FUNCTION_ADDRESS, LONG_ID_128 "a.f", FALSE },
  { FUNCTION_ADDRESS, "nodot", FALSE },
  { FUNCTION_ADDRESS, ".f", FALSE },
  { FUNCTION_ADDRESS, "m.", FALSE },
  { FUNCTION_ADDRESS, "a.b.c", FALSE },
  { FUNCTION_ADDRESS, "a b.f", FALSE },
  { FUNCTION_ADDRESS, "m.f-x", FALSE },
  { FUNCTION_ADDRESS, "", FALSE },

  { HOOK_ADDRESS, "clock.tick", TRUE, 5 },
  { HOOK_ADDRESS, "juno.moduleActivated", TRUE, 4 },
  { HOOK_ADDRESS, "m.on-change", TRUE, 1 },
  { HOOK_ADDRESS, "m.with space", TRUE, 1 },
  { HOOK_ADDRESS, LONG_ID_128 ".h", TRUE, 128 },
  { HOOK_ADDRESS, LONG_ID_128 "a.h", FALSE },
  { HOOK_ADDRESS, "nodot", FALSE },
  { HOOK_ADDRESS, ".h", FALSE },
  { HOOK_ADDRESS, "m.", FALSE },
  { HOOK_ADDRESS, "a.b.c", FALSE },
  { HOOK_ADDRESS, "bad id.h", FALSE },
  { HOOK_ADDRESS, "", FALSE },
};

static const char *const kind_names[] = {
  [MODULE_ID] = "module-id",
  [FUNCTION_NAME] = "function-name",
  [HOOK_NAME] = "hook-name",
  [FUNCTION_ADDRESS] = "function-address",
  [HOOK_ADDRESS] = "hook-address",
};

static gboolean
check_name (NameKind kind, const char *text, gssize len, gsize *module_len)
{
  switch (kind)
    {
    case MODULE_ID:
      return juno_module_id_is_valid (text, len);
    case FUNCTION_NAME:
      return juno_function_name_is_valid (text, len);
    case HOOK_NAME:
      return juno_hook_name_is_valid (text, len);
    case FUNCTION_ADDRESS:
      return juno_function_address_is_valid (text, module_len);
    case HOOK_ADDRESS:
      return juno_hook_address_is_valid (text, module_len);
    }
  g_assert_not_reached ();
}

static void
test_name (gconstpointer data)
{
  const NameCase *c = data;
  gsize module_len = G_MAXSIZE;

  g_assert_cmpint (check_name (c->kind, c->text, -1, &module_len), ==, c->valid);
  if (c->kind == FUNCTION_ADDRESS || c->kind == HOOK_ADDRESS)
    {
      /* the module part is only reported for a valid address */
      g_assert_cmpuint (module_len, ==, c->valid ? c->module_len : G_MAXSIZE);
      g_assert_cmpint (check_name (c->kind, c->text, -1, NULL), ==, c->valid);
    }
  else
    {
      /* an explicit length reads only that many bytes */
      g_autofree char *padded = g_strconcat (c->text, ".x y", NULL);

      g_assert_cmpint (check_name (c->kind, padded, strlen (c->text), NULL), ==, c->valid);
    }
}

/* A NUL inside the given length is never part of a name. */
static void
test_name_embedded_nul (void)
{
  static const char text[] = "ab\0cd";

  g_assert_false (juno_module_id_is_valid (text, sizeof text - 1));
  g_assert_false (juno_function_name_is_valid (text, sizeof text - 1));
  g_assert_false (juno_hook_name_is_valid (text, sizeof text - 1));
  g_assert_true (juno_module_id_is_valid (text, 2));
}

typedef struct
{
  const char *runtime_dir;  /* NULL: unset */
  const char *expected;     /* NULL: the fallback for this user */
} SocketCase;

static const SocketCase socket_cases[] = {
  { "/run/user/1000", "/run/user/1000/juno.sock" },
  { "/tmp/x/", "/tmp/x/juno.sock" },
  { "relative/dir", NULL },
  { "", NULL },
  { NULL, NULL },
};

static void
test_socket_path (gconstpointer data)
{
  const SocketCase *c = data;
  const char *fallback = geteuid () == 0 ? "/run/juno/juno.sock" : "./juno.sock";
  g_autofree char *path = NULL;

  if (c->runtime_dir != NULL)
    g_setenv ("XDG_RUNTIME_DIR", c->runtime_dir, TRUE);
  else
    g_unsetenv ("XDG_RUNTIME_DIR");
  path = juno_default_socket_path ();
  g_assert_cmpstr (path, ==, c->expected != NULL ? c->expected : fallback);
  g_assert_cmpstr (juno_get_runtime_dir (), ==, c->expected != NULL ? c->runtime_dir : NULL);
}

typedef struct
{
  int code;
  const char *dbus_name;
  const char *text;
} ErrorCase;

static const ErrorCase error_cases[] = {
  { JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST, "MalformedRequest", "Malformed request" },
  { JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID, "InvalidRequestId", "Invalid request id" },
  { JUNO_PROTOCOL_ERROR_UNKNOWN_TYPE, "UnknownType", "Unknown message type" },
  { JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE, "UnregisteredModule", "Module is not registered or not active" },
  { JUNO_PROTOCOL_ERROR_UNKNOWN_MODULE, "UnknownModule", "Unknown module: no active module of that name" },
  { JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION, "UnknownFunction", "Unknown function" },
  { JUNO_PROTOCOL_ERROR_INVALID_MODULE_ID, "InvalidModuleId", "Invalid module id" },
  { JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE, "DuplicateModule", "A module with this id is already registered" },
  { JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED, "CalleeDisconnected", "The called module disconnected before answering" },
  { JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT, "CallTimedOut", "The broker timed out waiting for the answer" },
  { JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE, "MessageTooLarge", "Message too large" },
  { JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS, "TooManyCalls", "Too many calls in flight" },
  { JUNO_PROTOCOL_ERROR_LIMIT_REACHED, "LimitReached", "A limit of the broker was reached" },
  { JUNO_PROTOCOL_ERROR_ACCESS_DENIED, "AccessDenied", "Access denied by the broker's policy" },
  { JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED, "QuotaExceeded", "The user's quota is used up" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (error_cases) == JUNO_PROTOCOL_ERROR_N_CODES);

static void
test_error (gconstpointer data)
{
  const ErrorCase *c = data;
  g_autofree char *dbus_name = g_strconcat (JUNO_DBUS_ERROR_PREFIX, c->dbus_name, NULL);
  g_autofree char *message = juno_protocol_error_dup_message (c->code);

  g_assert_cmpstr (juno_protocol_error_get_dbus_name (c->code), ==, dbus_name);
  g_assert_cmpstr (juno_protocol_error_get_text (c->code), ==, c->text);
  g_assert_cmpstr (message, ==, c->text);
}

static const int unknown_codes[] = { -1, JUNO_PROTOCOL_ERROR_N_CODES, 42, G_MAXINT, G_MININT };

static void
test_error_unknown (gconstpointer data)
{
  int code = *(const int *) data;
  g_autofree char *message = juno_protocol_error_dup_message (code);
  g_autofree char *expected = g_strdup_printf ("The module answered with error %d", code);

  g_assert_null (juno_protocol_error_get_text (code));
  g_assert_null (juno_protocol_error_get_dbus_name (code));
  g_assert_cmpstr (message, ==, expected);
}

/* Every code has its own name and its own text. */
static void
test_error_distinct (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      int code = error_cases[i].code;

      g_assert_true (g_hash_table_add (seen, (gpointer) juno_protocol_error_get_dbus_name (code)));
      g_assert_true (g_hash_table_add (seen, (gpointer) juno_protocol_error_get_text (code)));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* the untranslated texts are compared */
  g_setenv ("LANGUAGE", "C", TRUE);

  for (gsize i = 0; i < G_N_ELEMENTS (name_cases); i++)
    {
      g_autofree char *escaped = g_strdelimit (g_strescape (name_cases[i].text, NULL), "/", '_');
      g_autofree char *path = g_strdup_printf ("/common/names/%s/%" G_GSIZE_FORMAT "/%s/%s",
                                               kind_names[name_cases[i].kind], i,
                                               name_cases[i].valid ? "valid" : "invalid",
                                               escaped[0] == '\0' ? "empty" : strlen (escaped) > 40 ? "long" : escaped);

      g_test_add_data_func (path, &name_cases[i], test_name);
    }
  g_test_add_func ("/common/names/embedded-nul", test_name_embedded_nul);
  for (gsize i = 0; i < G_N_ELEMENTS (socket_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/common/socket-path/%" G_GSIZE_FORMAT, i);

      g_test_add_data_func (path, &socket_cases[i], test_socket_path);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/common/errors/%d", error_cases[i].code);

      g_test_add_data_func (path, &error_cases[i], test_error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (unknown_codes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/common/errors/unknown/%" G_GSIZE_FORMAT, i);

      g_test_add_data_func (path, &unknown_codes[i], test_error_unknown);
    }
  g_test_add_func ("/common/errors/distinct", test_error_distinct);
  return g_test_run ();
}
