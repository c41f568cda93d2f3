/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-link.h: one socket to the broker, framed in lines (private)
 *
 * A JunoLink does its I/O in libjuno's I/O thread, in the style of
 * GDBusConnection's worker: it connects, reads `\n`-terminated lines and
 * writes whole lines through an output buffer that batches what was sent
 * while a write was in progress. What it sees becomes a queue of events
 * (connected, a line, lost) that its owner pops in its own thread; the
 * owner is told that events are waiting by @ready, called in the owner's
 * context, and a thread blocked in a synchronous call by a wakeup of the
 * context set with juno_link_set_waiter(). So the I/O goes on whatever the
 * owner's context does, and the owner decides what to handle when.
 *
 * After juno_link_close() the link queues and reports nothing more, so the
 * owner may drop its reference at any time, even from inside @ready.
 * juno_link_send(), juno_link_close(), juno_link_pop_event() and
 * juno_link_set_waiter() may be called from any thread.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _JunoLink JunoLink;

typedef enum
{
  JUNO_LINK_EVENT_CONNECTED,
  JUNO_LINK_EVENT_LINE,
  JUNO_LINK_EVENT_LOST, /* the last event of a link */
} JunoLinkEventType;

typedef struct
{
  JunoLinkEventType type;
  char *line;       /* LINE */
  GError *error;    /* LOST: why */
  JsonNode *parsed; /* the owner's cache of the decoded line */
} JunoLinkEvent;

void juno_link_event_free (JunoLinkEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoLinkEvent, juno_link_event_free)

typedef void (*JunoLinkReadyFunc) (JunoLink *link, gpointer data);

JunoLink *juno_link_new (GSocketConnectable *address,
                         GMainContext *owner_context,
                         JunoLinkReadyFunc ready,
                         gpointer data);
JunoLink *juno_link_ref (JunoLink *link);
void juno_link_unref (JunoLink *link);
void juno_link_send (JunoLink *link, const char *line);
void juno_link_close (JunoLink *link);
JunoLinkEvent *juno_link_pop_event (JunoLink *link);
void juno_link_set_waiter (JunoLink *link, GMainContext *waiter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoLink, juno_link_unref)

/* Turns an address ("unix:PATH", "tcp:HOST:PORT", "/path", "host:port",
 * NULL for the default socket) into something to connect to. */
GSocketConnectable *juno_address_parse (const char *address, GError **error);

G_END_DECLS
