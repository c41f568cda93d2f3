/* juno-client-json.c: calls and triggers with JSON given as text
 *
 * The text is checked with the broker's own grammar (the scanner of
 * src/core/juno-protocol.c: RFC 8259, nesting up to 64 levels, numbers a
 * gint64 or a double can hold) and sent as the application wrote it, only
 * the whitespace between tokens dropped. Nothing is parsed into a tree and
 * written again, so a number keeps its exact digits and a text the broker
 * would refuse never leaves the client.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "juno.h"
#include "juno-client-private.h"
#include "juno-protocol.h"

/* {"requestId":"ID","type":TYPE,"KEY":"NAME","PAYLOAD_KEY":<checked text> */
static GString *
begin_line (const char *id, JunoMessageType type, const char *key, const char *name)
{
  GString *line = g_string_new ("{\"requestId\":");

  juno_json_append_string (line, id);
  g_string_append_printf (line, ",\"type\":%d,\"%s\":", (int) type, key);
  juno_json_append_string (line, name);
  return line;
}

/**
 * juno_client_call_json_async:
 * @client: a #JunoClient
 * @function: the function, "module.function"
 * @arguments: (nullable): the arguments as JSON text, an object; %NULL for `{}`
 * @timeout_msec: as for juno_client_call_async()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the answer
 * @user_data: data for @callback
 *
 * Like juno_client_call_async(), with the arguments given as JSON text.
 * The text is checked with the broker's grammar (RFC 8259; nesting up to 64
 * levels; an integer must fit in 64 bits and any other number in a double)
 * and sent as written, without the whitespace between tokens. Text that
 * fails the check completes the call with %JUNO_ERROR_INVALID_ARGUMENT and
 * a message that says why; nothing is sent.
 *
 * Since: 1.0
 */
void
juno_client_call_json_async (JunoClient          *client,
                             const char          *function,
                             const char          *arguments,
                             int                  timeout_msec,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  GString *line;

  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (function != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, juno_client_call_json_async);
  if (g_task_return_error_if_cancelled (task))
    return;

  id = juno_client_next_request_id (client);
  line = begin_line (id, JUNO_MSG_FUNCTION_CALL, "function", function);
  g_string_append (line, ",\"arguments\":");
  if (!juno_append_json_object (line, arguments, _("arguments"), &error))
    {
      g_string_free (line, TRUE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_string_append_c (line, '}');
  juno_client_submit_line (client, JUNO_REQUEST_CALL, g_string_free (line, FALSE), id, task,
                           timeout_msec < 0 ? client->default_timeout : timeout_msec, cancellable);
}

/**
 * juno_client_call_json_finish:
 * @client: a #JunoClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * Finishes juno_client_call_json_async(), as juno_client_call_finish() does.
 *
 * Returns: (transfer full): the result (a JSON `null` node when the callee
 *   sent no data), or %NULL on error
 *
 * Since: 1.0
 */
JsonNode *
juno_client_call_json_finish (JunoClient    *client,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, client), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * juno_client_call_json_sync:
 * @client: a #JunoClient
 * @function: the function, "module.function"
 * @arguments: (nullable): the arguments as JSON text, an object; %NULL for `{}`
 * @timeout_msec: as for juno_client_call_async()
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of juno_client_call_json_async(), waiting as
 * juno_client_call_sync() does.
 *
 * Returns: (transfer full): the result, or %NULL on error
 *
 * Since: 1.0
 */
JsonNode *
juno_client_call_json_sync (JunoClient    *client,
                            const char    *function,
                            const char    *arguments,
                            int            timeout_msec,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  JunoSync sync;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), NULL);
  if (!juno_client_sync_begin (client, &sync, FALSE, error))
    return NULL;
  juno_client_sync_set_function (client, &sync, function);
  juno_client_call_json_async (client, function, arguments, timeout_msec, cancellable,
                               juno_client_on_sync_done, &result);
  return juno_client_call_json_finish (client, juno_client_sync_end (client, &sync, &result), error);
}

/**
 * juno_client_trigger_json_async:
 * @client: a #JunoClient
 * @hook: the hook's bare name; it fires as "module-id.hook"
 * @data: (nullable): the data as JSON text, an object; %NULL for `{}`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the broker has taken the trigger
 * @user_data: data for @callback
 *
 * Like juno_client_trigger_async(), with the data given as JSON text,
 * checked and sent as juno_client_call_json_async() describes.
 *
 * Since: 1.0
 */
void
juno_client_trigger_json_async (JunoClient          *client,
                                const char          *hook,
                                const char          *data,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  GString *line;

  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (hook != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, juno_client_trigger_json_async);
  if (!juno_check_trigger_hook (hook, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  id = juno_client_next_request_id (client);
  line = begin_line (id, JUNO_MSG_TRIGGER_HOOK, "hook", hook);
  g_string_append (line, ",\"data\":");
  if (!juno_append_json_object (line, data, _("data"), &error))
    {
      g_string_free (line, TRUE);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_string_append_c (line, '}');
  juno_client_submit_line (client, JUNO_REQUEST_TRIGGER, g_string_free (line, FALSE), id, task, 0,
                           cancellable);
}

/**
 * juno_client_trigger_json_finish:
 * @client: a #JunoClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * Finishes juno_client_trigger_json_async().
 *
 * Returns: %TRUE when the broker has taken the trigger
 *
 * Since: 1.0
 */
gboolean
juno_client_trigger_json_finish (JunoClient    *client,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, client), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * juno_client_trigger_json_sync:
 * @client: a #JunoClient
 * @hook: the hook's bare name
 * @data: (nullable): the data as JSON text, an object; %NULL for `{}`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of juno_client_trigger_json_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
juno_client_trigger_json_sync (JunoClient    *client,
                               const char    *hook,
                               const char    *data,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  JunoSync sync;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  if (!juno_client_sync_begin (client, &sync, FALSE, error))
    return FALSE;
  juno_client_trigger_json_async (client, hook, data, cancellable, juno_client_on_sync_done, &result);
  return juno_client_trigger_json_finish (client, juno_client_sync_end (client, &sync, &result), error);
}
