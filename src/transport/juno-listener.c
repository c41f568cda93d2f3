/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-listener.c: listening sockets, accepting, and the set of connections
 *
 * Accepting is bounded: past --max-connections a new connection is closed
 * at once and logged; when the process runs out of descriptors the
 * listeners pause for a moment instead of spinning on accept().
 */
#include "config.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "juno-connection.h"
#include "juno-listener.h"

#define READ_BUFFER_SIZE (64 * 1024)
#define ACCEPTS_PER_EVENT 64
#define ACCEPT_PAUSE_MSEC 100
#define LISTEN_BACKLOG 4096

typedef struct
{
  JunoPollHandler handler; /* first: the poller hands it back to us */
  JunoListener *listener;
  GSocket *socket;
  char *address;   /* "unix:/path" or "tcp:host:port" */
  const char *transport;
} ListenSocket;

struct _JunoListener
{
  GObject parent_instance;

  JunoBroker *broker;
  JunoListenerLimits limits;
  JunoPoller *poller;
  JunoConnectionContext ctx;
  GPtrArray *sockets;       /* ListenSocket */
  GHashTable *connections;  /* JunoConnection (a set) */
  guint pause_id;
  gint64 last_pause_log;
  gint64 last_refusal_log;
  guint refused_since_log;
};

G_DEFINE_FINAL_TYPE (JunoListener, juno_listener, G_TYPE_OBJECT)

static void on_listen_socket_events (JunoPollHandler *handler, guint32 events);

static void
listen_socket_free (gpointer data)
{
  ListenSocket *ls = data;

  g_socket_close (ls->socket, NULL);
  g_object_unref (ls->socket);
  g_free (ls->address);
  g_free (ls);
}

static void
juno_listener_dispose (GObject *object)
{
  JunoListener *self = JUNO_LISTENER (object);

  juno_listener_close (self);
  g_clear_pointer (&self->poller, juno_poller_free);
  g_clear_object (&self->broker);

  G_OBJECT_CLASS (juno_listener_parent_class)->dispose (object);
}

static void
juno_listener_finalize (GObject *object)
{
  JunoListener *self = JUNO_LISTENER (object);

  g_clear_pointer (&self->sockets, g_ptr_array_unref);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  juno_connection_context_clear (&self->ctx);
  g_free (self->ctx.read_buffer);

  G_OBJECT_CLASS (juno_listener_parent_class)->finalize (object);
}

static void
juno_listener_init (JunoListener *self)
{
  self->sockets = g_ptr_array_new_with_free_func (listen_socket_free);
  self->connections = g_hash_table_new (NULL, NULL);
}

static void
juno_listener_class_init (JunoListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = juno_listener_dispose;
  object_class->finalize = juno_listener_finalize;
}

static gboolean
context_pending (gpointer data)
{
  JunoListener *self = data;

  return juno_connection_context_pending (&self->ctx);
}

static void
context_run (gpointer data)
{
  JunoListener *self = data;

  juno_connection_context_run (&self->ctx);
}

static void
on_connection_closed (JunoConnection *connection, gpointer data)
{
  JunoListener *self = data;

  g_hash_table_remove (self->connections, connection);
  juno_connection_free (connection);
}

JunoListener *
juno_listener_new (JunoBroker *broker, const JunoListenerLimits *limits, GError **error)
{
  g_autoptr(JunoListener) self = g_object_new (JUNO_TYPE_LISTENER, NULL);
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  g_return_val_if_fail (JUNO_IS_BROKER (broker), NULL);

  self->broker = g_object_ref (broker);
  self->limits = *limits;
  self->poller = juno_poller_new (context, context_pending, context_run, self, error);
  if (self->poller == NULL)
    return NULL;

  self->ctx.broker = broker;
  self->ctx.poller = self->poller;
  self->ctx.max_message_size = limits->max_message_size;
  self->ctx.max_output_backlog = limits->max_output_backlog;
  self->ctx.max_total_buffer = limits->max_total_buffer;
  self->ctx.read_buffer_size = READ_BUFFER_SIZE;
  self->ctx.read_buffer = g_malloc (READ_BUFFER_SIZE);
  self->ctx.closed = on_connection_closed;
  self->ctx.closed_data = self;
  return g_steal_pointer (&self);
}

static char *
describe_address (GSocket *socket, const char **transport)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (socket, NULL);

  if (G_IS_UNIX_SOCKET_ADDRESS (address))
    {
      *transport = "unix";
      return g_strdup_printf ("unix:%s", g_unix_socket_address_get_path (G_UNIX_SOCKET_ADDRESS (address)));
    }
  if (G_IS_INET_SOCKET_ADDRESS (address))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
      g_autofree char *host = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
      gboolean v6 = g_inet_address_get_family (g_inet_socket_address_get_address (inet)) == G_SOCKET_FAMILY_IPV6;

      *transport = "tcp";
      return g_strdup_printf ("tcp:%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
                              g_inet_socket_address_get_port (inet));
    }
  *transport = "unknown";
  return g_strdup ("unknown");
}

static gboolean
add_listen_socket (JunoListener *self, GSocket *socket, GError **error)
{
  ListenSocket *ls = g_new0 (ListenSocket, 1);

  ls->handler.func = on_listen_socket_events;
  ls->handler.fd = g_socket_get_fd (socket);
  ls->listener = self;
  ls->socket = g_object_ref (socket);
  ls->address = describe_address (socket, &ls->transport);
  g_socket_set_blocking (socket, FALSE);
  if (!juno_poller_add (self->poller, &ls->handler, EPOLLIN, error))
    {
      listen_socket_free (ls);
      return FALSE;
    }
  g_ptr_array_add (self->sockets, ls);
  g_message ("Listening on %s", ls->address);
  return TRUE;
}

