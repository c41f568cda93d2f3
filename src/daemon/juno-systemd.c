/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-systemd.c: see juno-systemd.h
 *
 * The service manager's interfaces through libsystemd:
 * sd_listen_fds_with_names(3), sd_is_socket(3) and sd_watchdog_enabled(3);
 * notifications follow sd_notify(3) but never block (juno_sd_notify).
 * The same library tells who a peer is (sd_peer_get_unit(3) in the
 * transport), so linking it costs one library for both jobs.
 *
 * Socket activation follows dbus-broker's inherit_fds: each fd must be a
 * listening stream socket, Unix or IP; anything else is logged and closed.
 * FileDescriptorName= ("unix", "tcp", or any name) only labels the log
 * lines: the socket family decides what a socket is.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "juno-names.h"
#include "juno-systemd.h"

/* sd_notify(3) writes on a blocking socket: a reader that stops reading
 * (a full queue, net.unix.max_dgram_qlen datagrams) would freeze the main
 * loop, watchdog included. So the datagram goes out with MSG_DONTWAIT and
 * is dropped, with a debug line, when the queue is full; only the sending
 * differs from libsystemd's. */
gboolean
juno_sd_notify (const char *state)
{
  const char *path = g_getenv (JUNO_ENV_NOTIFY_SOCKET);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  gsize len;
  int fd;
  ssize_t sent;

  if (path == NULL || (path[0] != '/' && path[0] != '@'))
    return FALSE;
  len = strlen (path);
  if (len >= sizeof addr.sun_path)
    return FALSE;
  memcpy (addr.sun_path, path, len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return FALSE;
  do
    sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *) &addr,
                   (socklen_t) (offsetof (struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0)));
  while (sent < 0 && errno == EINTR);
  if (sent < 0)
    g_debug ("Could not notify the service manager: %s", g_strerror (errno));
  close (fd);
  return sent >= 0;
}

gboolean
juno_sd_notifyf (const char *format, ...)
{
  g_autofree char *state = NULL;
  va_list args;

  va_start (args, format);
  state = g_strdup_vprintf (format, args);
  va_end (args);
  return juno_sd_notify (state);
}

static const char *
socket_kind (int fd)
{
  if (sd_is_socket_unix (fd, SOCK_STREAM, 1, NULL, 0) > 0)
    return JUNO_FD_NAME_UNIX;
  if (sd_is_socket_inet (fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0)
    return JUNO_FD_NAME_TCP;
  return NULL;
}

int
juno_sd_adopt_listen_fds (JunoListener *listener, GError **error)
{
  g_auto (GStrv) names = NULL;
  int n, adopted = 0;

  /* unsets $LISTEN_* so that children do not inherit them */
  n = sd_listen_fds_with_names (1, &names);
  if (n < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-n),
                   _("cannot take the sockets from systemd: %s"), g_strerror (-n));
      return -1;
    }

  for (int i = 0; i < n; i++)
    {
      int fd = SD_LISTEN_FDS_START + i;
      const char *name = names && names[i] && *names[i] ? names[i] : "unknown";
      const char *kind = socket_kind (fd);
      int flags;

      if (kind == NULL)
        {
          g_warning ("Ignoring fd %d ('%s') from systemd: not a listening Unix or TCP stream socket", fd, name);
          close (fd);
          continue;
        }
      if ((g_str_equal (name, JUNO_FD_NAME_UNIX) || g_str_equal (name, JUNO_FD_NAME_TCP)) &&
          !g_str_equal (name, kind))
        g_warning ("Socket '%s' from systemd is a %s socket; serving it as %s", name, kind, kind);

      flags = fcntl (fd, F_GETFL);
      if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "fd %d ('%s'): %s", fd, name,
                       g_strerror (saved));
          return -1;
        }
      /* from here the listener owns the fd */
      if (!juno_listener_adopt_fd (listener, fd, error))
        {
          g_prefix_error (error, _("socket '%s' from systemd: "), name);
          return -1;
        }
      g_info ("Adopted socket '%s' (fd %d, %s) from systemd", name, fd, kind);
      adopted++;
    }

  if (n > 0 && adopted == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("systemd passed no listening Unix or TCP stream socket"));
      return -1;
    }
  return adopted;
}

static gboolean
on_watchdog (gpointer data)
{
  juno_sd_notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

guint
juno_sd_watchdog_start (void)
{
  uint64_t usec = 0;

  /* checks $WATCHDOG_PID too; keeps the variables for a re-exec */
  if (sd_watchdog_enabled (0, &usec) <= 0 || usec == 0)
    return 0;
  g_info ("Watchdog: a keep-alive every %" G_GUINT64_FORMAT " ms", (guint64) usec / 2000);
  juno_sd_notify ("WATCHDOG=1");
  return g_timeout_add ((guint) CLAMP (usec / 2000, 1, G_MAXUINT), on_watchdog, NULL);
}
