/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-line.c - load-generator roles for the line protocol (juno and floor).
 *
 * Each role is one process driving its sockets with poll/epoll and parsing
 * lines in place. Callers keep a fixed window of calls in flight, tagged
 * "c<slot>", and time each from write to answer. The callee answers every
 * type-3 line at once with the arguments plus "sum". Listeners count lines.
 * The trigger keeps at most a window of undelivered hooks outstanding so no
 * queue anywhere grows without bound.
 */
#include "sys-line.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The largest answer: the bulk workload's 1 MiB arguments and the sum. */
#define ANSWER_MAX (4 * 1024 * 1024)

static const LineFlavor *
flavor (BenchCtx *ctx)
{
  return ctx->priv;
}

static uint64_t
now_ns (void)
{
  return (uint64_t) (bench_now () * 1e9);
}

/* Answers every call in @c's input; returns false when the peer is gone. */
static bool
serve_lines (BenchCtx *ctx, LineConn *c, char *answer)
{
  const char *line, *rid, *args;
  size_t len, rid_len, args_len;

  while (line_next (c, &line, &len))
    {
      size_t alen;
      char *out;

      if (bench_json_int (line, len, "type", -1) != 3)
        continue;
      if (!bench_json_get (line, len, "requestId", &rid, &rid_len) ||
          !bench_json_get (line, len, "arguments", &args, &args_len))
        {
          bench_fail (ctx, "callee: bad call line: %.*s", (int) (len < 200 ? len : 200), line);
          return false;
        }
      alen = bench_echo_answer (args, args_len, answer, ANSWER_MAX);
      out = line_reserve (c, rid_len + alen + 48);
      line_commit (c, (size_t) sprintf (out, "{\"requestId\":%.*s,\"type\":4,\"data\":%.*s}\n",
                                        (int) rid_len, rid, (int) alen, answer));
    }
  return line_flush (c);
}

int
line_role_callee (BenchCtx *ctx)
{
  const LineFlavor *fl = flavor (ctx);
  int ep = epoll_create1 (EPOLL_CLOEXEC), lfd = -1;
  char *answer = malloc (ANSWER_MAX);
  LineConn *conns = calloc (1024, sizeof (LineConn));
  int nconns = 0;

  if (fl->echo_listen)
    {
      lfd = line_listen (fl->echo_listen);
      if (lfd < 0)
        {
          bench_fail (ctx, "callee: cannot listen on %s: %s", fl->echo_listen, strerror (errno));
          return 1;
        }
      epoll_ctl (ep, EPOLL_CTL_ADD, lfd, &(struct epoll_event){ .events = EPOLLIN, .data.u32 = UINT32_MAX });
    }
  else
    {
      int fd = line_connect (fl->call_addr);

      if (fd < 0)
        {
          bench_fail (ctx, "callee: connect %s: %s", fl->call_addr, strerror (errno));
          return 1;
        }
      line_init (&conns[0], fd);
      if (!juno_register (ctx, &conns[0], bench_target (ctx)))
        return 1;
      LINE_QUEUE_LITERAL (&conns[0], "{\"requestId\":\"d1\",\"type\":9,\"function\":\"echo\"}\n");
      if (!juno_expect (ctx, &conns[0], 10, NULL, 10))
        return 1;
      epoll_ctl (ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 });
      nconns = 1;
    }
  atomic_fetch_add (&ctx->sh->ready, 1);

  while (!bench_stopped (ctx, STOP_LONG))
    {
      struct epoll_event ev[64];
      int n = epoll_wait (ep, ev, 64, 100);

      for (int i = 0; i < n; i++)
        {
          LineConn *c;

          if (ev[i].data.u32 == UINT32_MAX)
            {
              int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

              if (fd >= 0 && nconns < 1024)
                {
                  line_init (&conns[nconns], fd);
                  epoll_ctl (ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t) nconns });
                  nconns++;
                }
              else if (fd >= 0)
                close (fd);
              continue;
            }
          c = &conns[ev[i].data.u32];
          if (c->fd < 0)
            continue;
          if (ev[i].events & EPOLLOUT)
            line_flush (c);
          if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            {
              ssize_t r;

              while ((r = line_fill (c)) > 0)
                if (!serve_lines (ctx, c, answer))
                  break;
              if (r == 0 || (r < 0 && errno != EAGAIN))
                {
                  /* The floor's relay drops a pair when its caller leaves;
                   * juno never closes on us unless something is wrong. */
                  if (!fl->echo_listen)
                    bench_fail (ctx, "callee: the broker closed the connection");
                  epoll_ctl (ep, EPOLL_CTL_DEL, c->fd, NULL);
                  line_clear (c);
                  continue;
                }
            }
          epoll_ctl (ep, EPOLL_CTL_MOD, c->fd,
                     &(struct epoll_event){ .events = EPOLLIN | (line_pending (c) ? EPOLLOUT : 0),
                                            .data.u32 = ev[i].data.u32 });
        }
    }
  return 0;
}