static gboolean
bind_and_add (JunoListener *self, GSocketAddress *address, gboolean reuse, GError **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, reuse, error) || !g_socket_listen (socket, error))
    return FALSE;
  return add_listen_socket (self, socket, error);
}

gboolean
juno_listener_listen_unix (JunoListener *self, const char *path, GError **error)
{
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

  if (!bind_and_add (self, address, FALSE, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
juno_listener_listen_tcp (JunoListener *self, const char *host, guint16 port, guint16 *bound_port, GError **error)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (host);
  g_autoptr(GSocketAddress) address = NULL;
  ListenSocket *ls;

  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is not an IP address", host);
      return FALSE;
    }
  address = g_inet_socket_address_new (inet, port);
  if (!bind_and_add (self, address, TRUE, error))
    {
      g_prefix_error (error, "%s port %u: ", host, port);
      return FALSE;
    }
  if (bound_port != NULL)
    {
      g_autoptr(GSocketAddress) local = NULL;

      ls = g_ptr_array_index (self->sockets, self->sockets->len - 1);
      local = g_socket_get_local_address (ls->socket, NULL);
      *bound_port = local ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : port;
    }
  return TRUE;
}

gboolean
juno_listener_adopt_fd (JunoListener *self, int fd, GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd); /* ours to close: the caller handed it over */
      return FALSE;
    }
  if (g_socket_get_socket_type (socket) != G_SOCKET_TYPE_STREAM)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "fd %d is not a stream socket", fd);
      return FALSE;
    }
  return add_listen_socket (self, socket, error);
}

void
juno_listener_close (JunoListener *self)
{
  GHashTableIter iter;
  gpointer key;

  /* it would free the connection whose line is being handled */
  g_return_if_fail (self->poller == NULL || !juno_poller_is_dispatching (self->poller));

  if (self->connections != NULL)
    {
      g_hash_table_iter_init (&iter, self->connections);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        juno_connection_close (key, "the broker is shutting down");
      juno_connection_context_run (&self->ctx);
    }
  if (self->sockets != NULL)
    {
      for (guint i = 0; i < self->sockets->len; i++)
        {
          ListenSocket *ls = g_ptr_array_index (self->sockets, i);

          if (ls->handler.events != 0)
            juno_poller_remove (self->poller, &ls->handler);
        }
      g_ptr_array_set_size (self->sockets, 0);
    }
  g_clear_handle_id (&self->pause_id, g_source_remove);
}

guint
juno_listener_get_n_connections (JunoListener *self)
{
  return g_hash_table_size (self->connections);
}

GStrv
juno_listener_dup_addresses (JunoListener *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->sockets->len; i++)
    g_strv_builder_add (builder, ((ListenSocket *) g_ptr_array_index (self->sockets, i))->address);
  return g_strv_builder_end (builder);
}

static gboolean
on_pause_over (gpointer data)
{
  JunoListener *self = data;

  self->pause_id = 0;
  for (guint i = 0; i < self->sockets->len; i++)
    {
      ListenSocket *ls = g_ptr_array_index (self->sockets, i);

      if (ls->handler.events == 0)
        juno_poller_add (self->poller, &ls->handler, EPOLLIN, NULL);
    }
  return G_SOURCE_REMOVE;
}

static void
pause_accepting (JunoListener *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->pause_id != 0)
    return;
  if (now - self->last_pause_log >= 10 * G_USEC_PER_SEC)
    {
      g_warning ("Out of file descriptors with %u connections open; pausing new connections",
                 g_hash_table_size (self->connections));
      self->last_pause_log = now;
    }
  for (guint i = 0; i < self->sockets->len; i++)
    juno_poller_remove (self->poller, &((ListenSocket *) g_ptr_array_index (self->sockets, i))->handler);
  self->pause_id = g_timeout_add (ACCEPT_PAUSE_MSEC, on_pause_over, self);
}

static void
refuse (JunoListener *self, int fd)
{
  gint64 now = g_get_monotonic_time ();

  close (fd);
  self->refused_since_log++;
  if (now - self->last_refusal_log >= G_USEC_PER_SEC)
    {
      g_warning ("Refused %u connection(s): %u connections are open, the limit (--max-connections)",
                 self->refused_since_log, self->limits.max_connections);
      self->refused_since_log = 0;
      self->last_refusal_log = now;
    }
}

static void
on_listen_socket_events (JunoPollHandler *handler, guint32 events)
{
  ListenSocket *ls = (ListenSocket *) handler;
  JunoListener *self = ls->listener;

  for (int i = 0; i < ACCEPTS_PER_EVENT; i++)
    {
      g_autoptr(GError) error = NULL;
      JunoConnection *connection;
      int fd = accept4 (handler->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            pause_accepting (self);
          else if (errno != EAGAIN && errno != EWOULDBLOCK)
            g_warning ("Could not accept on %s: %s", ls->address, g_strerror (errno));
          return;
        }
      if (g_hash_table_size (self->connections) >= self->limits.max_connections)
        {
          refuse (self, fd);
          continue;
        }
      if (g_str_equal (ls->transport, "tcp"))
        {
          int one = 1;

          setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
      connection = juno_connection_new (&self->ctx, fd, ls->transport, &error);
      if (connection == NULL)
        {
          g_warning ("Could not watch a new connection: %s", error->message);
          close (fd);
          continue;
        }
      g_hash_table_add (self->connections, connection);
    }
}
