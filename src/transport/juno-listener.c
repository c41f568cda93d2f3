/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-listener.c: listening sockets, accepting, and the set of connections
 *
 * GIO owns the listening sockets and accepts: each socket (bound here, or
 * adopted from systemd) is held by a GSocketListener of its own, with one
 * asynchronous accept outstanding. One listener per socket because adding
 * a socket to a listener with an accept in progress means cancelling that
 * accept, and a cancelled accept drops a connection it had just taken.
 * Each accepted socket's
 * descriptor is then duplicated out of its GSocket (whose object goes at
 * once) into a JunoConnection, which lives in the epoll source for the
 * rest of its life: the accept path is GIO's, the per-message path stays
 * the poller's (docs/design.md says why).
 *
 * GSocketListener rather than GSocketService: the service's accept
 * callback logs any error as a warning and accepts again at once, so a
 * process out of descriptors would spin on the readable listening socket
 * and flood the log. Here, as before, an accept that fails for want of
 * descriptors or memory pauses accepting for a moment, and past
 * --max-connections a new connection is closed at once and logged (at
 * most once a second, with a count).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixsocketaddress.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "juno-connection.h"
#include "juno-listener.h"

#define READ_BUFFER_SIZE (64 * 1024)
#define ACCEPT_PAUSE_MSEC 100
#define LISTEN_BACKLOG 4096

typedef struct
{
  JunoListener *owner;
  GSocketListener *gio;     /* owns the socket; accepts */
  GSocket *socket;
  char *address;            /* "unix:/path" or "tcp:host:port" */
  gboolean accepting;       /* an accept is outstanding */
} ListenSocket;

struct _JunoListener
{
  GObject parent_instance;

  JunoBroker *broker;
  JunoListenerLimits limits;
  JunoPoller *poller;
  JunoConnectionContext ctx;
  GCancellable *cancellable;  /* of the accepts in progress */
  GPtrArray *sockets;         /* ListenSocket, in the order they were added */
  GHashTable *connections;    /* JunoConnection (a set) */
  guint pause_id;
  gint64 last_pause_log;
  gint64 last_refusal_log;
  guint refused_since_log;
};

G_DEFINE_FINAL_TYPE (JunoListener, juno_listener, G_TYPE_OBJECT)

/* On each GSocketListener: its ListenSocket, NULL once that is closed (an
 * accept's callback may come after). */
static GQuark listen_socket_quark (void);
G_DEFINE_QUARK (juno-listen-socket, listen_socket)

static void accept_next (ListenSocket *ls);

static void
listen_socket_free (gpointer data)
{
  ListenSocket *ls = data;

  /* an accept still to complete finds no ListenSocket and drops its socket */
  g_object_set_qdata (G_OBJECT (ls->gio), listen_socket_quark (), NULL);
  g_socket_listener_close (ls->gio);
  g_object_unref (ls->gio);
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
  g_clear_object (&self->cancellable);
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
  self->cancellable = g_cancellable_new ();
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
describe_address (GSocket *socket)
{
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (socket, NULL);

  if (G_IS_UNIX_SOCKET_ADDRESS (address))
    return g_strdup_printf ("unix:%s", g_unix_socket_address_get_path (G_UNIX_SOCKET_ADDRESS (address)));
  if (G_IS_INET_SOCKET_ADDRESS (address))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
      g_autofree char *host = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
      gboolean v6 = g_inet_address_get_family (g_inet_socket_address_get_address (inet)) == G_SOCKET_FAMILY_IPV6;

      return g_strdup_printf ("tcp:%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
                              g_inet_socket_address_get_port (inet));
    }
  return g_strdup ("unknown");
}