typedef struct
{
  BenchHist hist;
  uint64_t *sent_ns;
  uint64_t completed;
  bool checked;
} CallerState;

static bool
handle_answer (BenchCtx *ctx, CallerState *st, const char *line, size_t len, int inflight, int *slot)
{
  const char *rid;
  size_t rid_len;
  long type = bench_json_int (line, len, "type", -1);

  if (type != 4)
    {
      /* juno.activated and friends may still trail the handshake. */
      if (type == 8)
        return true;
      bench_fail (ctx, "caller: unexpected answer: %.*s", (int) (len < 200 ? len : 200), line);
      return false;
    }
  if (!bench_json_get (line, len, "requestId", &rid, &rid_len) || rid_len < 4 || rid[1] != 'c')
    {
      bench_fail (ctx, "caller: answer with a foreign requestId: %.*s", (int) (len < 200 ? len : 200), line);
      return false;
    }
  *slot = atoi (rid + 2);
  if (*slot < 0 || *slot >= inflight)
    {
      bench_fail (ctx, "caller: answer for unknown slot: %.*s", (int) (len < 200 ? len : 200), line);
      return false;
    }
  if (!st->checked)
    {
      st->checked = true;
      if (!memmem (line, len, "\"sum\":15", 8))
        {
          bench_fail (ctx, "caller: wrong answer: %.*s", (int) (len < 200 ? len : 200), line);
          return false;
        }
    }
  if (atomic_load_explicit (&ctx->sh->measuring, memory_order_relaxed))
    {
      bench_hist_record (&st->hist, now_ns () - st->sent_ns[*slot]);
      st->completed++;
    }
  return true;
}

static void
send_call (BenchCtx *ctx, LineConn *c, CallerState *st, int slot)
{
  char *out = line_reserve (c, ctx->args_len + 96);
  int n = sprintf (out, "{\"requestId\":\"c%d\",\"type\":3,\"function\":\"%s.echo\",\"arguments\":",
                   slot, bench_target (ctx));

  memcpy (out + n, ctx->args, ctx->args_len);
  n += (int) ctx->args_len;
  memcpy (out + n, "}\n", 2);
  line_commit (c, (size_t) n + 2);
  st->sent_ns[slot] = now_ns ();
}

int
line_role_caller (BenchCtx *ctx, int id, int inflight)
{
  const LineFlavor *fl = flavor (ctx);
  CallerState *st = calloc (1, sizeof *st);
  LineConn c;
  int fd = line_connect (fl->call_addr);
  char name[32];

  if (fd < 0)
    {
      bench_fail (ctx, "caller: connect %s: %s", fl->call_addr, strerror (errno));
      return 1;
    }
  line_init (&c, fd);
  snprintf (name, sizeof name, "bench%d", id);
  if (fl->handshake && !juno_register (ctx, &c, name))
    return 1;
  st->sent_ns = calloc ((size_t) inflight, sizeof (uint64_t));
  atomic_fetch_add (&ctx->sh->ready, 1);

  for (int i = 0; i < inflight; i++)
    send_call (ctx, &c, st, i);
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      struct pollfd p = { fd, POLLIN | (line_pending (&c) ? POLLOUT : 0), 0 };
      const char *line;
      size_t len;
      ssize_t r;

      if (!line_flush (&c))
        {
          bench_fail (ctx, "caller: write: %s", strerror (errno));
          break;
        }
      if (poll (&p, 1, 100) <= 0)
        continue;
      r = line_fill (&c);
      if (r == 0 || (r < 0 && errno != EAGAIN))
        {
          bench_fail (ctx, "caller: connection closed");
          break;
        }
      while (line_next (&c, &line, &len))
        {
          int slot = -1;

          if (!handle_answer (ctx, st, line, len, inflight, &slot))
            goto out;
          if (slot >= 0)
            send_call (ctx, &c, st, slot);
        }
    }
