/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-peer.c: see juno-peer.h */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-login.h>

#include "juno-peer.h"

/* no more supplementary groups than Linux allows (NGROUPS_MAX) */
#define MAX_GROUPS 65536

static void
identify_groups (JunoEndpoint *endpoint, int fd)
{
  gid_t small[64];
  g_autofree gid_t *large = NULL;
  gid_t *groups = small;
  socklen_t len = sizeof small;

  if (getsockopt (fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
    {
      if (errno != ERANGE || len == 0 || len > MAX_GROUPS * sizeof (gid_t))
        return;
      groups = large = g_malloc (len);
      if (getsockopt (fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
        return;
    }
  juno_endpoint_set_peer_groups (endpoint, groups, (guint) (len / sizeof (gid_t)));
}

static void
identify_units (JunoEndpoint *endpoint, int fd)
{
  char *unit = NULL, *user_unit = NULL, *slice = NULL;

  /* each fails with -ENODATA/-ENXIO when the peer is not in such a unit */
  sd_peer_get_unit (fd, &unit);
  sd_peer_get_user_unit (fd, &user_unit);
  sd_peer_get_slice (fd, &slice);
  juno_endpoint_set_peer_units (endpoint, unit, user_unit, slice);
  free (unit);
  free (user_unit);
  free (slice);
}

static void
identify_address (JunoEndpoint *endpoint, int fd)
{
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  char text[INET6_ADDRSTRLEN];
  guint16 port;

  if (getpeername (fd, (struct sockaddr *) &addr, &len) < 0)
    return;
  if (addr.ss_family == AF_INET)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) &addr;

      inet_ntop (AF_INET, &in->sin_addr, text, sizeof text);
      port = ntohs (in->sin_port);
    }
  else if (addr.ss_family == AF_INET6)
    {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;

      inet_ntop (AF_INET6, &in6->sin6_addr, text, sizeof text);
      port = ntohs (in6->sin6_port);
    }
  else
    return;
  juno_endpoint_set_peer_address (endpoint, text, port);
}

void
juno_peer_identify (JunoEndpoint *endpoint, int fd)
{
  struct ucred cred;
  socklen_t cred_len = sizeof cred;
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;

  if (getsockname (fd, (struct sockaddr *) &addr, &len) < 0)
    return;
  if (addr.ss_family != AF_UNIX)
    {
      identify_address (endpoint, fd);
      return;
    }
  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 || cred.pid <= 0)
    return;
  juno_endpoint_set_peer_credentials (endpoint, cred.pid, cred.uid, cred.gid);
  identify_groups (endpoint, fd);
  identify_units (endpoint, fd);
}
