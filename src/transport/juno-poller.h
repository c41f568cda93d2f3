/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-poller.h: one epoll set as one GSource
 *
 * GLib's own poll hands the kernel every descriptor of the context on
 * every iteration, which costs time in the number of connections. The
 * poller keeps every socket in one epoll set and shows GLib a single
 * descriptor, so the cost of a message stays flat however many idle
 * modules are connected (docs/design.md has the figures).
 *
 * After each batch of events the poller calls its "after" function; the
 * transport uses it to run deferred closes and flush output, once per
 * main-loop iteration. The "pending" function makes the source ready without
 * any event (output queued from another source, a deferred close).
 *
 * The contract between the poller and its handlers is written atop
 * juno-poller.c; the parts a caller must know:
 * - Handlers and their descriptors belong to the caller. Remove a handler
 *   (juno_poller_remove) before closing its descriptor or freeing it; once
 *   removed it gets no further call, not even for an event of the batch
 *   being dispatched, so it may be freed at once, from inside any handler,
 *   its own included.
 * - A handler may add, modify and remove handlers, and iterate the main
 *   context: the poller does not dispatch inside itself, its events wait
 *   until the outer dispatch is over. It must not free the poller.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _JunoPollHandler JunoPollHandler;
typedef void (*JunoPollFunc) (JunoPollHandler *handler, guint32 events);

struct _JunoPollHandler
{
  JunoPollFunc func;
  int fd;
  guint32 events; /* EPOLLIN, EPOLLOUT as registered; 0 when not in the set */
};

typedef struct _JunoPoller JunoPoller;

JunoPoller *juno_poller_new (GMainContext *context,
                             gboolean (*pending) (gpointer data),
                             void (*after) (gpointer data),
                             gpointer data,
                             GError **error);
void juno_poller_free (JunoPoller *poller);

gboolean juno_poller_add (JunoPoller *poller, JunoPollHandler *handler, guint32 events, GError **error);
void juno_poller_modify (JunoPoller *poller, JunoPollHandler *handler, guint32 events);
void juno_poller_remove (JunoPoller *poller, JunoPollHandler *handler);
/* After a main-loop turn that had events, poll for up to @usec
 * microseconds without sleeping before sleeping in epoll_wait (0, the
 * default: sleep at once). Lower latency for CPU time spent polling; never
 * done while the process may run on one CPU only. Works where the poller
 * is its context's poll function (the first poller of a context). */
#define JUNO_POLLER_BUSY_POLL_MAX 1000
void juno_poller_set_busy_poll (JunoPoller *poller, guint usec);
/* TRUE while a batch is being dispatched (handlers and "after" run). */
gboolean juno_poller_is_dispatching (JunoPoller *poller);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoPoller, juno_poller_free)

G_END_DECLS
