/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-systemd.c: see juno-systemd.h
 *
 * The service manager's interfaces are spoken directly, as documented in
 * sd_notify(3), sd_listen_fds(3) and sd_watchdog_enabled(3); systemd keeps
 * these protocols stable for programs that do not link libsystemd. Doing
 * so keeps libsystemd and the six compression and crypto libraries it
 * loads out of the broker, about 1 MB of resident memory.
 *
 * Socket activation follows dbus-broker's inherit_fds: each fd must be a
 * listening stream socket, Unix or IP; anything else is logged and closed.
 * FileDescriptorName= ("unix", "tcp", or any name) only labels the log
 * lines: the socket family decides what a socket is.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "juno-names.h"
#include "juno-systemd.h"

/* the first fd passed by the service manager (SD_LISTEN_FDS_START) */
#define LISTEN_FDS_START 3

/* Reads $NAME as a PID and tells whether it is this process. */
static gboolean
env_names_this_process (const char *name)
{
  const char *value = g_getenv (name);
  guint64 pid;

  return value != NULL && g_ascii_string_to_unsigned (value, 10, 1, G_MAXINT, &pid, NULL) &&
         (pid_t) pid == getpid ();
}

/* Fills @addr from $NOTIFY_SOCKET: a path, or "@name" for the abstract
 * namespace. Returns the address length, 0 when the variable is unset, or
 * -errno when it cannot be used. */
static int
notify_address (struct sockaddr_un *addr)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  size_t len;

  if (path == NULL || *path == '\0')
    return 0;
  if (path[0] != '/' && path[0] != '@')
    return -EAFNOSUPPORT;
  len = strlen (path);
  if (len >= sizeof addr->sun_path)
    return -E2BIG;

  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy (addr->sun_path, path, len);
  if (path[0] == '@')
    addr->sun_path[0] = '\0';
  /* an abstract name has no terminating NUL; a path keeps it */
  return (int) (offsetof (struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0));
}

gboolean
juno_sd_notify (const char *state)
{
  struct sockaddr_un addr;
  int addr_len = notify_address (&addr);
  int fd, saved = 0;
  size_t len = strlen (state);
  ssize_t sent;

  if (addr_len == 0)
    return FALSE;
  if (addr_len < 0)
    {
      g_debug ("Could not notify the service manager: %s", g_strerror (-addr_len));
      return FALSE;
    }

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_debug ("Could not notify the service manager: %s", g_strerror (errno));
      return FALSE;
    }
  /* never wait on the receiver: a notify socket whose queue is full (10
   * datagrams by default) would otherwise freeze the main loop */
  do
    sent = sendto (fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *) &addr, (socklen_t) addr_len);
  while (sent < 0 && errno == EINTR);
  if (sent < 0)
    saved = errno;
  close (fd);

  if (sent < 0 || (size_t) sent != len)
    {
      g_debug ("Could not notify the service manager: %s", sent < 0 ? g_strerror (saved) : "short write");
      return FALSE;
    }
  return TRUE;
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

/* A listening stream socket of @family (AF_UNIX, or AF_INET/AF_INET6 for
 * @family AF_INET)? */
static gboolean
is_listening_stream (int fd, int family)
{
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  int type = 0, listening = 0;
  socklen_t opt_len = sizeof type;

  if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &opt_len) < 0 || type != SOCK_STREAM)
    return FALSE;
  opt_len = sizeof listening;
  if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &opt_len) < 0 || !listening)
    return FALSE;
  memset (&addr, 0, sizeof addr);
  if (getsockname (fd, (struct sockaddr *) &addr, &len) < 0 ||
      len < offsetof (struct sockaddr_storage, ss_family) + sizeof addr.ss_family)
    return FALSE;
  if (family == AF_INET)
    return addr.ss_family == AF_INET || addr.ss_family == AF_INET6;
  return addr.ss_family == family;
}

static const char *
socket_kind (int fd)
{
  if (is_listening_stream (fd, AF_UNIX))
    return JUNO_FD_NAME_UNIX;
  if (is_listening_stream (fd, AF_INET))
    return JUNO_FD_NAME_TCP;
  return NULL;
}

/* $LISTEN_FDS for this process, with the names from $LISTEN_FDNAMES;
 * the variables are removed so children do not inherit them. Returns the
 * number of fds (0 without socket activation) or -errno. */
static int
listen_fds (char ***names)
{
  const char *count = g_getenv ("LISTEN_FDS");
  const char *fdnames = g_getenv ("LISTEN_FDNAMES");
  guint64 n = 0;
  int r = 0;

  *names = NULL;
  if (count == NULL || !env_names_this_process ("LISTEN_PID"))
    goto out;
  if (!g_ascii_string_to_unsigned (count, 10, 0, G_MAXINT - LISTEN_FDS_START, &n, NULL))
    {
      r = -EINVAL;
      goto out;
    }
  for (guint64 i = 0; i < n; i++)
    if (fcntl (LISTEN_FDS_START + (int) i, F_GETFD) < 0)
      {
        r = -errno;
        goto out;
      }
  if (fdnames != NULL)
    {
      g_auto (GStrv) split = g_strsplit (fdnames, ":", -1);

      if (g_strv_length (split) == n)
        *names = g_steal_pointer (&split);
      else
        g_warning ("LISTEN_FDNAMES names %u sockets but LISTEN_FDS is %" G_GUINT64_FORMAT "; ignoring the names",
                   g_strv_length (split), n);
    }
  r = (int) n;

out:
  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("LISTEN_FDNAMES");
  return r;
}

int
juno_sd_adopt_listen_fds (JunoListener *listener, GError **error)
{
  g_auto (GStrv) names = NULL;
  int n, adopted = 0;

  n = listen_fds (&names);
  if (n < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (-n),
                   "cannot take the sockets from systemd: %s", g_strerror (-n));
      return -1;
    }

  for (int i = 0; i < n; i++)
    {
      int fd = LISTEN_FDS_START + i;
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
      if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
          fcntl (fd, F_SETFD, FD_CLOEXEC) < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "fd %d ('%s'): %s", fd, name,
                       g_strerror (saved));
          return -1;
        }
      /* from here the listener owns the fd */
      if (!juno_listener_adopt_fd (listener, fd, error))
        {
          g_prefix_error (error, "socket '%s' from systemd: ", name);
          return -1;
        }
      g_info ("Adopted socket '%s' (fd %d, %s) from systemd", name, fd, kind);
      adopted++;
    }

  if (n > 0 && adopted == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "systemd passed no listening Unix or TCP stream socket");
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
  const char *value = g_getenv ("WATCHDOG_USEC");
  guint64 usec = 0;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT64, &usec, NULL))
    return 0;
  /* WATCHDOG_PID, when set, must name this process */
  if (g_getenv ("WATCHDOG_PID") != NULL && !env_names_this_process ("WATCHDOG_PID"))
    return 0;
  g_info ("Watchdog: a keep-alive every %" G_GUINT64_FORMAT " ms", usec / 2000);
  juno_sd_notify ("WATCHDOG=1");
  return g_timeout_add ((guint) CLAMP (usec / 2000, 1, G_MAXUINT), on_watchdog, NULL);
}
