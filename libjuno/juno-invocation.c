/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-invocation.c: one incoming call, answered exactly once
 *
 * The invocation keeps its client alive, remembers which connection the call
 * came in on, and answers with JUNO_ERROR_HANDLER_FAILED if it is dropped
 * unanswered, so a caller never waits for a handler that gave up.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "juno.h"
#include "juno-client-private.h"
#include "juno-protocol.h"

struct _JunoInvocation
{
  GObject parent_instance;

  JunoClient *client;
  guint generation;
  char *token;
  char *function;
  char *caller;
  JsonNode *arguments;
  gboolean answered;
};

G_DEFINE_FINAL_TYPE (JunoInvocation, juno_invocation, G_TYPE_OBJECT)

static void
juno_invocation_dispose (GObject *object)
{
  JunoInvocation *self = JUNO_INVOCATION (object);

  /* Calls from a connection that is gone were failed by the broker. */
  if (!self->answered && self->client != NULL &&
      juno_client_is_current (self->client, self->generation))
    {
      g_warning ("Call of '%s' from '%s' was dropped without an answer",
                 self->function, self->caller);
      juno_invocation_return_error (self, JUNO_ERROR_HANDLER_FAILED);
    }
  g_clear_object (&self->client);
  G_OBJECT_CLASS (juno_invocation_parent_class)->dispose (object);
}

static void
juno_invocation_finalize (GObject *object)
{
  JunoInvocation *self = JUNO_INVOCATION (object);

  g_free (self->token);
  g_free (self->function);
  g_free (self->caller);
  g_clear_pointer (&self->arguments, json_node_unref);
  G_OBJECT_CLASS (juno_invocation_parent_class)->finalize (object);
}

static void
juno_invocation_init (JunoInvocation *self)
{
}

static void
juno_invocation_class_init (JunoInvocationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = juno_invocation_dispose;
  object_class->finalize = juno_invocation_finalize;
}

JunoInvocation *
juno_invocation_new (JunoClient *client,
                     guint generation,
                     const char *token,
                     const char *function,
                     const char *caller,
                     JsonNode *arguments)
{
  JunoInvocation *self = g_object_new (JUNO_TYPE_INVOCATION, NULL);

  self->client = g_object_ref (client);
  self->generation = generation;
  self->token = g_strdup (token);
  self->function = g_strdup (function);
  self->caller = g_strdup (caller != NULL ? caller : "");
  self->arguments = json_node_ref (arguments);
  return self;
}

/**
 * juno_invocation_get_client:
 * @invocation: a #JunoInvocation
 *
 * The client whose function was called.
 *
 * Returns: (transfer none): the client
 *
 * Since: 1.0
 */
JunoClient *
juno_invocation_get_client (JunoInvocation *invocation)
{
  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), NULL);
  return invocation->client;
}

/**
 * juno_invocation_get_function:
 * @invocation: a #JunoInvocation
 *
 * The name of the called function, without the module part.
 *
 * Returns: the function name
 *
 * Since: 1.0
 */
const char *
juno_invocation_get_function (JunoInvocation *invocation)
{
  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), NULL);
  return invocation->function;
}

/**
 * juno_invocation_get_caller:
 * @invocation: a #JunoInvocation
 *
 * The module id of the caller, as the broker states it.
 *
 * Returns: the caller's module id
 *
 * Since: 1.0
 */
const char *
juno_invocation_get_caller (JunoInvocation *invocation)
{
  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), NULL);
  return invocation->caller;
}

/**
 * juno_invocation_get_arguments:
 * @invocation: a #JunoInvocation
 *
 * The call's arguments: always a JSON object, empty when the caller gave none.
 *
 * Returns: (transfer none): the arguments
 *
 * Since: 1.0
 */
JsonNode *
juno_invocation_get_arguments (JunoInvocation *invocation)
{
  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), NULL);
  return invocation->arguments;
}

/**
 * juno_invocation_get_answered:
 * @invocation: a #JunoInvocation
 *
 * Whether the invocation has been answered.
 *
 * Returns: %TRUE after a `return_` function was called
 *
 * Since: 1.0
 */
gboolean
juno_invocation_get_answered (JunoInvocation *invocation)
{
  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), FALSE);
  return invocation->answered;
}

/**
 * juno_invocation_return_value:
 * @invocation: a #JunoInvocation
 * @value: (nullable): the result; %NULL stands for JSON `null`
 *
 * Answers the call with @value. An invocation is answered once; later
 * answers are ignored with a warning.
 *
 * Since: 1.0
 */
