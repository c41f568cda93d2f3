/* juno-systemd.h: the seam to systemd
 *
 * Readiness and status go to $NOTIFY_SOCKET with the sd_notify datagram
 * protocol. Without NOTIFY_SOCKET every call is a no-op.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean juno_sd_notify (const char *state);

G_END_DECLS