out:
  bench_caller_done (ctx, &st->hist, st->completed);
  line_clear (&c);
  return 0;
}

static bool
connect_listener (BenchCtx *ctx, LineConn *c, int i)
{
  const LineFlavor *fl = flavor (ctx);
  int fd = line_connect (fl->listen_addr);
  char name[32];

  if (fd < 0)
    {
      bench_fail (ctx, "listener: connect %s: %s", fl->listen_addr, strerror (errno));
      return false;
    }
  line_init (c, fd);
  if (!fl->handshake)
    return true;
  snprintf (name, sizeof name, "listener%d", i);
  if (!juno_register (ctx, c, name))
    return false;
  LINE_QUEUE_LITERAL (c, "{\"requestId\":\"l1\",\"type\":5,\"hook\":\"trig.tick\"}\n");
  return juno_expect (ctx, c, 6, NULL, 10);
}

int
line_role_listeners (BenchCtx *ctx, int count)
{
  LineConn *conns = calloc ((size_t) count, sizeof (LineConn));
  int ep = epoll_create1 (EPOLL_CLOEXEC);

  for (int i = 0; i < count; i++)
    {
      if (!connect_listener (ctx, &conns[i], i))
        return 1;
      epoll_ctl (ep, EPOLL_CTL_ADD, conns[i].fd, &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t) i });
    }
  atomic_fetch_add (&ctx->sh->ready, 1);

  while (!bench_stopped (ctx, STOP_SHORT))
    {
      struct epoll_event ev[128];
      int n = epoll_wait (ep, ev, 128, 100);
      uint64_t got = 0;

      for (int i = 0; i < n; i++)
        {
          LineConn *c = &conns[ev[i].data.u32];
          const char *line;
          size_t len;
          ssize_t r = line_fill (c);

          if (r == 0 || (r < 0 && errno != EAGAIN))
            {
              bench_fail (ctx, "listener: connection closed");
              return 1;
            }
          while (line_next (c, &line, &len))
            got++;
        }
      if (got)
        atomic_fetch_add_explicit (&ctx->sh->delivered, got, memory_order_relaxed);
    }
  return 0;
}

int
line_role_trigger (BenchCtx *ctx, int listeners)
{
  const LineFlavor *fl = flavor (ctx);
  int fd = line_connect (fl->trig_addr);
  uint64_t sent = 0;
  /* At most ~4 MB or 256 hooks queued per listener. */
  uint64_t window = 4u * 1024 * 1024 / (ctx->args_len + 100);
  char *msg;
  int msg_len;
  LineConn c;

  if (window > 256)
    window = 256;
  if (window < 4)
    window = 4;
  if (fd < 0)
    {
      bench_fail (ctx, "trigger: connect %s: %s", fl->trig_addr, strerror (errno));
      return 1;
    }
  line_init (&c, fd);
  if (fl->handshake && !juno_register (ctx, &c, "trig"))
    return 1;
  msg = malloc (ctx->args_len + 64);
  msg_len = sprintf (msg, "{\"requestId\":\"t\",\"type\":7,\"hook\":\"tick\",\"data\":%s}\n", ctx->args);
  atomic_fetch_add (&ctx->sh->ready, 1);

  while (!bench_stopped (ctx, STOP_SHORT))
    {
      uint64_t delivered = atomic_load_explicit (&ctx->sh->delivered, memory_order_relaxed);
      const char *line;
      size_t len;
      int queued = 0;

      while (sent < delivered / (uint64_t) listeners + window && queued < 64)
        {
          line_queue (&c, msg, (size_t) msg_len);
          sent++;
          queued++;
        }
      if (queued)
        atomic_store_explicit (&ctx->sh->triggered, sent, memory_order_relaxed);
      if (!line_flush (&c))
        {
          bench_fail (ctx, "trigger: write: %s", strerror (errno));
          return 1;
        }
      /* Drain the acks; an error here means the run is void. */
      if (line_fill (&c) == 0)
        {
          bench_fail (ctx, "trigger: connection closed");
          return 1;
        }
      while (line_next (&c, &line, &len))
        if (bench_json_int (line, len, "type", -1) == 0)
          {
            bench_fail (ctx, "trigger: error: %.*s", (int) len, line);
            return 1;
          }
      if (!queued)
        {
          struct pollfd p = { fd, POLLIN, 0 };

          /* Window full: wait a little for the listeners to catch up. */
          poll (&p, 1, 0);
          bench_sleep (20e-6);
        }
    }
  return 0;
}

