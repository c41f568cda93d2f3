/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-client.c: the thin layer between the verbs and libjuno
 *
 * Connecting, calling synchronously, running a main loop that ends on
 * SIGINT/SIGTERM or when the broker goes away, turning a GError into the
 * one-line message and the exit status, and the shared output helpers.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <stdio.h>
#include <unistd.h>

#include "junoctl.h"
#include "juno-protocol.h"

int
junoctl_exit_status (const GError *error)
{
  if (g_error_matches (error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED))
    return JUNOCTL_EXIT_DISCONNECTED;
  if (g_error_matches (error, JUNO_ERROR, JUNO_ERROR_NOT_CONNECTED) || error->domain == G_IO_ERROR)
    return JUNOCTL_EXIT_NO_BROKER;
  if (juno_error_is_timeout (error))
    return JUNOCTL_EXIT_TIMEOUT;
  if (g_error_matches (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT) ||
      error->domain == JSON_PARSER_ERROR)
    return JUNOCTL_EXIT_USAGE;
  return JUNOCTL_EXIT_FAILURE;
}

int
junoctl_fail (Junoctl *ctl, const char *what, const GError *error)
{
  /* A lost broker is reported both by the signal and by the call in flight. */
  if (ctl->failed)
    return junoctl_exit_status (error);
  ctl->failed = TRUE;
  if (what != NULL)
    g_printerr ("junoctl: %s: %s: %s\n", ctl->verb, what, error->message);
  else
    g_printerr ("junoctl: %s: %s\n", ctl->verb, error->message);
  return junoctl_exit_status (error);
}

char *
junoctl_own_module_id (void)
{
  return g_strdup_printf ("junoctl-%d", (int) getpid ());
}

char *
junoctl_broker_address (Junoctl *ctl)
{
  if (ctl->tcp_address != NULL)
    return g_strconcat ("tcp:", ctl->tcp_address, NULL);
  if (ctl->socket_path != NULL)
    return g_strconcat ("unix:", ctl->socket_path, NULL);
  {
    /* a path: the observer connection wants the unix: prefix too */
    g_autofree char *path = juno_default_socket_path ();

    return g_strconcat ("unix:", path, NULL);
  }
}

static gboolean on_quit_signal (gpointer user_data);

/* SIGINT and SIGTERM end a verb cleanly from the moment it connects: a
 * signal that comes before the main loop runs (right after a listen is
 * registered, say) is dispatched once it does, instead of killing junoctl. */
static void
watch_signals (Junoctl *ctl)
{
  if (ctl->signal_ids[0] != 0)
    return;
  ctl->signal_ids[0] = g_unix_signal_add (SIGINT, on_quit_signal, ctl);
  ctl->signal_ids[1] = g_unix_signal_add (SIGTERM, on_quit_signal, ctl);
}

/* Connects as @module_id (NULL: "junoctl-PID") and waits until active. */
JunoClient *
junoctl_connect (Junoctl *ctl, const char *module_id, GError **error)
{
  g_autofree char *own_id = module_id == NULL ? junoctl_own_module_id () : NULL;
  g_autofree char *address = junoctl_broker_address (ctl);
  g_autoptr(JunoClient) client = NULL;

  watch_signals (ctl);
  client = juno_client_new (module_id != NULL ? module_id : own_id, PACKAGE_VERSION);
  juno_client_set_address (client, address);
  juno_client_set_reconnect (client, FALSE);
  if (!juno_client_connect_sync (client, NULL, error))
    {
      if (error != NULL && *error != NULL && (*error)->domain == G_IO_ERROR)
        g_prefix_error (error, _("cannot connect to the broker at %s: "),
                        g_str_has_prefix (address, "unix:") ? address + 5 : address);
      return NULL;
    }
  g_set_object (&ctl->client, client);
  return g_steal_pointer (&client);
}

/* Connects as an observer: no module, no hooks fired (junoctl-observer.c). */
gboolean
junoctl_observe (Junoctl *ctl, GError **error)
{
  g_autofree char *address = junoctl_broker_address (ctl);

  watch_signals (ctl);
  junoctl_unobserve (ctl);
  ctl->observer = junoctl_observer_connect (address, error);
  return ctl->observer != NULL;
}

