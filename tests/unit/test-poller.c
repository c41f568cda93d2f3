/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-poller.c: the epoll source and its contract with handlers
 *
 * Handlers watch one end of real socket pairs on a private main context;
 * the tests write to the other end to make them ready. Each checks one
 * clause of the contract atop src/transport/juno-poller.c: readiness and
 * "after", "pending" without events, a handler that iterates the main
 * context (no nested dispatch, no busy loop, the descriptor back after),
 * one that removes, closes and frees other handlers of the same batch, one
 * that frees itself, freeing the poller from a handler (refused), and
 * busy polling (events and timeouts served, and sleep after the budget).
 */
#include <gio/gio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "juno-poller.h"

#define N_PAIRS 4
#define MAX_ITERATIONS 100

typedef struct _Fixture Fixture;

typedef struct
{
  JunoPollHandler handler; /* first: the poller hands it back */
  Fixture *f;
  guint index;
  int peer_fd;             /* the other end of the pair */
} Pair;

typedef void (*PairFunc) (Pair *pair, guint32 events);

struct _Fixture
{
  GMainContext *context;
  JunoPoller *poller;
  Pair *pairs[N_PAIRS];    /* NULL once freed */
  guint calls[N_PAIRS];    /* handler calls per pair, kept outside the pair */
  guint afters;
  guint in_handler;        /* handlers running now: never more than one */
  gboolean pending;
  PairFunc func;           /* what each handler does */
  gpointer data;
};

static gboolean
fixture_pending (gpointer data)
{
  return ((Fixture *) data)->pending;
}

static void
fixture_after (gpointer data)
{
  Fixture *f = data;

  f->afters++;
  f->pending = FALSE;
}

static void
drain (int fd)
{
  char buf[64];

  while (read (fd, buf, sizeof buf) > 0)
    ;
}

static void
on_pair_events (JunoPollHandler *handler, guint32 events)
{
  Pair *pair = (Pair *) handler;
  Fixture *f = pair->f;

  g_assert_cmpuint (f->in_handler, ==, 0);
  f->in_handler++;
  f->calls[pair->index]++;
  if (f->func != NULL)
    f->func (pair, events);
  else
    drain (handler->fd);
  f->in_handler--;
}

static Pair *
pair_new (Fixture *f, guint index)
{
  Pair *pair = g_new0 (Pair, 1);
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), ==, 0);
  pair->handler.func = on_pair_events;
  pair->handler.fd = fds[0];
  pair->peer_fd = fds[1];
  pair->f = f;
  pair->index = index;
  g_assert_true (juno_poller_add (f->poller, &pair->handler, EPOLLIN, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pair->handler.events, ==, EPOLLIN);
  return pair;
}

/* What a transport does: remove, close, free. */
static void
pair_free (Fixture *f, guint index)
{
  Pair *pair = g_steal_pointer (&f->pairs[index]);

  juno_poller_remove (f->poller, &pair->handler);
  g_assert_cmpuint (pair->handler.events, ==, 0);
  close (pair->handler.fd);
  close (pair->peer_fd);
  g_free (pair);
}

static void
poke (Pair *pair)
{
  g_assert_cmpint (write (pair->peer_fd, "x", 1), ==, 1);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->context = g_main_context_new ();
  f->poller = juno_poller_new (f->context, fixture_pending, fixture_after, f, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < N_PAIRS; i++)
    f->pairs[i] = pair_new (f, i);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < N_PAIRS; i++)
    if (f->pairs[i] != NULL)
      pair_free (f, i);
  g_clear_pointer (&f->poller, juno_poller_free);
  /* nothing of the poller is left on the context */
  while (g_main_context_iteration (f->context, FALSE))
    ;
  g_main_context_unref (f->context);
}

/* Iterates until nothing is ready; returns how many iterations dispatched. */
static guint
run_until_idle (Fixture *f)
{
  guint n = 0;

  while (g_main_context_iteration (f->context, FALSE))
    g_assert_cmpuint (++n, <, MAX_ITERATIONS);
  return n;
}

