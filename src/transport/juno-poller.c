/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-poller.c: one epoll set as one GSource
 *
 * The contract (tested in tests/unit/test-poller.c):
 *
 * Ownership. The poller owns its epoll descriptor and its GSource, nothing
 * else. Each JunoPollHandler, and the descriptor in it, belongs to the
 * caller, who removes the handler before closing the descriptor or freeing
 * the handler (epoll forgets a closed descriptor only when no duplicate of
 * it is left, so closing is not removing).
 *
 * Dispatch. One dispatch takes up to MAX_EVENTS_PER_DISPATCH ready
 * descriptors from epoll (level-triggered, so what is left waits for the
 * next turn and other sources get their turn meanwhile), calls each
 * handler once with its events, then calls "after" once.
 *
 * What a handler may do. Read and write its descriptor; add, modify or
 * remove any handler, itself included. A handler removed during a dispatch
 * gets no further call, even for an event already taken from epoll in this
 * batch (juno_poller_remove strikes it from the batch), so it may be freed
 * at once. A handler added during a dispatch is served from the next one.
 * A handler, or "after", may iterate the main context: the poller does not
 * dispatch inside its own dispatch (see below), so a handler never runs
 * nested in another, and the transport's one read buffer is never in use
 * twice. Freeing the poller during its dispatch is refused (critical).
 *
 * Wake-ups. GLib sees one descriptor, the epoll set, for reading; the
 * source has no timeout. "pending" is asked at every prepare and check, so
 * work queued from another source (output, a deferred close) is dispatched
 * in the same iteration without any descriptor event. An idle poller
 * causes no wake-ups.
 *
 * Re-entrancy and can_recurse. GLib keeps a non-recursive source from
 * being dispatched inside itself by taking its descriptors out of the poll
 * set for the length of every dispatch and putting them back after, and
 * each of those changes wakes the context up: two eventfd writes and a
 * read on every main-loop turn that serves a message. The source is marked
 * can_recurse so GLib does none of that, and the poller keeps the rule
 * itself: while it dispatches, prepare and check answer "not ready", and
 * the first nested iteration that asks takes the epoll descriptor out of
 * the poll set until the outer dispatch ends (else a nested loop would
 * spin on a descriptor that stays readable). The cost falls only on the
 * rare dispatch that does iterate the context.
 */
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

  gboolean dispatching;
  gboolean blocked;        /* the epoll fd is out of the poll set */
  int n_events;            /* the batch being dispatched */
  int next_event;          /* the first event of it not yet handed out */
  struct epoll_event events[MAX_EVENTS_PER_DISPATCH];
};

/* A nested iteration of the context while the poller dispatches: keep the
 * epoll descriptor out of its poll until the dispatch is over. */
static void
block_nested (JunoPoller *poller)
{
  if (poller->blocked)
    return;
  poller->blocked = TRUE;
  g_source_modify_unix_fd (poller->source, poller->epoll_tag, 0);
}

static gboolean
poller_prepare (GSource *source, gint *timeout)
{
  JunoPoller *poller = ((PollerSource *) source)->poller;

  *timeout = -1;
  if (G_UNLIKELY (poller->dispatching))
    {
      block_nested (poller);
      return FALSE;
    }
  return poller->pending (poller->data);
}

static gboolean
poller_check (GSource *source)
{
  JunoPoller *poller = ((PollerSource *) source)->poller;

  if (G_UNLIKELY (poller->dispatching))
    return FALSE;
  return poller->pending (poller->data) || (g_source_query_unix_fd (source, poller->epoll_tag) != 0);
}

static gboolean
poller_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  JunoPoller *poller = ((PollerSource *) source)->poller;
  int n;

  g_return_val_if_fail (!poller->dispatching, G_SOURCE_CONTINUE);

  do
    n = epoll_wait (poller->epoll_fd, poller->events, MAX_EVENTS_PER_DISPATCH, 0);
  while (n < 0 && errno == EINTR);

  poller->dispatching = TRUE;
  poller->n_events = MAX (n, 0);
  for (poller->next_event = 0; poller->next_event < poller->n_events;)
    {
      struct epoll_event *ev = &poller->events[poller->next_event++];
      JunoPollHandler *handler = ev->data.ptr;

      /* NULL: removed by an earlier handler of this batch */
      if (handler != NULL)
        handler->func (handler, ev->events);
    }
  poller->n_events = poller->next_event = 0;
  poller->after (poller->data);
  poller->dispatching = FALSE;

  if (G_UNLIKELY (poller->blocked))
    {
      poller->blocked = FALSE;
      g_source_modify_unix_fd (poller->source, poller->epoll_tag, G_IO_IN);
    }
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
  /* see "Re-entrancy and can_recurse" above */
  g_source_set_can_recurse (poller->source, TRUE);
  poller->epoll_tag = g_source_add_unix_fd (poller->source, fd, G_IO_IN);
  g_source_attach (poller->source, context);
  return poller;
}

void
juno_poller_free (JunoPoller *poller)
{
  g_return_if_fail (!poller->dispatching);

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
  /* strike it from the rest of the batch: the caller may free it now */
  for (int i = poller->next_event; i < poller->n_events; i++)
    if (poller->events[i].data.ptr == handler)
      poller->events[i].data.ptr = NULL;
}

gboolean
juno_poller_is_dispatching (JunoPoller *poller)
{
  return poller->dispatching;
}
