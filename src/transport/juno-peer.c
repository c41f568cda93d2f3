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

/* The units of a cgroup: libsystemd derives them from the cgroup's path
 * alone, so peers of one cgroup (a module process with many connections,
 * the modules of one service reconnecting after a restart) share them.
 * Asking libsystemd for the unit, the user unit and the slice reads the
 * peer's and PID 1's /proc/PID/cgroup once each; the cgroup path alone
 * takes one of those three reads. */
#define UNIT_CACHE_MAX 1024

typedef struct
{
  char *unit;
  char *user_unit;
  char *slice;
} Units;

static void
units_free (gpointer data)
{
  Units *units = data;

  free (units->unit);
  free (units->user_unit);
  free (units->slice);
  g_free (units);
}

static void
identify_units (JunoEndpoint *endpoint, int fd)
{
  static GHashTable *cache; /* cgroup path (owned) -> Units; main thread only */
  char *cgroup = NULL;
  Units *units;

  if (sd_peer_get_cgroup (fd, &cgroup) < 0 || cgroup == NULL)
    {
      free (cgroup);
      return;
    }
  if (cache == NULL)
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, free, units_free);
  units = g_hash_table_lookup (cache, cgroup);
  if (units == NULL)
    {
      units = g_new0 (Units, 1);
      /* each fails with -ENODATA/-ENXIO when the peer is not in such a unit */
      sd_peer_get_unit (fd, &units->unit);
      sd_peer_get_user_unit (fd, &units->user_unit);
      sd_peer_get_slice (fd, &units->slice);
      if (g_hash_table_size (cache) >= UNIT_CACHE_MAX)
        g_hash_table_remove_all (cache);
      g_hash_table_insert (cache, cgroup, units);
    }
  else
    free (cgroup);
  juno_endpoint_set_peer_units (endpoint, units->unit, units->user_unit, units->slice);
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
