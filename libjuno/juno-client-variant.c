/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-client-variant.c: calls, triggers and answers with GVariant values
 *
 * For C, Vala and bindings that prefer GVariant to JsonNode. Values are
 * mapped as json-glib's json_gvariant_serialize() and
 * json_gvariant_deserialize() do: a JSON object is an `a{sv}`, an array an
 * `av` (or an array of one type), a string `s`, an integer `x`, another
 * number `d`, a boolean `b`, and `null` a `mv` holding nothing. Arguments
 * and hook data must be dictionaries (`a{sv}`, or any `a{s*}`).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "juno.h"
#include "juno-client-private.h"

/* An a{s*} as a JSON object, or NULL (meaning {}) for NULL. */
static gboolean
dictionary_to_node (GVariant *value, const char *what, JsonNode **out, GError **error)
{
  *out = NULL;
  if (value == NULL)
    return TRUE;
  if (!g_variant_type_is_subtype_of (g_variant_get_type (value), G_VARIANT_TYPE ("a{s*}")))
    {
      /* TRANSLATORS: %s is "arguments" or "data", the second %s a GVariant type such as "as" */
      g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                   _("The %s must be a dictionary (a{sv}), not '%s'"), what, g_variant_get_type_string (value));
      return FALSE;
    }
  *out = json_gvariant_serialize (value);
  return TRUE;
}

static GVariant *
node_to_variant (JsonNode *node, GError **error)
{
  GVariant *value = json_gvariant_deserialize (node, NULL, error);

  if (value == NULL)
    {
      g_prefix_error (error, _("The result has no GVariant form: "));
      return NULL;
    }
  return g_variant_ref_sink (value);
}

static void
on_call_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonNode) node = NULL;
  GError *error = NULL;
  GVariant *value;

  node = juno_client_call_finish (JUNO_CLIENT (source), result, &error);
  if (node == NULL || (value = node_to_variant (node, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, value, (GDestroyNotify) g_variant_unref);
}

/**
 * juno_client_call_variant_async:
 * @client: a #JunoClient
 * @function: the function, "module.function"
 * @arguments: (nullable): the arguments, a dictionary (`a{sv}`); %NULL for
 *   none. A floating reference is sunk.
 * @timeout_msec: as for juno_client_call_async()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the answer
 * @user_data: data for @callback
 *
 * Like juno_client_call_async(), with the arguments and the result as
 * #GVariant values (see juno-client-variant.c for the mapping: a JSON
 * object is an `a{sv}`, an integer an `x`, `null` a `mv` with nothing).
 * Anything but a dictionary fails with %JUNO_ERROR_INVALID_ARGUMENT.
 *
 * Since: 1.0
 */
void
juno_client_call_variant_async (JunoClient          *client,
                                const char          *function,
                                GVariant            *arguments,
                                int                  timeout_msec,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GVariant) sunk = arguments != NULL ? g_variant_ref_sink (arguments) : NULL;
  GError *error = NULL;

  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (function != NULL);

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, juno_client_call_variant_async);
  if (!dictionary_to_node (sunk, _("arguments"), &node, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  juno_client_call_async (client, function, node, timeout_msec, cancellable, on_call_answer,
                          g_steal_pointer (&task));
}

/**
 * juno_client_call_variant_finish:
 * @client: a #JunoClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * Finishes juno_client_call_variant_async().
 *
 * Returns: (transfer full): the result (`mv` holding nothing for JSON
 *   `null`), or %NULL on error
 *
 * Since: 1.0
 */
GVariant *
juno_client_call_variant_finish (JunoClient    *client,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, client), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * juno_client_call_variant_sync:
 * @client: a #JunoClient
 * @function: the function, "module.function"
 * @arguments: (nullable): the arguments, a dictionary (`a{sv}`); %NULL for
 *   none. A floating reference is sunk.
 * @timeout_msec: as for juno_client_call_async()
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of juno_client_call_variant_async(), blocking as
 * juno_client_call_sync() does.
 *
 * Returns: (transfer full): the result, or %NULL on error
 *
 * Since: 1.0
 */
GVariant *
juno_client_call_variant_sync (JunoClient    *client,
                               const char    *function,
                               GVariant      *arguments,
                               int            timeout_msec,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(GVariant) sunk = arguments != NULL ? g_variant_ref_sink (arguments) : NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) answer = NULL;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), NULL);
  if (!dictionary_to_node (sunk, _("arguments"), &node, error))
    return NULL;
  answer = juno_client_call_sync (client, function, node, timeout_msec, cancellable, error);
  return answer != NULL ? node_to_variant (answer, error) : NULL;
}

/**
 * juno_client_trigger_variant_sync:
 * @client: a #JunoClient
 * @hook: the hook's bare name
 * @data: (nullable): the data, a dictionary (`a{sv}`); %NULL for `{}`. A
 *   floating reference is sunk.
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Like juno_client_trigger_sync(), with the data as a #GVariant.
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
juno_client_trigger_variant_sync (JunoClient    *client,
                                  const char    *hook,
                                  GVariant      *data,
                                  GCancellable  *cancellable,
                                  GError       **error)
{
  g_autoptr(GVariant) sunk = data != NULL ? g_variant_ref_sink (data) : NULL;
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  if (!dictionary_to_node (sunk, _("data"), &node, error))
    return FALSE;
  return juno_client_trigger_sync (client, hook, node, cancellable, error);
}

/**
 * juno_invocation_dup_arguments_variant:
 * @invocation: a #JunoInvocation
 *
 * The call's arguments as a dictionary.
 *
 * Returns: (transfer full): the arguments, an `a{sv}`
 *
 * Since: 1.0
 */
GVariant *
juno_invocation_dup_arguments_variant (JunoInvocation *invocation)
{
  g_autoptr(GError) error = NULL;
  GVariant *value;

  g_return_val_if_fail (JUNO_IS_INVOCATION (invocation), NULL);
  value = json_gvariant_deserialize (juno_invocation_get_arguments (invocation), "a{sv}", &error);
  if (value == NULL)
    return g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  return g_variant_ref_sink (value);
}

/**
 * juno_invocation_return_variant:
 * @invocation: a #JunoInvocation
 * @value: (nullable): the result; %NULL for JSON `null`. A floating
 *   reference is sunk.
 *
 * Answers the call with @value, mapped to JSON as json_gvariant_serialize()
 * does (see juno_client_call_variant_async()).
 *
 * Since: 1.0
 */
void
juno_invocation_return_variant (JunoInvocation *invocation,
                                GVariant       *value)
{
  g_autoptr(GVariant) sunk = value != NULL ? g_variant_ref_sink (value) : NULL;
  g_autoptr(JsonNode) node = NULL;

  g_return_if_fail (JUNO_IS_INVOCATION (invocation));
  if (sunk != NULL)
    node = json_gvariant_serialize (sunk);
  juno_invocation_return_value (invocation, node);
}