void
junoctl_unobserve (Junoctl *ctl)
{
  g_clear_pointer (&ctl->observer, junoctl_observer_free);
}

void
junoctl_set_hook_func (Junoctl *ctl, JunoctlHookFunc func, gpointer user_data)
{
  junoctl_observer_set_hook_func (ctl->observer, func, user_data);
}

/* The whole answer (type 4) of a call of one of juno's functions made as
 * an observer; @arguments_json is NULL or a JSON object's text. */
JsonObject *
junoctl_call_raw (Junoctl *ctl, const char *function, const char *arguments_json, GError **error)
{
  g_autoptr(GString) members = g_string_new ("\"function\":");

  juno_json_append_string (members, function);
  g_string_append (members, ",\"arguments\":");
  g_string_append (members, arguments_json != NULL ? arguments_json : "{}");
  return junoctl_observer_request (ctl->observer, JUNO_MSG_FUNCTION_CALL, members->str,
                                   JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC, error);
}

JsonNode *
junoctl_call (Junoctl *ctl, const char *function, JsonNode *arguments, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) answer = NULL;
  JsonNode *data;

  if (ctl->observer == NULL)
    return juno_client_call_sync (ctl->client, function, arguments, -1, NULL, error);
  text = arguments != NULL ? json_to_string (arguments, FALSE) : NULL;
  answer = junoctl_call_raw (ctl, function, text, error);
  if (answer == NULL)
    return NULL;
  data = json_object_get_member (answer, "data");
  return data != NULL ? json_node_copy (data) : json_node_new (JSON_NODE_NULL);
}

gboolean
junoctl_listen_pattern (Junoctl *ctl, const char *pattern, GError **error)
{
  g_autoptr(GString) members = g_string_new ("\"hook\":");
  g_autoptr(JsonObject) answer = NULL;

  juno_json_append_string (members, pattern);
  answer = junoctl_observer_request (ctl->observer, JUNO_MSG_REGISTER_HOOK, members->str,
                                     JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC, error);
  return answer != NULL;
}

/* Checks JSON from the command line with the broker's own grammar, which
 * libjuno applies again before sending it as written: strict RFC 8259,
 * nesting up to 64 levels, numbers a gint64 or a double can hold. */
gboolean
junoctl_check_json_object (const char *text, GError **error)
{
  g_autofree char *compact = junoctl_compact_json_object (text, error);

  return compact != NULL;
}

/* The same check; returns the object as written, only the whitespace
 * between tokens removed (so it fits on one line). */
char *
junoctl_compact_json_object (const char *text, GError **error)
{
  g_autoptr(GString) compact = g_string_new (NULL);
  JunoJsonKind kind = JUNO_JSON_ABSENT;
  JunoParseResult result = juno_json_normalize (text, strlen (text), compact, &kind);

  if (result == JUNO_PARSE_OK && kind != JUNO_JSON_OBJECT)
    result = JUNO_PARSE_NOT_OBJECT;
  if (result == JUNO_PARSE_OK)
    return g_string_free (g_steal_pointer (&compact), FALSE);
  /* TRANSLATORS: %s says what is wrong, e.g. "is not valid JSON (RFC 8259)" */
  g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT, _("the text %s"),
               _(juno_parse_result_to_string (result)));
  return NULL;
}

void
junoctl_print_json (Junoctl *ctl, JsonNode *node)
{
  g_autofree char *text = json_to_string (node, !ctl->json);

  g_print ("%s\n", text);
  fflush (stdout);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  junoctl_quit (user_data, JUNOCTL_EXIT_OK);
  return G_SOURCE_CONTINUE;
}

static void
on_disconnected (JunoClient *client, const GError *error, gpointer user_data)
{
  Junoctl *ctl = user_data;

  junoctl_quit (ctl, junoctl_fail (ctl, NULL, error));
}

/* Makes the main loop end with an error when the broker goes away. */
static void
on_observer_lost (gpointer user_data)
{
  Junoctl *ctl = user_data;
  g_autoptr(GError) error = g_error_new_literal (JUNO_ERROR, JUNO_ERROR_DISCONNECTED,
                                                 _("the broker closed the connection"));

  junoctl_quit (ctl, junoctl_fail (ctl, NULL, error));
}

