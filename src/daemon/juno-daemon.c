/* juno-daemon.c: see juno-daemon.h
 *
 * Start-up order: lock, listeners, then READY=1. Shutdown on SIGINT or
 * SIGTERM: STOPPING=1, every connection closed through the broker (so the
 * calls in flight are answered), the socket and the lock file removed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "juno-broker.h"
#include "juno-daemon.h"
#include "juno-listener.h"
#include "juno-systemd.h"

#define DEFAULT_BIND_ADDRESS "127.0.0.1"
#define DEFAULT_CALL_TIMEOUT 30.0
#define DEFAULT_MAX_MESSAGE_SIZE (1024 * 1024)
#define DEFAULT_MAX_CALLS_IN_FLIGHT 1024
#define DEFAULT_MAX_CONNECTIONS 16384
#define DEFAULT_MAX_OUTPUT_BACKLOG (16 * 1024 * 1024)

struct _JunoDaemon
{
  GMainLoop *loop;
  JunoBroker *broker;
  JunoListener *listener;
  char *socket_path;  /* the Unix socket this broker created, or NULL */
  char *lock_path;
  int lock_fd;
  guint sigint_id;
  guint sigterm_id;
};

void
juno_daemon_options_init (JunoDaemonOptions *options)
{
  *options = (JunoDaemonOptions) {
    .port = -1,
    .call_timeout = DEFAULT_CALL_TIMEOUT,
    .max_message_size = DEFAULT_MAX_MESSAGE_SIZE,
    .max_calls_in_flight = DEFAULT_MAX_CALLS_IN_FLIGHT,
    .max_connections = DEFAULT_MAX_CONNECTIONS,
    .max_output_backlog = DEFAULT_MAX_OUTPUT_BACKLOG,
  };
}

void
juno_daemon_options_clear (JunoDaemonOptions *options)
{
  g_clear_pointer (&options->socket_path, g_free);
  g_clear_pointer (&options->bind_address, g_free);
}

char *
juno_daemon_default_socket_path (void)
{
  const char *runtime_dir = g_getenv ("XDG_RUNTIME_DIR");

  if (runtime_dir != NULL && runtime_dir[0] == '/')
    return g_build_filename (runtime_dir, "juno.sock", NULL);
  if (geteuid () == 0)
    return g_strdup ("/run/juno/juno.sock");
  return g_strdup ("./juno.sock");
}

/* Takes <socket>.lock; then a socket file left by a crash can go. */
static gboolean
take_lock (JunoDaemon *self, const char *socket_path, GError **error)
{
  GStatBuf st;

  self->lock_path = g_strconcat (socket_path, ".lock", NULL);
  self->lock_fd = open (self->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (self->lock_fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot open lock file %s: %s"),
                   self->lock_path, g_strerror (saved));
      g_clear_pointer (&self->lock_path, g_free);
      return FALSE;
    }
  if (flock (self->lock_fd, LOCK_EX | LOCK_NB) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("another broker is running on %s"), socket_path);
      close (self->lock_fd);
      self->lock_fd = -1;
      g_clear_pointer (&self->lock_path, g_free);
      return FALSE;
    }

  if (g_lstat (socket_path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("%s exists and is not a socket"), socket_path);
          return FALSE;
        }
      g_message ("Replacing the stale socket %s", socket_path);
      g_unlink (socket_path);
    }
  return TRUE;
}

static gboolean
listen_unix (JunoDaemon *self, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot create %s: %s"), dir,
                   g_strerror (saved));
      return FALSE;
    }
  if (!take_lock (self, path, error))
    return FALSE;
  if (!juno_listener_listen_unix (self->listener, path, error))
    return FALSE;
  self->socket_path = g_strdup (path);
  return TRUE;
}

static gboolean
on_quit_signal (gpointer data)
{
  JunoDaemon *self = data;

  g_message ("Shutting down");
  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

JunoDaemon *
juno_daemon_new (const JunoDaemonOptions *options, GError **error)
{
  g_autoptr(JunoDaemon) self = g_new0 (JunoDaemon, 1);
  JunoListenerLimits limits = {
    .max_connections = (guint) options->max_connections,
    .max_message_size = (gsize) options->max_message_size,
    .max_output_backlog = (gsize) options->max_output_backlog,
  };

  self->lock_fd = -1;
  self->loop = g_main_loop_new (NULL, FALSE);
  self->broker = juno_broker_new ();
  juno_broker_set_call_timeout (self->broker, (guint64) (options->call_timeout * G_USEC_PER_SEC));
  juno_broker_set_max_calls_in_flight (self->broker, (guint) options->max_calls_in_flight);
  self->listener = juno_listener_new (self->broker, &limits, error);
  if (self->listener == NULL)
    return NULL;

  if (options->socket_given || options->port < 0)
    {
      g_autofree char *path = options->socket_path ? g_strdup (options->socket_path)
                                                   : juno_daemon_default_socket_path ();

      if (!listen_unix (self, path, error))
        return NULL;
    }
  if (options->port >= 0 &&
      !juno_listener_listen_tcp (self->listener, options->bind_address ? options->bind_address : DEFAULT_BIND_ADDRESS,
                                 (guint16) options->port, NULL, error))
    return NULL;

  self->sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, self);
  self->sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, self);
  return g_steal_pointer (&self);
}

void
juno_daemon_run (JunoDaemon *self)
{
  juno_sd_notify ("READY=1\nSTATUS=Listening");
  g_main_loop_run (self->loop);
  juno_sd_notify ("STOPPING=1");
}

void
juno_daemon_free (JunoDaemon *self)
{
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  if (self->listener != NULL)
    juno_listener_close (self->listener);
  g_clear_object (&self->listener);
  g_clear_object (&self->broker);
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  if (self->lock_fd >= 0)
    {
      g_unlink (self->lock_path);
      close (self->lock_fd);
    }
  g_free (self->socket_path);
  g_free (self->lock_path);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_free (self);
}
