/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-client-messages.c: the wire side of JunoClient
 *
 * Registers on every new link, checks the broker's lines with the broker's
 * own grammar (juno-protocol.c), decodes them with json-glib and routes them: answers to the requests waiting for them, hooks to the
 * hook-triggered signal, calls to the declared function's handler through a
 * JunoInvocation. Answers from handlers go out only on the link the call
 * came in on.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "juno.h"
#include "juno-client-private.h"
#include "juno-error-private.h"
#include "juno-common.h"
#include "juno-protocol.h"

/* -- incoming messages -------------------------------------------------- */

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_int (JsonObject *object, const char *name, gint64 *out)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static void
handle_registered (JunoClient *self, const char *id)
{
  if (g_strcmp0 (id, self->register_id) != 0)
    return;
  g_clear_pointer (&self->register_id, g_free);
  self->registered = TRUE;
  g_debug ("Registered as '%s'", self->module_id);
}

static void
handle_error (JunoClient *self, const char *id, gint64 code)
{
  JunoRequest *request;
  g_autoptr(GError) error = NULL;

  juno_set_protocol_error (&error, code < 0 || code > G_MAXINT ? 0 : (int) code);
  if (self->register_id != NULL && g_strcmp0 (id, self->register_id) == 0)
    {
      g_prefix_error (&error, _("Could not register as '%s': "), self->module_id);
      /* No retry for a refusal on the first connection; later ones retry. */
      juno_client_lose_link (self, error);
      return;
    }

  request = g_hash_table_lookup (self->requests, id);
  if (request == NULL)
    {
      g_debug ("Error %" G_GINT64_FORMAT " for unknown request '%s'", code, id);
      return;
    }
  if (request->kind == JUNO_REQUEST_DECLARE || request->kind == JUNO_REQUEST_LISTEN)
    g_warning ("The broker refused a request of module '%s': %s", self->module_id, error->message);
  juno_request_fail (self, request, g_steal_pointer (&error));
}

static void
complete_request (JunoClient *self, const char *id, JunoRequestKind kind, JsonNode *data)
{
  JunoRequest *request = g_hash_table_lookup (self->requests, id);
  g_autoptr(GTask) task = NULL;

  if (request == NULL || request->kind != kind)
    {
      g_debug ("Answer for unknown request '%s'", id);
      return;
    }
  task = g_steal_pointer (&request->task);
  juno_request_free (juno_request_steal (self, request));
  if (task == NULL)
    return;
  if (kind == JUNO_REQUEST_CALL)
    g_task_return_pointer (task, data != NULL ? json_node_copy (data) : json_node_new (JSON_NODE_NULL),
                           (GDestroyNotify) json_node_unref);
  else
    g_task_return_boolean (task, TRUE);
}

static void
handle_hook (JunoClient *self, const char *hook, JsonNode *data)
{
  g_autoptr(JsonNode) empty = NULL;

  if (g_strcmp0 (hook, JUNO_BUILTIN_MODULE_ID "." JUNO_HOOK_ACTIVATED) == 0)
    juno_client_set_active (self, TRUE);
  else if (g_strcmp0 (hook, JUNO_BUILTIN_MODULE_ID "." JUNO_HOOK_DEACTIVATED) == 0)
    juno_client_set_active (self, FALSE);

  if (data == NULL)
    {
      empty = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (empty, json_object_new ());
      data = empty;
    }
  juno_client_emit_hook_triggered (self, hook, data);
}

static void
handle_call (JunoClient *self, const char *token, JsonObject *message)
{
  const char *name = member_string (message, "function");
  JsonNode *arguments = json_object_get_member (message, "arguments");
  g_autoptr(JunoInvocation) invocation = NULL;
  g_autoptr(JsonNode) empty = NULL;
  JunoFunctionEntry *function;

  if (arguments == NULL || !JSON_NODE_HOLDS_OBJECT (arguments))
    {
      empty = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (empty, json_object_new ());
      arguments = empty;
    }
  function = name != NULL ? g_hash_table_lookup (self->functions, name) : NULL;
  if (function == NULL)
    {
      juno_client_send_answer (self, self->generation, token, NULL, JUNO_ERROR_UNKNOWN_FUNCTION);
      return;
    }
  invocation = juno_invocation_new (self, self->generation, token, name,
                                    member_string (message, "caller"), arguments);
  function->handler (self, invocation, function->user_data);
}

