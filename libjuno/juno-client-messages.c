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

static void
on_link_line (JunoLink *link, const char *line, gpointer data)
{
  JunoClient *self = data;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  G_GNUC_UNUSED g_autoptr(GObject) keep = g_object_ref (G_OBJECT (self)); /* may be dropped by a handler */
  JunoMessage msg;
  JunoParseResult result;
  JsonNode *root;

  /* the broker's grammar first: json-glib alone would take {'a':1} or
   * turn 1e400 into infinity */
  result = juno_message_parse (line, strlen (line), &msg);
  if (result != JUNO_PARSE_OK)
    {
      g_debug ("Ignoring a line from the broker that %s", juno_parse_result_to_string (result));
      return;
    }
  if (!json_parser_load_from_data (parser, line, -1, &error))
    {
      g_debug ("Ignoring a line that is not JSON: %s", error->message);
      return;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  handle_message (self, json_node_get_object (root));
}

static void
on_link_connected (JunoLink *link, gpointer data)
{
  JunoClient *self = data;
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
on_link_lost (JunoLink *link, const GError *error, gpointer data)
{
  JunoClient *self = data;

  g_debug ("Connection to the broker lost: %s", error->message);
  juno_client_lose_link (self, error);
}

static const JunoLinkCallbacks link_callbacks = {
  .connected = on_link_connected,
  .line = on_link_line,
  .lost = on_link_lost,
};

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
  /* The link runs in the context it is created in: ours. */
  g_main_context_push_thread_default (self->context);
  self->link = juno_link_new (address, &link_callbacks, self);
  g_main_context_pop_thread_default (self->context);
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
