/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-observer.c: junoctl's observer connection to the broker
 *
 * The inspection verbs (list, info, stats, monitor, listen, wait, trigger
 * and the shell completion) connect without registering a module: the
 * broker serves such an observer juno's own functions, hook patterns and
 * triggers the policy grants, and announces nothing about it
 * (docs/protocol.md, "Observers"). So looking at the broker fires no hook,
 * no D-Bus signal and no log line.
 *
 * One request at a time: junoctl_observer_request() writes a line and runs
 * the main context until its answer, the loss of the connection or the
 * request timeout; hook deliveries that come meanwhile go to the verb's
 * hook function. A line longer than JUNOCTL_MAX_LINE (far more than the
 * broker's --max-message-size allows) ends the connection as lost.
 */
#include "config.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gi18n.h>
#include <string.h>

#include "junoctl.h"
#include "juno-protocol.h"

/* More than the broker's default --max-message-size (1 MiB) */
#define JUNOCTL_MAX_LINE (64 * 1024 * 1024)

struct _JunoctlObserver
{
  GSocketConnection *connection;
  GDataInputStream *input;
  GCancellable *cancellable;
  guint64 next_id;
  char *waiting_for;   /* requestId of the request in flight */
  JsonObject *answer;  /* its answer, once here */
  gboolean lost;
  JunoctlHookFunc hook_func;
  gpointer hook_data;
  JunoctlLostFunc lost_func;
  gpointer lost_data;
};

static void read_next (JunoctlObserver *obs);

void
junoctl_observer_free (JunoctlObserver *obs)
{
  if (obs == NULL)
    return;
  g_cancellable_cancel (obs->cancellable);
  if (obs->connection != NULL)
    g_io_stream_close (G_IO_STREAM (obs->connection), NULL, NULL);
  g_clear_object (&obs->input);
  g_clear_object (&obs->connection);
  g_clear_object (&obs->cancellable);
  g_clear_pointer (&obs->answer, json_object_unref);
  g_free (obs->waiting_for);
  g_free (obs);
}

static GSocketConnectable *
parse_address (const char *address, GError **error)
{
  if (g_str_has_prefix (address, "unix:"))
    return G_SOCKET_CONNECTABLE (g_unix_socket_address_new (address + 5));
  if (g_str_has_prefix (address, "tcp:"))
    return g_network_address_parse (address + 4, 0, error);
  g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT, _("not a broker address: %s"), address);
  return NULL;
}

JunoctlObserver *
junoctl_observer_connect (const char *address, GError **error)
{
  g_autoptr(GSocketConnectable) connectable = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  JunoctlObserver *obs;
  GSocketConnection *connection;

  connectable = parse_address (address, error);
  if (connectable == NULL)
    return NULL;
  g_socket_client_set_timeout (client, JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC);
  connection = g_socket_client_connect (client, connectable, NULL, error);
  if (connection == NULL)
    {
      g_prefix_error (error, _("cannot connect to the broker at %s: "),
                      g_str_has_prefix (address, "unix:") ? address + 5 : address);
      return NULL;
    }
  obs = g_new0 (JunoctlObserver, 1);
  obs->connection = connection;
  obs->cancellable = g_cancellable_new ();
  obs->input = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (obs->input, G_DATA_STREAM_NEWLINE_TYPE_LF);
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (obs->input), 64 * 1024);
  read_next (obs);
  return obs;
}

void
junoctl_observer_set_hook_func (JunoctlObserver *obs, JunoctlHookFunc func, gpointer user_data)
{
  obs->hook_func = func;
  obs->hook_data = user_data;
}

void
junoctl_observer_set_lost_func (JunoctlObserver *obs, JunoctlLostFunc func, gpointer user_data)
{
  obs->lost_func = func;
  obs->lost_data = user_data;
}

gboolean
junoctl_observer_is_lost (JunoctlObserver *obs)
{
  return obs->lost;
}

/* A hook delivery: its data goes on as the broker wrote it (as text) and
 * parsed (for verbs that look inside). */
static void
handle_hook (JunoctlObserver *obs, const JunoMessage *msg)
{
  g_autofree char *hook = juno_json_value_dup_string (&msg->keys[JUNO_KEY_HOOK]);
  g_autofree char *data_json = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  const JunoJsonValue *data = &msg->keys[JUNO_KEY_DATA];

  if (hook == NULL || obs->hook_func == NULL)
    return;
  if (data->kind != JUNO_JSON_ABSENT)
    {
      /* as written, only the whitespace between tokens removed */
      g_autoptr(GString) compact = g_string_new (NULL);
      JunoJsonKind kind;

      if (juno_json_normalize (data->text, data->len, compact, &kind) != JUNO_PARSE_OK)
        return;
      data_json = g_string_free (g_steal_pointer (&compact), FALSE);
    }
  else
    data_json = g_strdup ("{}");
  if (!json_parser_load_from_data (parser, data_json, -1, NULL))
    return;
  obs->hook_func (data_json, hook, json_parser_get_root (parser), obs->hook_data);
}