void
junoctl_watch_connection (Junoctl *ctl)
{
  if (ctl->observer != NULL)
    junoctl_observer_set_lost_func (ctl->observer, on_observer_lost, ctl);
  else
    g_signal_connect (ctl->client, "disconnected", G_CALLBACK (on_disconnected), ctl);
}

/* Runs until junoctl_quit(), SIGINT or SIGTERM; the status is in ctl->status. */
void
junoctl_run (Junoctl *ctl)
{
  watch_signals (ctl);
  if (ctl->quit)
    return;
  ctl->loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (ctl->loop);
  g_clear_handle_id (&ctl->signal_ids[0], g_source_remove);
  g_clear_handle_id (&ctl->signal_ids[1], g_source_remove);
  if (ctl->client != NULL)
    g_signal_handlers_disconnect_by_data (ctl->client, ctl);
}

void
junoctl_quit (Junoctl *ctl, int status)
{
  if (ctl->status == JUNOCTL_EXIT_OK)
    ctl->status = status;
  ctl->quit = TRUE;
  if (ctl->loop != NULL)
    g_main_loop_quit (ctl->loop);
}

char *
junoctl_timestamp (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *seconds = g_date_time_format (now, "%H:%M:%S");

  return g_strdup_printf ("%s.%03d", seconds, g_date_time_get_microsecond (now) / 1000);
}

const char *
junoctl_color (Junoctl *ctl, const char *code)
{
  return ctl->color ? code : "";
}

/* Prints @rows (each a GStrv of @n_columns cells, the first the header)
 * with the columns aligned on display width. */
void
junoctl_print_table (Junoctl *ctl, GPtrArray *rows, guint n_columns)
{
  g_autofree glong *widths = g_new0 (glong, n_columns);

  for (guint r = 0; r < rows->len; r++)
    {
      char **cells = g_ptr_array_index (rows, r);

      for (guint c = 0; c < n_columns; c++)
        widths[c] = MAX (widths[c], g_utf8_strlen (cells[c], -1));
    }
  for (guint r = 0; r < rows->len; r++)
    {
      char **cells = g_ptr_array_index (rows, r);
      g_autoptr(GString) line = g_string_new (r == 0 ? junoctl_color (ctl, "\033[1m") : "");

      for (guint c = 0; c < n_columns; c++)
        {
          g_string_append (line, cells[c]);
          if (c + 1 < n_columns)
            for (glong pad = g_utf8_strlen (cells[c], -1); pad < widths[c] + 2; pad++)
              g_string_append_c (line, ' ');
        }
      if (r == 0)
        g_string_append (line, junoctl_color (ctl, "\033[0m"));
      g_print ("%s\n", line->str);
    }
}

const char *
junoctl_module_string (JsonObject *module, const char *member)
{
  JsonNode *node = json_object_get_member (module, member);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return "";
  return json_node_get_string (node);
}

gboolean
junoctl_module_active (JsonObject *module)
{
  JsonNode *node = json_object_get_member (module, "registered");

  return node != NULL && json_node_get_value_type (node) == G_TYPE_BOOLEAN &&
         json_node_get_boolean (node);
}

/* Joins an array member (functions, hooks) or, for an object member
 * (dependencies), its "key requirement" pairs. */
char *
junoctl_module_join (JsonObject *module, const char *member, const char *separator)
{
  JsonNode *node = json_object_get_member (module, member);
  g_autoptr(GString) text = g_string_new (NULL);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (json_node_get_value_type (element) != G_TYPE_STRING)
            continue;
          if (text->len > 0)
            g_string_append (text, separator);
          g_string_append (text, json_node_get_string (element));
        }
    }
  else if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;

      json_object_iter_init (&iter, json_node_get_object (node));
      while (json_object_iter_next (&iter, &name, &value))
        {
          if (text->len > 0)
            g_string_append (text, separator);
          g_string_append_printf (text, "%s %s", name,
                                  json_node_get_value_type (value) == G_TYPE_STRING ? json_node_get_string (value) : "?");
        }
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}