void
juno_invocation_return_value (JunoInvocation *invocation,
                              JsonNode       *value)
{
  g_autoptr(JsonNode) null_node = NULL;

  g_return_if_fail (JUNO_IS_INVOCATION (invocation));
  if (invocation->answered)
    {
      g_warning ("Call of '%s' answered twice", invocation->function);
      return;
    }
  if (value == NULL)
    value = null_node = json_node_new (JSON_NODE_NULL);
  invocation->answered = TRUE;
  juno_client_send_answer (invocation->client, invocation->generation,
                           invocation->token, value, -1);
}

/**
 * juno_invocation_return_error:
 * @invocation: a #JunoInvocation
 * @code: the error code the caller receives, a #JunoError or any other
 *   non-negative integer the caller understands
 *
 * Answers the call with an error.
 *
 * Since: 1.0
 */
void
juno_invocation_return_error (JunoInvocation *invocation,
                              int             code)
{
  g_return_if_fail (JUNO_IS_INVOCATION (invocation));
  g_return_if_fail (code >= 0);
  if (invocation->answered)
    {
      g_warning ("Call of '%s' answered twice", invocation->function);
      return;
    }
  invocation->answered = TRUE;
  juno_client_send_answer (invocation->client, invocation->generation,
                           invocation->token, NULL, code);
}

/**
 * juno_invocation_return_gerror:
 * @invocation: a #JunoInvocation
 * @error: the error
 *
 * Answers the call with @error's code if it is in the %JUNO_ERROR domain
 * and a protocol code or %JUNO_ERROR_HANDLER_FAILED, else with
 * %JUNO_ERROR_HANDLER_FAILED. The wire protocol carries only the code, not
 * the message.
 *
 * Since: 1.0
 */
void
juno_invocation_return_gerror (JunoInvocation *invocation,
                               const GError   *error)
{
  int code = JUNO_ERROR_HANDLER_FAILED;

  g_return_if_fail (error != NULL);
  if (error->domain == JUNO_ERROR && error->code >= 0 && error->code < JUNO_ERROR_DISCONNECTED)
    code = error->code;
  juno_invocation_return_error (invocation, code);
}

/**
 * juno_invocation_dup_arguments_json:
 * @invocation: a #JunoInvocation
 *
 * The call's arguments as compact JSON text, a JSON object, for bindings
 * that map JSON to their own values (`JSON.parse()`, `json.loads()`).
 *
 * Returns: (transfer full): the arguments as JSON text
 *
 * Since: 1.0
 */
char *
juno_invocation_dup_arguments_json (JunoInvocation *invocation)
{
  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), NULL);
  return json_to_string (invocation->arguments, FALSE);
}

/**
 * juno_invocation_return_json:
 * @invocation: a #JunoInvocation
 * @result: (nullable): the result as JSON text, any JSON value; %NULL for
 *   `null`
 * @error: return location for an error
 *
 * Answers the call with @result, given as JSON text. The text is checked
 * with the broker's grammar, as juno_client_call_json_async() describes, and
 * sent as written without the whitespace between tokens. Text that fails
 * the check is not sent: the function returns %FALSE with
 * %JUNO_ERROR_INVALID_ARGUMENT and the invocation stays unanswered (answer
 * it otherwise, or drop it to answer %JUNO_ERROR_HANDLER_FAILED).
 *
 * Returns: %TRUE if the answer was sent (or the invocation was already
 *   answered, with a warning)
 *
 * Since: 1.0
 */
gboolean
juno_invocation_return_json (JunoInvocation  *invocation,
                             const char      *result,
                             GError         **error)
{
  g_autoptr(GString) normalized = g_string_new (NULL);
  g_autoptr(JsonParser) parser = NULL;
  JunoParseResult parsed;
  JunoJsonKind kind;

  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), FALSE);
  if (result == NULL)
    result = "null";
  parsed = juno_json_normalize (result, strlen (result), normalized, &kind);
  if (parsed != JUNO_PARSE_OK)
    {
      /* TRANSLATORS: %s says why, e.g. "is not valid JSON (RFC 8259)" */
      g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT, _("Invalid JSON result: the text %s"),
                   _(juno_parse_result_to_string (parsed)));
      return FALSE;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, normalized->str, normalized->len, error))
    return FALSE;
  juno_invocation_return_value (invocation, json_parser_get_root (parser));
  return TRUE;
}
