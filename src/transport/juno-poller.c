/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-poller.c: see juno-poller.h */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "juno-poller.h"

#define MAX_EVENTS_PER_DISPATCH 256

typedef struct
{
  GSource source;
  JunoPoller *poller;
} PollerSource;

struct _JunoPoller
{
  GSource *source;
  gpointer epoll_tag;
  int epoll_fd;
  gboolean (*pending) (gpointer data);
  void (*after) (gpointer data);
  gpointer data;
};

static gboolean
poller_prepare (GSource *source, gint *timeout)
{
  JunoPoller *poller = ((PollerSource *) source)->poller;

  *timeout = -1;
  return poller->pending (poller->data);
}

static gboolean
poller_check (GSource *source)
{
  JunoPoller *poller = ((PollerSource *) source)->poller;

  return poller->pending (poller->data) || (g_source_query_unix_fd (source, poller->epoll_tag) != 0);
}

static gboolean
poller_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  JunoPoller *poller = ((PollerSource *) source)->poller;
  struct epoll_event events[MAX_EVENTS_PER_DISPATCH];
  int n;

  do
    n = epoll_wait (poller->epoll_fd, events, G_N_ELEMENTS (events), 0);
  while (n < 0 && errno == EINTR);

  for (int i = 0; i < n; i++)
    {
      JunoPollHandler *handler = events[i].data.ptr;

      handler->func (handler, events[i].events);
    }
  poller->after (poller->data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs poller_source_funcs = {
  .prepare = poller_prepare,
  .check = poller_check,
  .dispatch = poller_dispatch,
};

JunoPoller *
juno_poller_new (GMainContext *context,
                 gboolean (*pending) (gpointer data),
                 void (*after) (gpointer data),
                 gpointer data,
                 GError **error)
{
  JunoPoller *poller;
  int fd = epoll_create1 (EPOLL_CLOEXEC);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "epoll_create1: %s", g_strerror (saved));
      return NULL;
    }

  poller = g_new0 (JunoPoller, 1);
  poller->epoll_fd = fd;
  poller->pending = pending;
  poller->after = after;
  poller->data = data;
  poller->source = g_source_new (&poller_source_funcs, sizeof (PollerSource));
  ((PollerSource *) poller->source)->poller = poller;
  g_source_set_name (poller->source, "juno sockets");
  /* GLib takes a non-recursive source's fds out of the poll set while it
   * dispatches and puts them back after, and each of those wakes the main
   * context up: two eventfd writes and a read per main-loop turn. Nothing
   * run from a dispatch iterates this context, so let it "recurse". */
  g_source_set_can_recurse (poller->source, TRUE);
  poller->epoll_tag = g_source_add_unix_fd (poller->source, fd, G_IO_IN);
  g_source_attach (poller->source, context);
  return poller;
}

void
juno_poller_free (JunoPoller *poller)
{
  g_source_destroy (poller->source);
  g_source_unref (poller->source);
  close (poller->epoll_fd);
  g_free (poller);
}

gboolean
juno_poller_add (JunoPoller *poller, JunoPollHandler *handler, guint32 events, GError **error)
{
  struct epoll_event ev = { .events = events, .data.ptr = handler };

  if (epoll_ctl (poller->epoll_fd, EPOLL_CTL_ADD, handler->fd, &ev) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "epoll_ctl: %s", g_strerror (saved));
      return FALSE;
    }
  handler->events = events;
  return TRUE;
}

void
juno_poller_modify (JunoPoller *poller, JunoPollHandler *handler, guint32 events)
{
  struct epoll_event ev = { .events = events, .data.ptr = handler };

  if (handler->events == events)
    return;
  if (epoll_ctl (poller->epoll_fd, EPOLL_CTL_MOD, handler->fd, &ev) < 0)
    g_warning ("Could not change the events watched on fd %d: %s", handler->fd, g_strerror (errno));
  handler->events = events;
}

void
juno_poller_remove (JunoPoller *poller, JunoPollHandler *handler)
{
  epoll_ctl (poller->epoll_fd, EPOLL_CTL_DEL, handler->fd, NULL);
  handler->events = 0;
}
