/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-systemd.h: the seam to systemd (sd_notify, socket activation)
 *
 * Readiness, status and watchdog keep-alives go to $NOTIFY_SOCKET; without
 * it every notification is a no-op. Listening sockets handed over by
 * socket activation are checked and given to the listener.
 */
#pragma once

#include <glib.h>

#include "juno-listener.h"

G_BEGIN_DECLS

gboolean juno_sd_notify (const char *state);
gboolean juno_sd_notifyf (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Adopts every listening stream socket passed by systemd; returns how many
 * (0 without socket activation), or -1 with @error set. */
int juno_sd_adopt_listen_fds (JunoListener *listener, GError **error);

/* Starts keep-alives at half of $WATCHDOG_USEC; returns the source id, or 0
 * when no watchdog is asked for. */
guint juno_sd_watchdog_start (void);

G_END_DECLS