static void
handle_message (JunoClient *self, JsonObject *message)
{
  const char *id = member_string (message, "requestId");
  gint64 type, code = 0;

  if (id == NULL || !member_int (message, "type", &type))
    {
      g_debug ("Ignoring a message without requestId or type");
      return;
    }

  switch (type)
    {
    case JUNO_MSG_ERROR:
      member_int (message, "error", &code);
      handle_error (self, id, code);
      break;
    case JUNO_MSG_MODULE_REGISTERED:
      handle_registered (self, id);
      break;
    case JUNO_MSG_FUNCTION_CALL:
      handle_call (self, id, message);
      break;
    case JUNO_MSG_FUNCTION_RESPONSE:
      complete_request (self, id, JUNO_REQUEST_CALL, json_object_get_member (message, "data"));
      break;
    case JUNO_MSG_HOOK_REGISTERED:
      complete_request (self, id, JUNO_REQUEST_LISTEN, NULL);
      break;
    case JUNO_MSG_HOOK_TRIGGERED:
      if (member_string (message, "hook") != NULL)
        handle_hook (self, member_string (message, "hook"), json_object_get_member (message, "data"));
      else
        complete_request (self, id, JUNO_REQUEST_TRIGGER, NULL);
      break;
    case JUNO_MSG_FUNCTION_DECLARED:
      complete_request (self, id, JUNO_REQUEST_DECLARE, NULL);
      break;
    default:
      g_debug ("Ignoring a message of type %" G_GINT64_FORMAT, type);
    }
}

/* Decodes a line into event->parsed (a JSON object), or returns FALSE for
 * a line to ignore. */
static gboolean
decode_line (JunoLinkEvent *event)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  JunoMessage msg;
  JunoParseResult result;
  JsonNode *root;

  if (event->parsed != NULL)
    return TRUE;
  /* the broker's grammar first: json-glib alone would take {'a':1} or
   * turn 1e400 into infinity */
  result = juno_message_parse (event->line, strlen (event->line), &msg);
  if (result != JUNO_PARSE_OK)
    {
      g_debug ("Ignoring a line from the broker that %s", juno_parse_result_to_string (result));
      return FALSE;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, event->line, -1, &error))
    {
      g_debug ("Ignoring a line that is not JSON: %s", error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  event->parsed = json_node_ref (root);
  return TRUE;
}

static void
handle_connected (JunoClient *self)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *line = NULL;
  GHashTableIter iter;
  const char *module, *requirement;

  g_free (self->register_id);
  self->register_id = juno_client_next_request_id (self);
  builder = juno_message_begin (self->register_id, JUNO_MSG_REGISTER_MODULE);
  json_builder_set_member_name (builder, "moduleId");
  json_builder_add_string_value (builder, self->module_id);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, self->version);
  json_builder_set_member_name (builder, "dependencies");
  json_builder_begin_object (builder);
  g_hash_table_iter_init (&iter, self->dependencies);
  while (g_hash_table_iter_next (&iter, (gpointer *) &module, (gpointer *) &requirement))
    {
      json_builder_set_member_name (builder, module);
      json_builder_add_string_value (builder, requirement);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  line = juno_message_encode (builder);
  juno_client_send_line (self, line);
}

static void
handle_event (JunoClient *self, JunoLinkEvent *event)
{
  switch (event->type)
    {
    case JUNO_LINK_EVENT_CONNECTED:
      handle_connected (self);
      break;
    case JUNO_LINK_EVENT_LINE:
      if (decode_line (event))
        handle_message (self, json_node_get_object (event->parsed));
      break;
    case JUNO_LINK_EVENT_LOST:
      g_debug ("Connection to the broker lost: %s", event->error->message);
      juno_client_lose_link (self, event->error);
      break;
    }
}

