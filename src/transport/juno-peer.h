/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-peer.h: who is at the other end of an accepted socket
 *
 * Unix: SO_PEERCRED (uid, gid, pid), SO_PEERGROUPS (supplementary groups)
 * and the peer's systemd unit, user unit and slice (libsystemd,
 * sd_peer_get_unit(3) and friends, which read the peer's cgroup). TCP: the
 * peer's address and port. Set on the broker endpoint before its first line.
 */
#pragma once

#include "juno-broker.h"

G_BEGIN_DECLS

void juno_peer_identify (JunoEndpoint *endpoint, int fd);

G_END_DECLS
