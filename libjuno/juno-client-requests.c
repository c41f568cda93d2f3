/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-client-requests.c: requests in flight and the calls that make them
 *
 * Every request a module sends is tracked by id (JunoClient.requests) until
 * its answer comes, its timeout or cancellable fires, or the connection is
 * lost; calls and triggers complete their GTask then. Requests made while
 * the module is not active wait in JunoClient.queue. The _sync forms run
 * a private main context until their GTask completes (see below).
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "juno.h"
#include "juno-client-private.h"
#include "juno-error-private.h"
#include "juno-common.h"
#include "juno-protocol.h"

/* -- requests ----------------------------------------------------------- */

void
juno_request_free (JunoRequest *request)
{
  if (request->timeout_source != NULL)
    g_source_destroy (request->timeout_source);
  g_clear_pointer (&request->timeout_source, g_source_unref);
  if (request->cancel_source != NULL)
    g_source_destroy (request->cancel_source);
  g_clear_pointer (&request->cancel_source, g_source_unref);
  g_clear_object (&request->task);
  g_free (request->id);
  g_free (request->line);
  g_free (request);
}

/* Takes the request out of the tables; the caller frees it. */
JunoRequest *
juno_request_steal (JunoClient *self, JunoRequest *request)
{
  if (request->queued)
    g_queue_remove (&self->queue, request);
  request->queued = FALSE;
  g_hash_table_steal (self->requests, request->id);
  return request;
}

void
juno_request_fail (JunoClient *self, JunoRequest *request, GError *error /* taken */)
{
  g_autoptr(GTask) task = g_steal_pointer (&request->task);

  juno_request_free (juno_request_steal (self, request));
  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

char *
juno_client_next_request_id (JunoClient *self)
{
  char *id = NULL;

  do
    {
      g_free (id);
      id = g_strdup_printf ("%" G_GUINT64_FORMAT, ++self->next_id);
    }
  while (g_hash_table_contains (self->requests, id));
  return id;
}

char *
juno_message_encode (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

JsonBuilder *
juno_message_begin (const char *request_id, JunoMessageType type)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "requestId");
  json_builder_add_string_value (builder, request_id);
  json_builder_set_member_name (builder, "type");
  json_builder_add_int_value (builder, type);
  return builder;
}

void
juno_client_send_line (JunoClient *self, const char *line)
{
  g_return_if_fail (self->link != NULL);
  juno_link_send (self->link, line);
}

void
juno_client_send_request (JunoClient *self, JunoRequest *request)
{
  juno_client_send_line (self, request->line);
}

static gboolean
on_request_timeout (gpointer user_data)
{
  JunoRequest *request = user_data;

  juno_request_fail (request->client, request,
                g_error_new_literal (JUNO_ERROR, JUNO_ERROR_TIMED_OUT,
                                     _("The call timed out")));
  return G_SOURCE_REMOVE;
}

static gboolean
on_request_cancelled (GCancellable *cancellable, gpointer user_data)
{
  JunoRequest *request = user_data;

  juno_request_fail (request->client, request,
                g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                     _("Operation was cancelled")));
  return G_SOURCE_REMOVE;
}

/* Checks a line built with json-glib against the broker's grammar before
 * it goes out: json-glib writes infinity and NaN as "inf" and "nan", which
 * no JSON parser takes, and the broker would drop such a line without an
 * answer, leaving the caller to wait. */
gboolean
juno_message_check (const char *line, GError **error)
{
  JunoMessage msg;
  JunoParseResult result = juno_message_parse (line, strlen (line), &msg);

  if (result == JUNO_PARSE_OK)
    return TRUE;
  if (result == JUNO_PARSE_INVALID_JSON)
    g_set_error_literal (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                         _("The message cannot be sent: a value has no JSON form (infinity or NaN?)"));
  else
    g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                 _("The message cannot be sent: it %s"), _(juno_parse_result_to_string (result)));
  return FALSE;
}

/* Checks JSON text an application gives (arguments, data) with the broker's
 * grammar and appends its compact form: the same tokens, numbers with their
 * exact digits, no whitespace. @what names the text in the error. */
gboolean
juno_append_json_object (GString *out, const char *text, const char *what, GError **error)
{
  JunoJsonKind kind;
  JunoParseResult result;

  if (text == NULL)
    {
      g_string_append (out, "{}");
      return TRUE;
    }
  result = juno_json_normalize (text, strlen (text), out, &kind);
  if (result == JUNO_PARSE_OK && kind != JUNO_JSON_OBJECT)
    result = JUNO_PARSE_NOT_OBJECT;
  if (result != JUNO_PARSE_OK)
    {
      /* TRANSLATORS: the first %s is "arguments" or "data", the second
       * says why, e.g. "is not valid JSON (RFC 8259)" */
      g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT, _("Invalid JSON %s: the text %s"), what,
                   _(juno_parse_result_to_string (result)));
      return FALSE;
    }
  return TRUE;
}

