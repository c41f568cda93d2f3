/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-link.c: the client's socket, line framing and output batching
 *
 * All socket I/O runs in one thread of libjuno's own, with its own
 * GMainContext, started with the first link and kept for the life of the
 * process (as GDBus keeps its worker). Every asynchronous operation there
 * holds a reference on the link and runs under the link's cancellable, so
 * closing the link cancels them all. The owner's side and the I/O thread
 * share only what the mutex guards: the event queue, the lines waiting to
 * be written, the closed flag and the waiter.
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
  GMainContext *owner_context;
  JunoLinkReadyFunc ready;
  gpointer data; /* the owner, unowned */
  GCancellable *cancellable;
  GSocketConnectable *address;

  GMutex mutex; /* guards the fields up to the I/O thread's own */
  gboolean closed;
  gboolean ready_scheduled;
  GQueue events;          /* JunoLinkEvent */
  GString *pending;       /* lines waiting for the write in progress */
  GMainContext *waiter;   /* woken on each event, or NULL */

  /* the I/O thread's own */
  GSocketClient *socket_client;
  GSocketConnection *connection;
  GDataInputStream *input;
  GBytes *writing; /* the buffer being written, or NULL */
  gboolean lost;
  gboolean closing; /* closed by the owner: flush what was sent, then close */
};

static void read_next_line (JunoLink *self);
static void on_connected (GObject *source, GAsyncResult *result, gpointer user_data);

/* -- the I/O thread ------------------------------------------------------ */

static gpointer
io_thread_run (gpointer data)
{
  GMainContext *context = data;

  g_main_context_push_thread_default (context);
  for (;;)
    g_main_context_iteration (context, TRUE);
  return NULL;
}

static GMainContext *
io_context (void)
{
  static gsize once;
  static GMainContext *context;

  if (g_once_init_enter (&once))
    {
      context = g_main_context_new ();
      /* never joined: it serves every link for the life of the process */
      g_thread_unref (g_thread_new ("juno-io", io_thread_run, context));
      g_once_init_leave (&once, 1);
    }
  return context;
}

static void
io_invoke (JunoLink *self, GSourceFunc func)
{
  g_main_context_invoke_full (io_context (), G_PRIORITY_DEFAULT, func, juno_link_ref (self),
                              (GDestroyNotify) juno_link_unref);
}

void
juno_link_event_free (JunoLinkEvent *event)
{
  g_free (event->line);
  g_clear_error (&event->error);
  g_clear_pointer (&event->parsed, json_node_unref);
  g_free (event);
}

static gboolean
on_ready (gpointer user_data)
{
  JunoLink *self = user_data;
  gboolean closed;

  g_mutex_lock (&self->mutex);
  self->ready_scheduled = FALSE;
  closed = self->closed;
  g_mutex_unlock (&self->mutex);
  if (!closed)
    self->ready (self, self->data);
  return G_SOURCE_REMOVE;
}

/* In the I/O thread: queues an event (taken) and tells the owner. */
static void
push_event (JunoLink *self, JunoLinkEventType type, char *line, GError *error)
{
  JunoLinkEvent *event;
  g_autoptr(GMainContext) waiter = NULL;
  gboolean schedule = FALSE;

  if (type == JUNO_LINK_EVENT_LOST)
    {
      if (self->lost)
        {
          g_clear_error (&error);
          return;
        }
      self->lost = TRUE;
    }
  event = g_new0 (JunoLinkEvent, 1);
  event->type = type;
  event->line = line;
  event->error = error;

  g_mutex_lock (&self->mutex);
  if (self->closed)
    {
      g_mutex_unlock (&self->mutex);
      juno_link_event_free (event);
      return;
    }
  g_queue_push_tail (&self->events, event);
  if (!self->ready_scheduled)
    schedule = self->ready_scheduled = TRUE;
  if (self->waiter != NULL)
    waiter = g_main_context_ref (self->waiter);
  g_mutex_unlock (&self->mutex);

  if (schedule)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, on_ready, juno_link_ref (self), (GDestroyNotify) juno_link_unref);
      g_source_set_static_name (source, "[libjuno] link events");
      g_source_attach (source, self->owner_context);
    }
  if (waiter != NULL)
    g_main_context_wakeup (waiter);
}

static void
report_lost (JunoLink *self, GError *error /* taken */)
{
  if (self->connection != NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  push_event (self, JUNO_LINK_EVENT_LOST, NULL, error);
}

static void start_write (JunoLink *self);

/* Closes once everything the owner sent before closing is written, so
 * that an answer sent right before juno_link_close() still goes out. */
static void
finish_close (JunoLink *self)
{
  gsize pending;

  g_mutex_lock (&self->mutex);
  pending = self->pending->len;
  g_mutex_unlock (&self->mutex);
  if (self->connection != NULL && !self->lost && !g_cancellable_is_cancelled (self->cancellable) &&
      (self->writing != NULL || pending > 0))
    {
      start_write (self);
      return;
    }
  g_cancellable_cancel (self->cancellable);
  if (self->connection != NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
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
          report_lost (self, g_steal_pointer (&error));
        }
      if (self->closing)
        finish_close (self);
      return;
    }
  if (self->closing)
    finish_close (self);
  else
    start_write (self);
}