static void
handle_line (JunoctlObserver *obs, const char *line, gsize len)
{
  g_autoptr(JsonParser) parser = NULL;
  JunoMessage msg;
  gint64 type;
  JsonNode *root;
  JsonObject *message;
  const char *request_id;

  /* the broker's own grammar; its lines always pass */
  if (juno_message_parse (line, len, &msg) != JUNO_PARSE_OK)
    return;
  if (juno_json_value_get_int64 (&msg.keys[JUNO_KEY_TYPE], &type) && type == JUNO_MSG_HOOK_TRIGGERED &&
      msg.keys[JUNO_KEY_HOOK].kind == JUNO_JSON_STRING)
    return handle_hook (obs, &msg);

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, line, (gssize) len, NULL))
    return;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  message = json_node_get_object (root);
  request_id = json_object_get_string_member_with_default (message, "requestId", NULL);
  if (obs->waiting_for != NULL && g_strcmp0 (request_id, obs->waiting_for) == 0)
    {
      g_clear_pointer (&obs->answer, json_object_unref);
      obs->answer = json_object_ref (message);
    }
}

static void
lose (JunoctlObserver *obs)
{
  if (obs->lost)
    return;
  obs->lost = TRUE;
  if (obs->lost_func != NULL)
    obs->lost_func (obs->lost_data);
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JunoctlObserver *obs = user_data;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (line == NULL || len > JUNOCTL_MAX_LINE)
    return lose (obs);
  handle_line (obs, line, len);
  read_next (obs);
}

static void
read_next (JunoctlObserver *obs)
{
  g_data_input_stream_read_line_async (obs->input, G_PRIORITY_DEFAULT, obs->cancellable, on_line, obs);
}

static gboolean
on_request_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Sends @type with @members (a JSON object's members, without braces, may
 * be "") and waits up to @timeout_sec (0: no limit) for the answer. */
JsonObject *
junoctl_observer_request (JunoctlObserver *obs, int type, const char *members, double timeout_sec, GError **error)
{
  g_autoptr(GString) line = g_string_new ("{\"requestId\":");
  g_autofree char *request_id = g_strdup_printf ("o%" G_GUINT64_FORMAT, ++obs->next_id);
  gboolean timed_out = FALSE;
  guint timer = 0;
  JsonObject *answer;
  gint64 code;

  juno_json_append_string (line, request_id);
  g_string_append_printf (line, ",\"type\":%d", type);
  if (members != NULL && members[0] != '\0')
    g_string_append_printf (line, ",%s", members);
  g_string_append (line, "}\n");

  if (obs->lost ||
      !g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (obs->connection)),
                                  line->str, line->len, NULL, NULL, NULL))
    {
      lose (obs);
      g_set_error_literal (error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED, _("the broker closed the connection"));
      return NULL;
    }
  g_free (obs->waiting_for);
  obs->waiting_for = g_strdup (request_id);
  if (timeout_sec > 0)
    timer = g_timeout_add ((guint) (timeout_sec * 1000), on_request_timeout, &timed_out);
  while (obs->answer == NULL && !obs->lost && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_clear_handle_id (&timer, g_source_remove);
  g_clear_pointer (&obs->waiting_for, g_free);

  answer = g_steal_pointer (&obs->answer);
  if (answer == NULL)
    {
      if (timed_out)
        g_set_error (error, JUNO_ERROR, JUNO_ERROR_TIMED_OUT, _("no answer from the broker after %g s"), timeout_sec);
      else
        g_set_error_literal (error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED, _("the broker closed the connection"));
      return NULL;
    }
  if (json_object_get_int_member_with_default (answer, "type", -1) == 0)
    {
      g_autofree char *message = NULL;

      code = json_object_get_int_member_with_default (answer, "error", 0);
      message = juno_protocol_error_dup_message ((int) CLAMP (code, 0, G_MAXINT));
      /* a protocol code, below libjuno's own codes (JUNO_ERROR_DISCONNECTED...) */
      g_set_error_literal (error, JUNO_ERROR, (int) CLAMP (code, 0, JUNO_ERROR_DISCONNECTED - 1), message);
      json_object_unref (answer);
      return NULL;
    }
  return answer;
}
