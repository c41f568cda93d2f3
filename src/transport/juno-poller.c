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
 *
 * One system call per turn. GLib's own turn polls the epoll descriptor
 * (poll), and the dispatch then asks epoll what is ready (epoll_wait): two
 * system calls where one does. So the first poller of a context becomes
 * that context's poll function (g_main_context_set_poll_func): the other
 * descriptors GLib polls (its wake-up eventfd, the listening sockets,
 * GDBus's) are added to the epoll set too, marked as foreign, and one
 * epoll_wait answers for all: foreign events become GLib's revents, the
 * poller's own are kept for the dispatch that follows, which then needs no
 * system call of its own. epoll is level-triggered, so events kept but not
 * dispatched (another source won the turn) are simply asked for again at
 * the next poll. Whenever the poll is not the plain case (the poller is
 * dispatching and a nested iteration polls, its descriptor is out of the
 * set, a foreign descriptor cannot be added to epoll), the poll falls back
 * to g_poll() and the dispatch to its own epoll_wait.
 *
 * Busy polling (juno_poller_set_busy_poll, off unless asked). Going to
 * sleep in epoll_wait and being woken costs a wake-up; on a virtual
 * machine that is the largest part of a call's latency when the peers
 * wait for each other one message at a time. With a budget set, the
 * poll function that follows a turn which had events first asks epoll
 * without sleeping, again and again, for up to the budget (never past
 * GLib's own timeout), and sleeps only if nothing came. So a busy broker
 * spends at most the budget of CPU time per idle gap, and an idle one
 * sleeps as before: the first poll after a turn without events sleeps at
 * once. Polling never happens when the process may run on one CPU only
 * (its affinity, read again at most every BUSY_AFFINITY_RECHECK_US): the
 * peer it waits for would need that CPU.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "juno-poller.h"

#define MAX_EVENTS_PER_DISPATCH 256
/* epoll data of a foreign descriptor: its number with the top bit set (a
 * handler pointer never has it) */
#define FOREIGN_TAG (G_GUINT64_CONSTANT (1) << 63)
#define BUSY_AFFINITY_RECHECK_US (100 * G_TIME_SPAN_MILLISECOND)

typedef struct
{
  int fd;
  guint32 events;      /* registered in the epoll set */
  guint generation;    /* the last poll that saw it */
} Foreign;

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
  gboolean prefetched;     /* the poll function filled events[] */
  gboolean poll_func;      /* it is its context's poll function */
  gboolean foreign_failed; /* a foreign fd could not join epoll: g_poll() */
  guint generation;
  guint busy_poll_us;      /* 0: sleep at once (juno_poller_set_busy_poll) */
  gboolean busy;           /* the last poll found events */
  gboolean multi_cpu;      /* the affinity allows more than one CPU */
  gint64 affinity_checked; /* monotonic time of the last look at it */
  GArray *foreign;         /* Foreign */
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

/* The poller whose context polls through poller_poll (GPollFunc has no
 * user data; a process has one such poller). */
static JunoPoller *poll_owner;

static Foreign *
find_foreign (JunoPoller *poller, int fd, guint *index)
{
  for (guint i = 0; i < poller->foreign->len; i++)
    {
      Foreign *f = &g_array_index (poller->foreign, Foreign, i);

      if (f->fd == fd)
        {
          if (index != NULL)
            *index = i;
          return f;
        }
    }
  return NULL;
}

/* Puts @fd in the epoll set for @events (those of every GPollFD of it seen
 * in this poll, together). */
static gboolean
sync_foreign (JunoPoller *poller, int fd, guint32 events)
{
  Foreign *f = find_foreign (poller, fd, NULL);
  struct epoll_event ev = { .data.u64 = FOREIGN_TAG | (guint64) (guint) fd };

  if (f != NULL && f->generation == poller->generation)
    events |= f->events; /* a second GPollFD of the same descriptor */
  ev.events = events;
  if (f == NULL)
    {
      if (epoll_ctl (poller->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
          (errno != EEXIST || epoll_ctl (poller->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0))
        return FALSE;
      g_array_append_val (poller->foreign, ((Foreign) { fd, events, poller->generation }));
      return TRUE;
    }
  if (f->events != events &&
      epoll_ctl (poller->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
      (errno != ENOENT || epoll_ctl (poller->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0))
    return FALSE;
  f->events = events;
  f->generation = poller->generation;
  return TRUE;
}

static gboolean
may_run_on_several_cpus (void)
{
  cpu_set_t set;

  if (sched_getaffinity (0, sizeof set, &set) < 0)
    return FALSE;
  return CPU_COUNT (&set) > 1;
}

/* Asks epoll without sleeping until something is ready or the budget (at
 * most @timeout ms, if GLib has one) is spent; 0 when nothing came. */
static int
busy_wait (JunoPoller *poller, gint timeout)
{
  gint64 now = g_get_monotonic_time ();
  gint64 until = now + poller->busy_poll_us;

  if (now - poller->affinity_checked >= BUSY_AFFINITY_RECHECK_US)
    {
      poller->multi_cpu = may_run_on_several_cpus ();
      poller->affinity_checked = now;
    }
  if (!poller->multi_cpu)
    return 0;
  if (timeout > 0)
    until = MIN (until, now + (gint64) timeout * G_TIME_SPAN_MILLISECOND);
  for (;;)
    {
      int n = epoll_wait (poller->epoll_fd, poller->events, MAX_EVENTS_PER_DISPATCH, 0);

      if (n != 0 && !(n < 0 && errno == EINTR))
        return n;
      if (g_get_monotonic_time () >= until)
        return 0;
    }
}

static gint
poller_poll (GPollFD *ufds, guint nfds, gint timeout)
{
  JunoPoller *poller = poll_owner;
  GPollFD *mine = NULL;
  int n;
  gint ready = 0;

  if (poller != NULL)
    {
      poller->prefetched = FALSE;
      poller->n_events = poller->dispatching ? poller->n_events : 0;
      for (guint i = 0; i < nfds; i++)
        if (ufds[i].fd == poller->epoll_fd)
          mine = &ufds[i];
    }
  if (mine == NULL || mine->events == 0 || poller->dispatching || poller->foreign_failed)
    return g_poll (ufds, nfds, timeout);

  poller->generation++;
  for (guint i = 0; i < nfds; i++)
    {
      ufds[i].revents = 0;
      if (&ufds[i] == mine || ufds[i].events == 0)
        continue;
      if (!sync_foreign (poller, ufds[i].fd, ufds[i].events))
        {
          g_debug ("fd %d cannot join the epoll set (%s): polling with g_poll()", ufds[i].fd, g_strerror (errno));
          poller->foreign_failed = TRUE;
          return g_poll (ufds, nfds, timeout);
        }
    }
  /* those GLib polls no more */
  for (guint i = 0; i < poller->foreign->len;)
    {
      Foreign *f = &g_array_index (poller->foreign, Foreign, i);

      if (f->generation == poller->generation)
        {
          i++;
          continue;
        }
      epoll_ctl (poller->epoll_fd, EPOLL_CTL_DEL, f->fd, NULL);
      g_array_remove_index_fast (poller->foreign, i);
    }

  n = 0;
  if (poller->busy && poller->busy_poll_us > 0 && timeout != 0)
    n = busy_wait (poller, timeout);
  if (n == 0)
    n = epoll_wait (poller->epoll_fd, poller->events, MAX_EVENTS_PER_DISPATCH, timeout);
  poller->busy = n > 0;
  if (n < 0)
    return -1; /* errno as epoll_wait left it; GLib ignores EINTR */

  poller->n_events = 0;
  for (int i = 0; i < n; i++)
    {
      struct epoll_event *ev = &poller->events[i];

      if (!(ev->data.u64 & FOREIGN_TAG))
        {
          poller->events[poller->n_events++] = *ev;
          continue;
        }
      for (guint j = 0; j < nfds; j++)
        if (ufds[j].fd == (int) (ev->data.u64 & ~FOREIGN_TAG) && &ufds[j] != mine)
          ufds[j].revents |= (gushort) ((ev->events & 0xffff) & (ufds[j].events | G_IO_ERR | G_IO_HUP | G_IO_NVAL));
    }
  poller->prefetched = TRUE;
  if (poller->n_events > 0)
    mine->revents = G_IO_IN;
  for (guint i = 0; i < nfds; i++)
    if (ufds[i].revents != 0)
      ready++;
  return ready;
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

  if (poller->prefetched)
    n = poller->n_events;
  else
    {
      int got;

      do
        got = epoll_wait (poller->epoll_fd, poller->events, MAX_EVENTS_PER_DISPATCH, 0);
      while (got < 0 && errno == EINTR);
      /* without the poll function's sorting: drop the foreign ones */
      n = 0;
      for (int i = 0; i < got; i++)
        if (!(poller->events[i].data.u64 & FOREIGN_TAG))
          poller->events[n++] = poller->events[i];
    }
  poller->prefetched = FALSE;

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
  poller->foreign = g_array_new (FALSE, FALSE, sizeof (Foreign));
  g_source_attach (poller->source, context);
  if (poll_owner == NULL && !g_getenv ("JUNO_POLLER_NO_POLL_FUNC"))
    {
      poll_owner = poller;
      poller->poll_func = TRUE;
      g_main_context_set_poll_func (context, poller_poll);
    }
  return poller;
}

void
juno_poller_free (JunoPoller *poller)
{
  g_return_if_fail (!poller->dispatching);

  if (poller->poll_func)
    {
      g_main_context_set_poll_func (g_source_get_context (poller->source), NULL);
      poll_owner = NULL;
    }
  g_source_destroy (poller->source);
  g_source_unref (poller->source);
  close (poller->epoll_fd);
  g_array_unref (poller->foreign);
  g_free (poller);
}

void
juno_poller_set_busy_poll (JunoPoller *poller, guint usec)
{
  g_return_if_fail (usec <= JUNO_POLLER_BUSY_POLL_MAX);

  poller->busy_poll_us = usec;
  poller->busy = FALSE;
  poller->affinity_checked = G_MININT64 / 2; /* look at the affinity at the first poll */
}

gboolean
juno_poller_add (JunoPoller *poller, JunoPollHandler *handler, guint32 events, GError **error)
{
  struct epoll_event ev = { .events = events, .data.ptr = handler };
  guint index;

  /* a foreign descriptor GLib closed, its number now ours: forget it, or
   * its removal at the next poll would take ours out of the set */
  if (find_foreign (poller, handler->fd, &index) != NULL)
    g_array_remove_index_fast (poller->foreign, index);

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