static void
test_readiness (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (run_until_idle (f), ==, 0);
  g_assert_cmpuint (f->afters, ==, 0);

  poke (f->pairs[1]);
  poke (f->pairs[3]);
  g_assert_cmpuint (run_until_idle (f), ==, 1);
  g_assert_cmpuint (f->calls[0], ==, 0);
  g_assert_cmpuint (f->calls[1], ==, 1);
  g_assert_cmpuint (f->calls[2], ==, 0);
  g_assert_cmpuint (f->calls[3], ==, 1);
  g_assert_cmpuint (f->afters, ==, 1);

  /* a closed peer is an event too (EOF), until the handler goes */
  close (g_steal_fd (&f->pairs[2]->peer_fd));
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  g_assert_cmpuint (f->calls[2], ==, 1);
  pair_free (f, 2);
  g_assert_cmpuint (run_until_idle (f), ==, 0);
  f->pairs[2] = pair_new (f, 2);
}

/* "pending" makes the source ready without any descriptor event. */
static void
test_pending_without_events (Fixture *f, gconstpointer data)
{
  f->pending = TRUE;
  g_assert_cmpuint (run_until_idle (f), ==, 1);
  g_assert_cmpuint (f->afters, ==, 1);
  for (guint i = 0; i < N_PAIRS; i++)
    g_assert_cmpuint (f->calls[i], ==, 0);
}

static void
test_modify (Fixture *f, gconstpointer data)
{
  Pair *pair = f->pairs[0];

  /* a socket with room to write is ready for EPOLLOUT at once */
  juno_poller_modify (f->poller, &pair->handler, EPOLLIN | EPOLLOUT);
  g_assert_cmpuint (pair->handler.events, ==, EPOLLIN | EPOLLOUT);
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  g_assert_cmpuint (f->calls[0], ==, 1);
  juno_poller_modify (f->poller, &pair->handler, EPOLLIN);
  g_assert_cmpuint (run_until_idle (f), ==, 0);
  g_assert_cmpuint (f->calls[0], ==, 1);
}

static gboolean
on_idle (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_REMOVE;
}

typedef struct
{
  guint idles;
  guint nested_dispatches;
  gboolean done;
} IterateState;

/* The first handler called runs the context: other sources run, the
 * poller does not (its handlers would nest), and the context does not
 * spin on the still-readable epoll descriptor. */
static void
iterate_in_handler (Pair *pair, guint32 events)
{
  Fixture *f = pair->f;
  IterateState *st = f->data;
  g_autoptr(GSource) idle = NULL;

  if (st->done)
    {
      drain (pair->handler.fd);
      return;
    }
  st->done = TRUE;
  idle = g_idle_source_new ();
  g_source_set_callback (idle, on_idle, &st->idles, NULL);
  g_source_attach (idle, f->context);
  for (guint i = 0; i < MAX_ITERATIONS && st->idles == 0; i++)
    g_main_context_iteration (f->context, FALSE);
  g_assert_cmpuint (st->idles, ==, 1);
  /* nothing else is ready for a nested iteration, however many times */
  for (guint i = 0; i < 3; i++)
    if (g_main_context_iteration (f->context, FALSE))
      st->nested_dispatches++;
  /* it may even block: a timeout ends the wait, not the poller */
  {
    g_autoptr(GSource) timeout = g_timeout_source_new (10);
    guint fired = 0;

    g_source_set_callback (timeout, on_idle, &fired, NULL);
    g_source_attach (timeout, f->context);
    while (fired == 0)
      g_main_context_iteration (f->context, TRUE);
    g_source_destroy (timeout);
  }
  /* this handler has not read: its descriptor stays ready */
}