/* Starts a write of everything pending unless one runs. */
static void
start_write (JunoLink *self)
{
  GOutputStream *output;
  gsize size;

  if (self->connection == NULL || self->writing != NULL || self->lost ||
      g_cancellable_is_cancelled (self->cancellable))
    return;
  g_mutex_lock (&self->mutex);
  size = self->pending->len;
  if (size > 0)
    {
      self->writing = g_string_free_to_bytes (self->pending); /* takes the buffer */
      self->pending = g_string_new (NULL);
    }
  g_mutex_unlock (&self->mutex);
  if (size == 0)
    return;

  output = g_io_stream_get_output_stream (G_IO_STREAM (self->connection));
  g_output_stream_write_all_async (output, g_bytes_get_data (self->writing, NULL), size,
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   on_written, juno_link_ref (self));
}

static gboolean
io_start_write (gpointer user_data)
{
  start_write (user_data);
  return G_SOURCE_REMOVE;
}

static void
on_line_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(JunoLink) self = user_data;
  g_autoptr(GError) error = NULL;
  char *line;
  gsize length = 0;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                    &length, &error);
  if (g_cancellable_is_cancelled (self->cancellable))
    {
      g_free (line);
      return;
    }
  if (line == NULL && error == NULL)
    g_set_error_literal (&error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED,
                         _("The broker closed the connection"));
  else if (line == NULL)
    g_prefix_error (&error, _("Could not read from the broker: "));
  if (error != NULL)
    {
      report_lost (self, g_steal_pointer (&error));
      return;
    }
  push_event (self, JUNO_LINK_EVENT_LINE, line, NULL);
  read_next_line (self);
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
  if (g_cancellable_is_cancelled (self->cancellable) || self->closing)
    {
      g_cancellable_cancel (self->cancellable);
      if (self->connection != NULL)
        g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
      return;
    }
  if (self->connection == NULL)
    {
      report_lost (self, g_steal_pointer (&error));
      return;
    }

  input = g_io_stream_get_input_stream (G_IO_STREAM (self->connection));
  self->input = g_data_input_stream_new (input);
  g_data_input_stream_set_newline_type (self->input, G_DATA_STREAM_NEWLINE_TYPE_LF);
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (self->input), 64 * 1024);
  push_event (self, JUNO_LINK_EVENT_CONNECTED, NULL, NULL);
  read_next_line (self);
  start_write (self);
}

static gboolean
io_connect (gpointer user_data)
{
  JunoLink *self = user_data;

  self->socket_client = g_socket_client_new ();
  g_socket_client_connect_async (self->socket_client, self->address, self->cancellable,
                                 on_connected, juno_link_ref (self));
  return G_SOURCE_REMOVE;
}

static gboolean
io_close (gpointer user_data)
{
  JunoLink *self = user_data;

  if (!self->closing)
    {
      self->closing = TRUE;
      finish_close (self);
    }
  return G_SOURCE_REMOVE;
}

/* -- the owner's side ---------------------------------------------------- */

JunoLink *
juno_link_new (GSocketConnectable *address,
               GMainContext *owner_context,
               JunoLinkReadyFunc ready,
               gpointer data)
{
  JunoLink *self = g_new0 (JunoLink, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->mutex);
  g_queue_init (&self->events);
  self->owner_context = g_main_context_ref (owner_context);
  self->ready = ready;
  self->data = data;
  self->address = g_object_ref (address);
  self->cancellable = g_cancellable_new ();
  self->pending = g_string_new (NULL);
  io_invoke (self, io_connect);
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
  g_clear_object (&self->address);
  g_clear_pointer (&self->writing, g_bytes_unref);
  g_clear_pointer (&self->waiter, g_main_context_unref);
  g_main_context_unref (self->owner_context);
  g_queue_clear_full (&self->events, (GDestroyNotify) juno_link_event_free);
  g_string_free (self->pending, TRUE);
  g_mutex_clear (&self->mutex);
  g_free (self);
}

void
juno_link_close (JunoLink *self)
{
  g_mutex_lock (&self->mutex);
  if (self->closed)
    {
      g_mutex_unlock (&self->mutex);
      return;
    }
  self->closed = TRUE;
  g_queue_clear_full (&self->events, (GDestroyNotify) juno_link_event_free);
  g_mutex_unlock (&self->mutex);
  io_invoke (self, io_close);
}

/* Appends @line to what is to be written and has the I/O thread write it. */
void
juno_link_send (JunoLink *self, const char *line)
{
  gboolean kick;

  g_mutex_lock (&self->mutex);
  if (self->closed)
    {
      g_mutex_unlock (&self->mutex);
      return;
    }
  /* lines added to a non-empty buffer go out with the write already due */
  kick = self->pending->len == 0;
  g_string_append (self->pending, line);
  g_string_append_c (self->pending, '\n');
  g_mutex_unlock (&self->mutex);
  if (kick)
    io_invoke (self, io_start_write);
}

JunoLinkEvent *
juno_link_pop_event (JunoLink *self)
{
  JunoLinkEvent *event;

  g_mutex_lock (&self->mutex);
  event = g_queue_pop_head (&self->events);
  g_mutex_unlock (&self->mutex);
  return event;
}

void
juno_link_set_waiter (JunoLink *self, GMainContext *waiter)
{
  g_mutex_lock (&self->mutex);
  g_clear_pointer (&self->waiter, g_main_context_unref);
  if (waiter != NULL)
    self->waiter = g_main_context_ref (waiter);
  g_mutex_unlock (&self->mutex);
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
