/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-link.h: one socket to the broker, framed in lines (private)
 *
 * A JunoLink connects, reads `\n`-terminated lines and writes whole lines
 * through an output buffer that batches what was sent while a write was in
 * progress. It reports to its owner through three callbacks; after
 * juno_link_close() it reports nothing more, so the owner may drop its
 * reference at any time, even from inside a callback.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _JunoLink JunoLink;

typedef struct
{
  void (*connected) (JunoLink *link, gpointer data);
  void (*line) (JunoLink *link, const char *line, gpointer data);
  /* The link is dead; @error says why. Reported once. */
  void (*lost) (JunoLink *link, const GError *error, gpointer data);
} JunoLinkCallbacks;

JunoLink *juno_link_new (GSocketConnectable *address,
                         const JunoLinkCallbacks *callbacks,
                         gpointer data);
JunoLink *juno_link_ref (JunoLink *link);
void juno_link_unref (JunoLink *link);
void juno_link_send (JunoLink *link, const char *line);
void juno_link_close (JunoLink *link);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoLink, juno_link_unref)

/* Turns an address ("unix:PATH", "tcp:HOST:PORT", "/path", "host:port",
 * NULL for the default socket) into something to connect to. */
GSocketConnectable *juno_address_parse (const char *address, GError **error);

G_END_DECLS