void
juno_client_clear_inbox (JunoClient *self)
{
  g_queue_clear_full (&self->inbox, (GDestroyNotify) juno_link_event_free);
}

/* Moves what the link has received into the inbox. */
static void
drain_link (JunoClient *self)
{
  JunoLinkEvent *event;

  while (self->link != NULL && (event = juno_link_pop_event (self->link)) != NULL)
    g_queue_push_tail (&self->inbox, event);
}

/* Handles the inbox, in order, in the client's context. */
static void
process_events (JunoClient *self)
{
  G_GNUC_UNUSED g_autoptr(GObject) keep = g_object_ref (G_OBJECT (self)); /* may be dropped by a handler */

  for (;;)
    {
      g_autoptr(JunoLinkEvent) event = NULL;

      if (self->sync != NULL)
        return; /* juno_client_sync_end() schedules us again */
      drain_link (self);
      event = g_queue_pop_head (&self->inbox);
      if (event == NULL)
        return;
      handle_event (self, event);
    }
}

static gboolean
on_process (gpointer user_data)
{
  JunoClient *self = user_data;

  g_clear_pointer (&self->process_source, g_source_unref);
  process_events (self);
  return G_SOURCE_REMOVE;
}

void
juno_client_schedule_processing (JunoClient *self)
{
  if (self->process_source != NULL)
    return;
  self->process_source = g_idle_source_new ();
  g_source_set_priority (self->process_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->process_source, on_process, self, NULL);
  g_source_set_static_name (self->process_source, "[libjuno] client events");
  g_source_attach (self->process_source, self->context);
}

static void
on_link_ready (JunoLink *link, gpointer data)
{
  JunoClient *self = data;

  if (link == self->link)
    process_events (self);
}

/* Whether a connect_sync() is in progress: it handles everything. */
static gboolean
sync_takes_all (JunoClient *self)
{
  for (JunoSync *sync = self->sync; sync != NULL; sync = sync->outer)
    if (sync->all)
      return TRUE;
  return FALSE;
}

static gboolean
is_sync_request (JunoClient *self, const char *id)
{
  for (JunoSync *sync = self->sync; sync != NULL; sync = sync->outer)
    if (sync->request_id != NULL && g_strcmp0 (sync->request_id, id) == 0)
      return TRUE;
  return sync_takes_all (self);
}

/* Whether a synchronous call in progress handles @event now: the client's
 * own state (connection, registration, activation) and the answers the
 * calls in progress wait for. Not: incoming calls, hooks, other answers. */
static gboolean
concerns_sync (JunoClient *self, JunoLinkEvent *event)
{
  JsonObject *message;
  const char *id, *hook;
  gint64 type;

  if (event->type == JUNO_LINK_EVENT_CONNECTED)
    return TRUE;
  if (event->type == JUNO_LINK_EVENT_LOST)
    return sync_takes_all (self);
  if (!decode_line (event))
    return TRUE; /* ignored either way */
  message = json_node_get_object (event->parsed);
  id = member_string (message, "requestId");
  if (id == NULL || !member_int (message, "type", &type))
    return TRUE;
  switch (type)
    {
    case JUNO_MSG_MODULE_REGISTERED:
      return TRUE;
    case JUNO_MSG_ERROR:
      return g_strcmp0 (id, self->register_id) == 0 || is_sync_request (self, id);
    case JUNO_MSG_FUNCTION_RESPONSE:
    case JUNO_MSG_HOOK_REGISTERED:
    case JUNO_MSG_FUNCTION_DECLARED:
      return is_sync_request (self, id);
    case JUNO_MSG_FUNCTION_CALL:
      for (JunoSync *sync = self->sync; sync != NULL; sync = sync->outer)
        if (sync->self_call && g_strcmp0 (member_string (message, "caller"), self->module_id) == 0)
          return TRUE;
      return sync_takes_all (self);
    case JUNO_MSG_HOOK_TRIGGERED:
      hook = member_string (message, "hook");
      if (hook == NULL)
        return is_sync_request (self, id);
      return g_strcmp0 (hook, JUNO_BUILTIN_MODULE_ID "." JUNO_HOOK_ACTIVATED) == 0 ||
             g_strcmp0 (hook, JUNO_BUILTIN_MODULE_ID "." JUNO_HOOK_DEACTIVATED) == 0 ||
             sync_takes_all (self);
    default:
      return sync_takes_all (self);
    }
}