static void
test_handler_iterates_context (Fixture *f, gconstpointer data)
{
  IterateState st = { 0 };

  f->func = iterate_in_handler;
  f->data = &st;
  for (guint i = 0; i < N_PAIRS; i++)
    poke (f->pairs[i]);
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  g_assert_true (st.done);
  g_assert_cmpuint (st.nested_dispatches, ==, 0);
  /* the rest of the batch ran after the nested iterations, once each */
  g_assert_cmpuint (f->afters, ==, 1);
  for (guint i = 0; i < N_PAIRS; i++)
    g_assert_cmpuint (f->calls[i], ==, 1);
  /* the epoll descriptor is back in the poll set: the one handler that did
   * not read is called again, and then all is quiet */
  g_assert_cmpuint (run_until_idle (f), ==, 1);
  g_assert_cmpuint (f->afters, ==, 2);
  g_assert_cmpuint (f->calls[0] + f->calls[1] + f->calls[2] + f->calls[3], ==, N_PAIRS + 1);
  poke (f->pairs[2]);
  g_assert_cmpuint (run_until_idle (f), ==, 1);
}

typedef struct
{
  gboolean done;
  guint first;
  guint replacement_calls;
  Pair *replacement;
} RemoveState;

static void
count_replacement (Pair *pair, guint32 events)
{
  RemoveState *st = pair->f->data;

  if (pair == st->replacement)
    st->replacement_calls++;
  drain (pair->handler.fd);
}

/* The first handler called removes, closes and frees every other pair,
 * whose events are in the same batch, and opens a pair that likely gets a
 * freed one's descriptor number, ready at once. */
static void
remove_others (Pair *pair, guint32 events)
{
  Fixture *f = pair->f;
  RemoveState *st = f->data;
  Pair *replacement;

  drain (pair->handler.fd);
  if (st->done)
    return count_replacement (pair, events);
  st->done = TRUE;
  st->first = pair->index;
  for (guint i = 0; i < N_PAIRS; i++)
    if (i != pair->index)
      pair_free (f, i);
  replacement = pair_new (f, (pair->index + 1) % N_PAIRS);
  f->pairs[replacement->index] = replacement;
  st->replacement = replacement;
  poke (replacement);
}

static void
test_handler_removes_others (Fixture *f, gconstpointer data)
{
  RemoveState st = { 0 };
  guint replaced;

  f->func = remove_others;
  f->data = &st;
  for (guint i = 0; i < N_PAIRS; i++)
    poke (f->pairs[i]);
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  g_assert_true (st.done);
  /* only the first was called: the others' events were struck */
  replaced = st.replacement->index;
  for (guint i = 0; i < N_PAIRS; i++)
    if (i != st.first && i != replaced)
      g_assert_cmpuint (f->calls[i], ==, 0);
  g_assert_cmpuint (st.replacement_calls, ==, 0);
  g_assert_cmpuint (f->afters, ==, 1);
  /* the replacement is served from the next dispatch */
  g_assert_cmpuint (run_until_idle (f), ==, 1);
  g_assert_cmpuint (st.replacement_calls, ==, 1);
}

/* Every handler frees itself (the transport's "closed by the peer"). */
static void
free_self (Pair *pair, guint32 events)
{
  pair_free (pair->f, pair->index);
}

static void
test_handler_removes_self (Fixture *f, gconstpointer data)
{
  f->func = free_self;
  poke (f->pairs[0]);
  poke (f->pairs[2]);
  g_assert_cmpuint (run_until_idle (f), ==, 1);
  g_assert_null (f->pairs[0]);
  g_assert_null (f->pairs[2]);
  g_assert_nonnull (f->pairs[1]);
  g_assert_cmpuint (f->calls[0], ==, 1);
  g_assert_cmpuint (f->calls[2], ==, 1);
  /* the others still work */
  f->func = NULL;
  poke (f->pairs[3]);
  g_assert_cmpuint (run_until_idle (f), ==, 1);
  g_assert_cmpuint (f->calls[3], ==, 1);
}

static void
free_poller (Pair *pair, guint32 events)
{
  drain (pair->handler.fd);
  juno_poller_free (pair->f->poller);
}