int
line_role_idle (BenchCtx *ctx, long first, long count)
{
  const LineFlavor *fl = flavor (ctx);
  const long batch = 256;
  LineConn *conns = calloc ((size_t) batch, sizeof (LineConn));
  int *fds = calloc ((size_t) count, sizeof (int));

  for (long done = 0; done < count; done += batch)
    {
      long n = count - done < batch ? count - done : batch;

      /* Connect and send a whole batch first, then collect the replies:
       * the broker sees registrations back to back, as in a cold start. */
      for (long i = 0; i < n; i++)
        {
          char name[32];
          char reg[160];
          int fd = line_connect (fl->idle_addr);

          if (fd < 0)
            {
              bench_fail (ctx, "idle: connect #%ld: %s", first + done + i, strerror (errno));
              return 1;
            }
          fds[done + i] = fd;
          line_init (&conns[i], fd);
          if (!fl->handshake)
            continue;
          snprintf (name, sizeof name, "idle%ld", first + done + i);
          line_queue (&conns[i], reg,
                      (size_t) snprintf (reg, sizeof reg,
                                         "{\"requestId\":\"r1\",\"type\":1,\"moduleId\":\"%s\",\"version\":\"1.0.0\",\"dependencies\":{}}\n",
                                         name));
          line_flush (&conns[i]);
        }
      for (long i = 0; i < n; i++)
        {
          if (fl->handshake && (!juno_expect (ctx, &conns[i], 2, NULL, 30) ||
                                !juno_expect (ctx, &conns[i], 8, "juno.activated", 30)))
            return 1;
          /* Keep the fd, drop the buffers. */
          conns[i].fd = -1;
          line_clear (&conns[i]);
        }
    }
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_LONG))
    bench_sleep (0.05);
  return 0;
}

/* Reads what @c has; counts registrations and activations. False when the
 * connection failed or the broker answered with an error. */
static bool
storm_read (BenchCtx *ctx, LineConn *c, long *registered, long *active)
{
  const char *line;
  size_t len;
  ssize_t r;

  while ((r = line_fill (c)) > 0)
    while (line_next (c, &line, &len))
      {
        long type = bench_json_int (line, len, "type", -1);
        const char *h;
        size_t hlen;

        if (type == 2)
          (*registered)++;
        else if (type == 8 && bench_json_get (line, len, "hook", &h, &hlen) &&
                 hlen == sizeof "\"juno.activated\"" - 1 && memcmp (h, "\"juno.activated\"", hlen) == 0)
          (*active)++;
        else if (type == 0)
          {
            bench_fail (ctx, "storm: error reply: %.*s", (int) (len < 200 ? len : 200), line);
            return false;
          }
      }
  if (r == 0 || (r < 0 && errno != EAGAIN))
    {
      bench_fail (ctx, "storm: the broker closed a connection");
      return false;
    }
  return true;
}

static bool
storm_drain (BenchCtx *ctx, int ep, LineConn *conns, int timeout_ms, long *registered, long *active)
{
  struct epoll_event ev[256];
  int n = epoll_wait (ep, ev, 256, timeout_ms);

  for (int i = 0; i < n; i++)
    if (!storm_read (ctx, &conns[ev[i].data.u32], registered, active))
      return false;
  return true;
}