/* The link is lost but the loss waits in the inbox: fail the requests of
 * the synchronous calls in progress now, the rest when it is handled. */
static void
fail_sync_requests (JunoClient *self, const GError *lost)
{
  for (JunoSync *sync = self->sync; sync != NULL; sync = sync->outer)
    {
      JunoRequest *request = sync->request_id != NULL ? g_hash_table_lookup (self->requests, sync->request_id) : NULL;

      if (request != NULL)
        juno_request_fail (self, request,
                           g_error_new (JUNO_ERROR, JUNO_ERROR_DISCONNECTED,
                                        _("Connection to the broker lost: %s"), lost->message));
    }
}

/* One round of a synchronous call's wait: handles, in order, the events
 * that concern it, and leaves the others in the inbox. */
void
juno_client_pump_sync (JunoClient *self)
{
  G_GNUC_UNUSED g_autoptr(GObject) keep = g_object_ref (G_OBJECT (self));

  for (;;)
    {
      g_autoptr(JunoLinkEvent) event = NULL;
      GList *l;

      drain_link (self);
      for (l = self->inbox.head; l != NULL; l = l->next)
        {
          JunoLinkEvent *candidate = l->data;

          if (concerns_sync (self, candidate))
            break;
          if (candidate->type == JUNO_LINK_EVENT_LOST)
            fail_sync_requests (self, candidate->error);
        }
      if (l == NULL)
        return;
      event = l->data;
      g_queue_delete_link (&self->inbox, l);
      handle_event (self, event);
    }
}

void
juno_client_start_link (JunoClient *self)
{
  g_autoptr(GSocketConnectable) address = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->register_id, g_free);
  address = juno_address_parse (self->address, &error);
  if (address == NULL)
    {
      juno_client_lose_link (self, error);
      return;
    }
  self->link = juno_link_new (address, self->context, on_link_ready, self);
  if (self->sync != NULL)
    juno_link_set_waiter (self->link, self->sync->context);
}

gboolean
juno_client_is_current (JunoClient *self, guint generation)
{
  return self->link != NULL && generation == self->generation;
}

void
juno_client_send_answer (JunoClient *self,
                         guint generation,
                         const char *token,
                         JsonNode *value,
                         int code)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  if (!juno_client_is_current (self, generation))
    {
      g_debug ("Dropping the answer to '%s': its connection is gone", token);
      return;
    }
  builder = juno_message_begin (token, value != NULL ? JUNO_MSG_FUNCTION_RESPONSE : JUNO_MSG_ERROR);
  if (value != NULL)
    {
      json_builder_set_member_name (builder, "data");
      json_builder_add_value (builder, json_node_copy (value));
    }
  else
    {
      json_builder_set_member_name (builder, "error");
      json_builder_add_int_value (builder, code);
    }
  json_builder_end_object (builder);
  line = juno_message_encode (builder);
  if (value != NULL && !juno_message_check (line, &error))
    {
      /* the caller gets an error now rather than no answer at all */
      g_warning ("The answer to call '%s' cannot be sent, answering with error %d: %s", token,
                 JUNO_ERROR_MALFORMED_REQUEST, error->message);
      juno_client_send_answer (self, generation, token, NULL, JUNO_ERROR_MALFORMED_REQUEST);
      return;
    }
  juno_client_send_line (self, line);
}
