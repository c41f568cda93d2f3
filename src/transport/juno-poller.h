/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-poller.h: one epoll set as one GSource
 *
 * GLib's own poll rebuilds its descriptor array on every iteration, which
 * costs time in the number of connections. The poller keeps every socket in
 * one epoll set and shows GLib a single descriptor, so the cost of a message
 * stays flat however many idle modules are connected.
 *
 * After each batch of events the poller calls its "after" function; the
 * transport uses it to run deferred closes and flush output, once per
 * main-loop iteration. The "pending" function makes the source ready without
 * any event (output queued from another source, a deferred close).
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
  guint32 events; /* EPOLLIN, EPOLLOUT as registered */
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoPoller, juno_poller_free)

G_END_DECLS
