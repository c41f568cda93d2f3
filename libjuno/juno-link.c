/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-link.c: the client's socket, line framing and output batching
 *
 * Every asynchronous operation holds a reference on the link and runs under
 * the link's cancellable, so closing the link cancels them all and their
 * callbacks return without touching the owner.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include <unistd.h>

#include "juno-common.h"
#include "juno-link.h"
#include "juno.h"


struct _JunoLink
{
  gatomicrefcount ref_count;
  JunoLinkCallbacks callbacks;
  gpointer data; /* the owner, unowned; NULL once closed */
  GCancellable *cancellable;
  GSocketClient *socket_client;
  GSocketConnection *connection;
  GDataInputStream *input;
  GString *pending; /* lines waiting for the write in progress */
  GBytes *writing;  /* the buffer being written, or NULL */
};

static void read_next_line (JunoLink *self);
static void on_connected (GObject *source, GAsyncResult *result, gpointer user_data);

JunoLink *
juno_link_new (GSocketConnectable *address,
               const JunoLinkCallbacks *callbacks,
               gpointer data)
{
  JunoLink *self = g_new0 (JunoLink, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->callbacks = *callbacks;
  self->data = data;
  self->cancellable = g_cancellable_new ();
  self->pending = g_string_new (NULL);
  self->socket_client = g_socket_client_new ();
  g_socket_client_connect_async (self->socket_client, address, self->cancellable,
                                 on_connected, juno_link_ref (self));
  return self;
}

JunoLink *
juno_link_ref (JunoLink *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
juno_link_unref (JunoLink *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_clear_object (&self->input);
  g_clear_object (&self->connection);
  g_clear_object (&self->socket_client);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->writing, g_bytes_unref);
  g_string_free (self->pending, TRUE);
  g_free (self);
}

void
juno_link_close (JunoLink *self)
{
  if (self->data == NULL && g_cancellable_is_cancelled (self->cancellable))
    return;

  self->data = NULL;
  g_cancellable_cancel (self->cancellable);
  if (self->connection != NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
}

static void
report_lost (JunoLink *self, const GError *error)
{
  gpointer data = self->data;

  if (data == NULL)
    return;
  juno_link_close (self);
  self->callbacks.lost (self, error, data);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(JunoLink) self = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_prefix_error (&error, _("Could not write to the broker: "));
          report_lost (self, error);
        }
      return;
    }
  if (self->data != NULL && self->pending->len > 0)
    juno_link_send (self, NULL);
}

/* Appends @line (NULL: nothing new) and starts a write unless one runs. */
void
juno_link_send (JunoLink *self, const char *line)
{
  GOutputStream *output;
  gsize size;

  if (self->data == NULL)
    return;
  if (line != NULL)
    {
      g_string_append (self->pending, line);
      g_string_append_c (self->pending, '\n');
    }
  if (self->connection == NULL || self->writing != NULL || self->pending->len == 0)
    return;

  size = self->pending->len;
  self->writing = g_string_free_to_bytes (self->pending); /* takes the buffer */
  self->pending = g_string_new (NULL);
  output = g_io_stream_get_output_stream (G_IO_STREAM (self->connection));
  g_output_stream_write_all_async (output, g_bytes_get_data (self->writing, NULL), size,
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   on_written, juno_link_ref (self));
}

static void
on_line_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(JunoLink) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length = 0;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                    &length, &error);
  if (self->data == NULL)
    return;
  if (line == NULL && error == NULL)
    g_set_error_literal (&error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED,
                         _("The broker closed the connection"));
  else if (line == NULL)
    g_prefix_error (&error, _("Could not read from the broker: "));
  if (error != NULL)
    {
      report_lost (self, error);
      return;
    }

  /* Read on before handling: a handler may wait for a later line in a
   * nested main loop (a synchronous call made from a callback). */
  read_next_line (self);
  self->callbacks.line (self, line, self->data);
}

static void
read_next_line (JunoLink *self)
{
  g_data_input_stream_read_line_async (self->input, G_PRIORITY_DEFAULT, self->cancellable,
                                       on_line_read, juno_link_ref (self));
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(JunoLink) self = user_data;
  g_autoptr(GError) error = NULL;
  GInputStream *input;

  self->connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (self->data == NULL)
    return;
  if (self->connection == NULL)
    {
      report_lost (self, error);
      return;
    }

  input = g_io_stream_get_input_stream (G_IO_STREAM (self->connection));
  self->input = g_data_input_stream_new (input);
  g_data_input_stream_set_newline_type (self->input, G_DATA_STREAM_NEWLINE_TYPE_LF);
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (self->input), 64 * 1024);
  read_next_line (self);
  self->callbacks.connected (self, self->data);
  if (self->data != NULL)
    juno_link_send (self, NULL);
}

/**
 * juno_default_address:
 *
 * The address a client uses when none is set: the broker's default socket,
 * `$XDG_RUNTIME_DIR/juno.sock` when `XDG_RUNTIME_DIR` is an absolute path,
 * else `/run/juno/juno.sock` for root, else `./juno.sock`, in the current
 * directory. The broker computes its default the same way.
 *
 * Returns: (transfer full): the default socket path
 *
 * Since: 1.0
 */
char *
juno_default_address (void)
{
  return juno_default_socket_path ();
}

static gboolean
is_port (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    if (!g_ascii_isdigit (*text))
      return FALSE;
  return TRUE;
}

GSocketConnectable *
juno_address_parse (const char *address, GError **error)
{
  const char *colon;
  g_autofree char *path = NULL;

  if (address == NULL || address[0] == '\0')
    path = juno_default_socket_path ();
  else if (g_str_has_prefix (address, "unix:"))
    path = g_strdup (address + strlen ("unix:"));
  else if (g_str_has_prefix (address, "tcp:") ||
           (strchr (address, '/') == NULL && (colon = strrchr (address, ':')) != NULL &&
            is_port (colon + 1)))
    {
      const char *host_port = g_str_has_prefix (address, "tcp:") ? address + 4 : address;
      GSocketConnectable *connectable = NULL;

      colon = strrchr (host_port, ':');
      if (colon == NULL || !is_port (colon + 1) || colon == host_port)
        {
          g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                       _("Invalid TCP address '%s': expected HOST:PORT"), host_port);
          return NULL;
        }
      connectable = g_network_address_parse (host_port, 0, error);
      return connectable;
    }
  else
    path = g_strdup (address);

  if (path[0] == '\0')
    {
      g_set_error_literal (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                           _("Empty socket path"));
      return NULL;
    }
  return G_SOCKET_CONNECTABLE (g_unix_socket_address_new (path));
}