/* Creates a request for the message in @builder, tracks it, and sends it
 * now or queues it until the module is active. */
void
juno_client_submit_request (JunoClient *self,
                JunoRequestKind kind,
                JsonBuilder *builder,
                const char *id,
                GTask *task,
                int timeout_msec,
                GCancellable *cancellable)
{
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;

  json_builder_end_object (builder);
  line = juno_message_encode (builder);
  if (!juno_message_check (line, &error))
    {
      if (task != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_warning ("Not sending a request: %s", error->message);
      return;
    }
  juno_client_submit_line (self, kind, g_steal_pointer (&line), id, task, timeout_msec, cancellable);
}

/* The same for a message already encoded and checked. Completes @task
 * with an error when there is no link. */
void
juno_client_submit_line (JunoClient *self,
                         JunoRequestKind kind,
                         char *line /* taken */,
                         const char *id,
                         GTask *task,
                         int timeout_msec,
                         GCancellable *cancellable)
{
  JunoRequest *request;
  GMainContext *context;

  if (self->link == NULL)
    {
      g_free (line);
      if (task != NULL)
        g_task_return_new_error (task, JUNO_ERROR, JUNO_ERROR_NOT_CONNECTED,
                                 _("Not connected to the broker"));
      return;
    }

  request = g_new0 (JunoRequest, 1);
  request->client = self;
  request->kind = kind;
  request->id = g_strdup (id);
  request->line = line;
  request->task = task != NULL ? g_object_ref (task) : NULL;
  g_hash_table_insert (self->requests, request->id, request);

  /* The request of a synchronous call is timed and cancelled in that
   * call's private context, which is the task's. */
  context = task != NULL ? g_task_get_context (task) : self->context;
  for (JunoSync *sync = self->sync; sync != NULL; sync = sync->outer)
    if (task != NULL && context == sync->context && sync->request_id == NULL)
      sync->request_id = g_strdup (id);
  if (timeout_msec > 0)
    {
      request->timeout_source = g_timeout_source_new (timeout_msec);
      g_source_set_callback (request->timeout_source, on_request_timeout, request, NULL);
      g_source_attach (request->timeout_source, context);
    }
  if (cancellable != NULL)
    {
      request->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (request->cancel_source, G_SOURCE_FUNC (on_request_cancelled),
                             request, NULL);
      g_source_attach (request->cancel_source, context);
    }

  if (self->active)
    juno_client_send_request (self, request);
  else
    {
      request->queued = TRUE;
      g_queue_push_tail (&self->queue, request);
    }
}

void
juno_client_send_declaration (JunoClient *self, const char *name)
{
  g_autofree char *id = juno_client_next_request_id (self);
  g_autoptr(JsonBuilder) builder = juno_message_begin (id, JUNO_MSG_DECLARE_FUNCTION);

  json_builder_set_member_name (builder, "function");
  json_builder_add_string_value (builder, name);
  juno_client_submit_request (self, JUNO_REQUEST_DECLARE, builder, id, NULL, 0, NULL);
}

void
juno_client_send_listen (JunoClient *self, const char *hook)
{
  g_autofree char *id = juno_client_next_request_id (self);
  g_autoptr(JsonBuilder) builder = juno_message_begin (id, JUNO_MSG_REGISTER_HOOK);

  json_builder_set_member_name (builder, "hook");
  json_builder_add_string_value (builder, hook);
  juno_client_submit_request (self, JUNO_REQUEST_LISTEN, builder, id, NULL, 0, NULL);
}

/* -- sync wrappers ------------------------------------------------------
 *
 * As GIO's _sync calls do, a synchronous call runs a private main context
 * of its own, never the client's: its GTask, timeout and cancellable live
 * there, and the link wakes it when events come in. Of those events it
 * handles only what concerns the client's own state (connecting,
 * registration, activation) and the answer it waits for; calls, hooks and
 * answers to other requests stay in the inbox, in order, and are handled
 * in the client's context once the call has returned. */

gboolean
juno_client_sync_begin (JunoClient *self, JunoSync *sync, gboolean all, GError **error)
{
  if (!g_main_context_acquire (self->context))
    {
      g_set_error_literal (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                           _("Synchronous calls must be made from the thread that runs the client's main context"));
      return FALSE;
    }
  sync->outer = self->sync;
  sync->context = g_main_context_new ();
  sync->request_id = NULL;
  sync->all = all;
  sync->self_call = FALSE;
  self->sync = sync;
  g_main_context_push_thread_default (sync->context);
  if (self->link != NULL)
    juno_link_set_waiter (self->link, sync->context);
  return TRUE;
}

/* A synchronous call of one of the client's own functions would wait for
 * the client itself: the calls it makes to itself are handled during it. */
void
juno_client_sync_set_function (JunoClient *self, JunoSync *sync, const char *function)
{
  gsize len = strlen (self->module_id);

  sync->self_call = function != NULL && strncmp (function, self->module_id, len) == 0 &&
                    function[len] == '.';
}

GAsyncResult *
juno_client_sync_end (JunoClient *self, JunoSync *sync, GAsyncResult **result)
{
  G_GNUC_UNUSED g_autoptr(GObject) keep = g_object_ref (G_OBJECT (self));

  while (*result == NULL)
    {
      juno_client_pump_sync (self);
      if (*result == NULL)
        g_main_context_iteration (sync->context, TRUE);
    }
  g_assert (self->sync == sync);
  self->sync = sync->outer;
  if (self->link != NULL)
    juno_link_set_waiter (self->link, self->sync != NULL ? self->sync->context : NULL);
  g_main_context_pop_thread_default (sync->context);
  g_main_context_unref (sync->context);
  g_free (sync->request_id);
  g_main_context_release (self->context);
  /* what was held back, or came after the last look, is handled when the
   * client's context runs again */
  if (self->sync == NULL)
    juno_client_schedule_processing (self);
  return *result;
}

void
juno_client_on_sync_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/**
 * juno_client_call_async:
 * @client: a #JunoClient
 * @function: the function, "module.function"
 * @arguments: (nullable): a JSON object with the arguments, or %NULL for none;
 *   anything but an object fails with %JUNO_ERROR_INVALID_ARGUMENT
 * @timeout_msec: milliseconds to wait for the answer; -1 for
 *   #JunoClient:default-timeout, 0 for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the answer
 * @user_data: data for @callback
 *
 * Calls a function of another module (or of this one). While the module is
 * connected but not active, the call waits until it is; with no connection
 * at all it fails with %JUNO_ERROR_NOT_CONNECTED.
 *
 * Since: 1.0
 */
void
juno_client_call_async (JunoClient          *client,
                        const char          *function,
                        JsonNode            *arguments,
                        int                  timeout_msec,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *id = NULL;

  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (function != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, juno_client_call_async);
  if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT (arguments))
    {
      g_task_return_new_error (task, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                               _("The arguments of a call must be a JSON object"));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  id = juno_client_next_request_id (client);
  builder = juno_message_begin (id, JUNO_MSG_FUNCTION_CALL);
  json_builder_set_member_name (builder, "function");
  json_builder_add_string_value (builder, function);
  json_builder_set_member_name (builder, "arguments");
  if (arguments != NULL)
    json_builder_add_value (builder, json_node_copy (arguments));
  else
    {
      json_builder_begin_object (builder);
      json_builder_end_object (builder);
    }
  juno_client_submit_request (client, JUNO_REQUEST_CALL, builder, id, task,
                  timeout_msec < 0 ? client->default_timeout : timeout_msec, cancellable);
}

/**
 * juno_client_call_finish:
 * @client: a #JunoClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * Finishes juno_client_call_async(). An error answer arrives as a
 * %JUNO_ERROR with the code the broker or the called module sent.
 *
 * Returns: (transfer full): the result (a JSON `null` node when the callee
 *   sent no data), or %NULL on error
 *
 * Since: 1.0
 */
JsonNode *
juno_client_call_finish (JunoClient    *client,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, client), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * juno_client_call_sync:
 * @client: a #JunoClient
 * @function: the function, "module.function"
 * @arguments: (nullable): a JSON object with the arguments
 * @timeout_msec: as for juno_client_call_async()
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Calls a function and blocks until the answer arrives, as GIO's
 * synchronous calls do: it runs a private main context, never the
 * client's (the application's), so no other source of the application is
 * dispatched meanwhile — no UI event, no timeout, no incoming call of the
 * client's functions, no hook, no answer to an asynchronous call. Those
 * are handled, in order, once the call has returned. A call of one of the
 * client's own functions ("own-module-id.fn") is the exception: the calls
 * the client makes to itself are handled during it, so it does not
 * deadlock. A module in the same thread whose handler would answer the
 * call cannot, while the thread blocks: use juno_client_call_async() for
 * that.
 *
 * Returns: (transfer full): the result, or %NULL on error
 *
 * Since: 1.0
 */