static void
test_free_during_dispatch_refused (Fixture *f, gconstpointer data)
{
  f->func = free_poller;
  poke (f->pairs[0]);
  g_test_expect_message ("juno-transport", G_LOG_LEVEL_CRITICAL, "*juno_poller_free*dispatching*");
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  g_test_assert_expected_messages ();
  g_assert_cmpuint (f->calls[0], ==, 1);
  g_assert_cmpuint (f->afters, ==, 1);
}

/* Busy polling: events that come while the poller polls, and while it
 * sleeps after the budget, are dispatched; GLib's own timeouts still fire
 * on time. */
typedef struct
{
  int fd;
  gulong delay_us;
} DelayedPoke;

static gpointer
poke_later (gpointer data)
{
  DelayedPoke *d = data;

  g_usleep (d->delay_us);
  g_assert_cmpint (write (d->fd, "x", 1), ==, 1);
  return NULL;
}

static gboolean
on_timeout (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_REMOVE;
}

/* Iterates the context, blocking, until a timeout of @ms fires once. */
static void
run_until_timeout (Fixture *f, guint ms)
{
  GSource *timeout = g_timeout_source_new (ms);
  guint fired = 0;

  g_source_set_callback (timeout, on_timeout, &fired, NULL);
  g_source_attach (timeout, f->context);
  while (fired == 0)
    g_main_context_iteration (f->context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_assert_cmpuint (fired, ==, 1);
}

static void
test_busy_poll_dispatches (Fixture *f, gconstpointer data)
{
  gulong delays[] = { 100, 20 * 1000 }; /* within the budget, after it */

  juno_poller_set_busy_poll (f->poller, JUNO_POLLER_BUSY_POLL_MAX);
  for (guint i = 0; i < G_N_ELEMENTS (delays); i++)
    {
      DelayedPoke d = { f->pairs[1]->peer_fd, delays[i] };
      GThread *thread;

      /* a turn with an event, then one that waits for the next */
      poke (f->pairs[0]);
      g_assert_true (g_main_context_iteration (f->context, FALSE));
      thread = g_thread_new ("poke", poke_later, &d);
      while (f->calls[1] == i)
        g_main_context_iteration (f->context, TRUE);
      g_thread_join (thread);
      g_assert_cmpuint (f->calls[1], ==, i + 1);
    }

  /* a busy turn, then a GLib timeout while the poller polls: it fires */
  poke (f->pairs[0]);
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  run_until_timeout (f, 1);
}

static gint64
thread_cpu_us (void)
{
  struct timespec ts;

  g_assert_cmpint (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts), ==, 0);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* After a busy turn the poller polls for its budget, then sleeps: 100 ms
 * with nothing to do cost far less than 100 ms of CPU time. */
static void
test_busy_poll_then_sleeps (Fixture *f, gconstpointer data)
{
  gint64 cpu;

  juno_poller_set_busy_poll (f->poller, JUNO_POLLER_BUSY_POLL_MAX);
  poke (f->pairs[0]);
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  cpu = thread_cpu_us ();
  run_until_timeout (f, 100);
  cpu = thread_cpu_us () - cpu;
  g_test_message ("CPU time over 100 ms idle after a busy turn: %" G_GINT64_FORMAT " µs", cpu);
  g_assert_cmpint (cpu, <, 50 * 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add ("/transport/poller/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("readiness", test_readiness);
  ADD ("pending-without-events", test_pending_without_events);
  ADD ("modify", test_modify);
  ADD ("handler-iterates-context", test_handler_iterates_context);
  ADD ("handler-removes-others", test_handler_removes_others);
  ADD ("handler-removes-self", test_handler_removes_self);
  ADD ("free-during-dispatch-refused", test_free_during_dispatch_refused);
  ADD ("busy-poll-dispatches", test_busy_poll_dispatches);
  ADD ("busy-poll-then-sleeps", test_busy_poll_then_sleeps);
#undef ADD

  return g_test_run ();
}