/* @count modules connect and register back to back, each as soon as it is
 * connected, reading replies as they come; the star's hub registers after
 * all the others. Without a handshake (the floor) only the connections are
 * timed. */
int
line_role_storm (BenchCtx *ctx, long count, int shape)
{
  const LineFlavor *fl = flavor (ctx);
  LineConn *conns = calloc ((size_t) count, sizeof (LineConn));
  int ep = epoll_create1 (EPOLL_CLOEXEC);
  long registered = 0, active = 0;
  double deadline;

  ctx->sh->storm_start = bench_now ();
  for (long i = 0; i < count; i++)
    {
      char reg[256];
      int fd = line_connect (fl->idle_addr), len;

      if (fd < 0)
        {
          bench_fail (ctx, "storm: connect #%ld: %s", i, strerror (errno));
          return 1;
        }
      line_init (&conns[i], fd);
      if (!fl->handshake)
        continue;
      epoll_ctl (ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = EPOLLIN, .data.u32 = (uint32_t) i });
      if (shape == BENCH_STORM_STAR && i == count - 1)
        break;
      if (shape == BENCH_STORM_CHAIN && i > 0)
        len = snprintf (reg, sizeof reg,
                        "{\"requestId\":\"r1\",\"type\":1,\"moduleId\":\"s%ld\",\"version\":\"1.0.0\","
                        "\"dependencies\":{\"s%ld\":\"1.0.0\"}}\n", i, i - 1);
      else if (shape == BENCH_STORM_STAR)
        len = snprintf (reg, sizeof reg,
                        "{\"requestId\":\"r1\",\"type\":1,\"moduleId\":\"s%ld\",\"version\":\"1.0.0\","
                        "\"dependencies\":{\"hub\":\"1.0.0\"}}\n", i);
      else
        len = snprintf (reg, sizeof reg,
                        "{\"requestId\":\"r1\",\"type\":1,\"moduleId\":\"s%ld\",\"version\":\"1.0.0\","
                        "\"dependencies\":{}}\n", i);
      line_queue (&conns[i], reg, (size_t) len);
      if (!line_flush_blocking (&conns[i], 30))
        {
          bench_fail (ctx, "storm: write #%ld: %s", i, strerror (errno));
          return 1;
        }
      /* Take what has come back so far, without waiting. */
      if (i % 64 == 63 && !storm_drain (ctx, ep, conns, 0, &registered, &active))
        return 1;
    }
  if (fl->handshake && shape == BENCH_STORM_STAR)
    {
      /* The hub, last: every other module is registered and waits for it. */
      deadline = bench_now () + 120;
      while (registered < count - 1)
        if (bench_now () > deadline || !storm_drain (ctx, ep, conns, 100, &registered, &active))
          {
            if (!atomic_load (&ctx->sh->failed))
              bench_fail (ctx, "storm: %ld of %ld registrations answered", registered, count - 1);
            return 1;
          }
      LINE_QUEUE_LITERAL (&conns[count - 1],
                          "{\"requestId\":\"r1\",\"type\":1,\"moduleId\":\"hub\",\"version\":\"1.0.0\",\"dependencies\":{}}\n");
      if (!line_flush_blocking (&conns[count - 1], 30))
        {
          bench_fail (ctx, "storm: write: %s", strerror (errno));
          return 1;
        }
    }
  ctx->sh->storm_last = bench_now ();
  deadline = bench_now () + 300;
  while (fl->handshake && active < count)
    if (bench_now () > deadline || !storm_drain (ctx, ep, conns, 100, &registered, &active))
      {
        if (!atomic_load (&ctx->sh->failed))
          bench_fail (ctx, "storm: %ld of %ld modules active after %.0f s", active, count,
                      bench_now () - ctx->sh->storm_start);
        return 1;
      }
  ctx->sh->storm_done = bench_now ();
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      /* Keep reading: a blocked connection must not be cut off. */
      if (fl->handshake && !storm_drain (ctx, ep, conns, 50, &registered, &active))
        return 1;
      if (!fl->handshake)
        bench_sleep (0.05);
    }
  return 0;
}