JsonNode *
juno_client_call_sync (JunoClient    *client,
                       const char    *function,
                       JsonNode      *arguments,
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
  juno_client_call_async (client, function, arguments, timeout_msec, cancellable,
                          juno_client_on_sync_done, &result);
  return juno_client_call_finish (client, juno_client_sync_end (client, &sync, &result), error);
}

/* A hook is triggered by its bare name: non-empty, no dot. */
gboolean
juno_check_trigger_hook (const char *hook, GError **error)
{
  if (juno_hook_name_is_valid (hook, -1))
    return TRUE;
  g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
               _("Invalid hook name '%s': give the bare name, without the module"), hook);
  return FALSE;
}

/**
 * juno_client_trigger_async:
 * @client: a #JunoClient
 * @hook: the hook's bare name; it fires as "module-id.hook"
 * @data: (nullable): a JSON object handed to the listeners, %NULL for `{}`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the broker has taken the trigger
 * @user_data: data for @callback
 *
 * Triggers one of this module's hooks.
 *
 * Since: 1.0
 */
void
juno_client_trigger_async (JunoClient          *client,
                           const char          *hook,
                           JsonNode            *data,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (hook != NULL);

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, juno_client_trigger_async);
  if (data != NULL && !JSON_NODE_HOLDS_OBJECT (data))
    {
      g_task_return_new_error (task, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                               _("The data of a hook must be a JSON object"));
      return;
    }
  if (!juno_check_trigger_hook (hook, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  id = juno_client_next_request_id (client);
  builder = juno_message_begin (id, JUNO_MSG_TRIGGER_HOOK);
  json_builder_set_member_name (builder, "hook");
  json_builder_add_string_value (builder, hook);
  json_builder_set_member_name (builder, "data");
  if (data != NULL)
    json_builder_add_value (builder, json_node_copy (data));
  else
    {
      json_builder_begin_object (builder);
      json_builder_end_object (builder);
    }
  juno_client_submit_request (client, JUNO_REQUEST_TRIGGER, builder, id, task, 0, cancellable);
}

/**
 * juno_client_trigger_finish:
 * @client: a #JunoClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * Finishes juno_client_trigger_async().
 *
 * Returns: %TRUE when the broker has taken the trigger
 *
 * Since: 1.0
 */
gboolean
juno_client_trigger_finish (JunoClient    *client,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, client), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * juno_client_trigger_sync:
 * @client: a #JunoClient
 * @hook: the hook's bare name
 * @data: (nullable): a JSON object, %NULL for `{}`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Triggers a hook and blocks until the broker has taken it, as
 * juno_client_call_sync() blocks.
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
juno_client_trigger_sync (JunoClient    *client,
                          const char    *hook,
                          JsonNode      *data,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  JunoSync sync;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  if (!juno_client_sync_begin (client, &sync, FALSE, error))
    return FALSE;
  juno_client_trigger_async (client, hook, data, cancellable, juno_client_on_sync_done, &result);
  return juno_client_trigger_finish (client, juno_client_sync_end (client, &sync, &result), error);
}

static void
on_roundtrip_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonNode) node = NULL;
  GError *error = NULL;

  node = juno_client_call_finish (JUNO_CLIENT (source), result, &error);
  if (node == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * juno_client_roundtrip_async:
 * @client: a #JunoClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the broker has handled every earlier request
 * @user_data: data for @callback
 *
 * Completes once the broker has handled every request this client sent
 * before, declarations and listens included: the broker handles a module's
 * requests in order and this one needs an answer. Like any request it waits
 * for the module to be active.
 *
 * Since: 1.0
 */
void
juno_client_roundtrip_async (JunoClient          *client,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonNode) arguments = json_node_new (JSON_NODE_OBJECT);

  g_return_if_fail (JUNO_IS_CLIENT (client));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, juno_client_roundtrip_async);
  json_node_take_object (arguments, json_object_new ());
  juno_client_call_async (client, JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_GET_MODULE_INFO,
                          arguments, 0, cancellable, on_roundtrip_answer, g_steal_pointer (&task));
}

/**
 * juno_client_roundtrip_finish:
 * @client: a #JunoClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * Finishes juno_client_roundtrip_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
juno_client_roundtrip_finish (JunoClient    *client,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, client), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * juno_client_roundtrip_sync:
 * @client: a #JunoClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of juno_client_roundtrip_async(); blocks as
 * juno_client_call_sync() does.
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
juno_client_roundtrip_sync (JunoClient    *client,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  JunoSync sync;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  if (!juno_client_sync_begin (client, &sync, FALSE, error))
    return FALSE;
  juno_client_roundtrip_async (client, cancellable, juno_client_on_sync_done, &result);
  return juno_client_roundtrip_finish (client, juno_client_sync_end (client, &sync, &result), error);
}
