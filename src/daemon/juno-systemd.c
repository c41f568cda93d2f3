/* juno-systemd.c: see juno-systemd.h */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "juno-names.h"
#include "juno-systemd.h"

gboolean
juno_sd_notify (const char *state)
{
  const char *path = g_getenv (JUNO_ENV_NOTIFY_SOCKET);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  socklen_t addr_len;
  gsize path_len;
  gssize sent;
  int fd;

  if (path == NULL || path[0] == '\0')
    return FALSE;
  path_len = strlen (path);
  if ((path[0] != '/' && path[0] != '@') || path_len >= sizeof addr.sun_path)
    {
      g_warning ("Ignoring NOTIFY_SOCKET '%s': not a socket path", path);
      return FALSE;
    }
  memcpy (addr.sun_path, path, path_len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0'; /* abstract namespace */
  addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + path_len);

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *) &addr, addr_len);
  if (sent < 0)
    g_debug ("Could not notify the service manager: %s", g_strerror (errno));
  close (fd);
  return sent >= 0;
}