/* Hands a bound, listening socket to GIO's listener. */
static gboolean
add_listen_socket (JunoListener *self, GSocket *socket, GError **error)
{
  g_autoptr(GSocketListener) gio = g_socket_listener_new ();
  ListenSocket *ls;

  if (!g_socket_listener_add_socket (gio, socket, NULL, error))
    return FALSE;
  ls = g_new0 (ListenSocket, 1);
  ls->owner = self;
  ls->gio = g_steal_pointer (&gio);
  ls->socket = g_object_ref (socket);
  ls->address = describe_address (socket);
  g_object_set_qdata (G_OBJECT (ls->gio), listen_socket_quark (), ls);
  g_ptr_array_add (self->sockets, ls);
  g_message ("Listening on %s", ls->address);
  accept_next (ls);
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
      ListenSocket *ls = g_ptr_array_index (self->sockets, self->sockets->len - 1);
      g_autoptr(GSocketAddress) local = g_socket_get_local_address (ls->socket, NULL);

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
      g_cancellable_cancel (self->cancellable);
      g_ptr_array_set_size (self->sockets, 0);
      g_object_unref (self->cancellable);
      self->cancellable = g_cancellable_new ();
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

/* Accepting */

static gboolean
on_pause_over (gpointer data)
{
  JunoListener *self = data;

  self->pause_id = 0;
  for (guint i = 0; i < self->sockets->len; i++)
    accept_next (g_ptr_array_index (self->sockets, i));
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
  self->pause_id = g_timeout_add (ACCEPT_PAUSE_MSEC, on_pause_over, self);
}

/* Past --max-connections: the socket closes as its GSocket goes. */
static void
refuse (JunoListener *self)
{
  gint64 now = g_get_monotonic_time ();

  self->refused_since_log++;
  if (now - self->last_refusal_log >= G_USEC_PER_SEC)
    {
      g_warning ("Refused %u connection(s): %u connections are open, the limit (--max-connections)",
                 self->refused_since_log, self->limits.max_connections);
      self->refused_since_log = 0;
      self->last_refusal_log = now;
    }
}

JunoPoller *
juno_listener_get_poller (JunoListener *self)
{
  g_return_val_if_fail (JUNO_IS_LISTENER (self), NULL);
  return self->poller;
}

/* Moves an accepted socket's descriptor into a connection of the poller. */
static void
take_connection (JunoListener *self, GSocket *socket)
{
  g_autoptr(GError) error = NULL;
  gboolean tcp = g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX;
  JunoConnection *connection;
  int fd;

  if (g_hash_table_size (self->connections) >= self->limits.max_connections)
    return refuse (self);
  if (tcp)
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  /* non-blocking already (GIO makes every socket so); the GSocket closes
   * its own descriptor when it goes */
  fd = fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    {
      pause_accepting (self);
      return;
    }
  connection = juno_connection_new (&self->ctx, fd, tcp ? "tcp" : "unix", &error);
  if (connection == NULL)
    {
      g_warning ("Could not watch a new connection: %s", error->message);
      close (fd);
      return;
    }
  g_hash_table_add (self->connections, connection);
}

/* Errors that accepting again at once would only repeat (ENOMEM and the
 * errors GIO has no code for are G_IO_ERROR_FAILED) */
static gboolean
is_resource_error (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
         (error->domain == G_IO_ERROR && error->code == G_IO_ERROR_FAILED);
}

static void
on_accepted (GObject *source, GAsyncResult *result, gpointer data)
{
  ListenSocket *ls = g_object_get_qdata (source, listen_socket_quark ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_listener_accept_socket_finish (G_SOCKET_LISTENER (source), result,
                                                                      NULL, &error);

  if (ls == NULL)
    return; /* closed meanwhile */
  ls->accepting = FALSE;
  if (socket != NULL)
    take_connection (ls->owner, socket);
  else if (is_resource_error (error))
    pause_accepting (ls->owner);
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    g_debug ("Could not accept on %s: %s", ls->address, error->message);
  accept_next (ls);
}

static void
accept_next (ListenSocket *ls)
{
  if (ls->accepting || ls->owner->pause_id != 0)
    return;
  ls->accepting = TRUE;
  g_socket_listener_accept_socket_async (ls->gio, ls->owner->cancellable, on_accepted, NULL);
}
