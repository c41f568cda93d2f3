/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-nats.c - the NATS anchor: nats-server driven through libnats.
 *
 * call:  the callee subscribes to "echo.echo" and publishes the answer to
 *        the reply subject; one call in flight uses natsConnection_Request,
 *        more use PublishRequest with one reply subject per slot.
 * hook:  the trigger publishes "trig.tick"; K connections subscribe to it.
 * idle:  raw-socket connections (nats-idle.c): libnats starts threads per
 *        connection, which a hundred thousand connections cannot afford.
 *
 * libnats is used only in the forked roles, never in the driver, so no
 * library thread is ever forked. Callers and the callee send "asap" (each
 * publish written at once): libnats' flusher thread otherwise adds up to a
 * millisecond per answer and halves throughput (measured). The trigger
 * keeps the default buffering, which measured no worse.
 */
#include "sys-nats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ANSWER_MAX (4 * 1024 * 1024)

static int nats_port;

static bool
nats_ok (BenchCtx *ctx, natsStatus s, const char *what)
{
  if (s == NATS_OK)
    return true;
  bench_fail (ctx, "nats: %s: %s", what, natsStatus_GetText (s));
  return false;
}

static natsConnection *
nats_connect (BenchCtx *ctx, bool asap)
{
  natsOptions *opts = NULL;
  natsConnection *nc = NULL;
  natsStatus s = natsOptions_Create (&opts);

  if (s == NATS_OK)
    s = natsOptions_SetURL (opts, ctx->address);
  if (s == NATS_OK)
    s = natsOptions_SetSendAsap (opts, asap);
  if (s == NATS_OK)
    s = natsOptions_SetAllowReconnect (opts, false);
  if (s == NATS_OK)
    s = natsOptions_SetMaxPendingMsgs (opts, 1000000);
  if (s == NATS_OK)
    s = natsConnection_Connect (&nc, opts);
  natsOptions_Destroy (opts);
  return nats_ok (ctx, s, "connect") ? nc : NULL;
}

static bool
nats_start (BenchCtx *ctx)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  char conf[300];
  FILE *f;

  /* A free port: bind to 0, read it back, release it. */
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
      getsockname (fd, (struct sockaddr *) &sa, &len) < 0)
    {
      bench_fail (ctx, "nats: no free port: %s", strerror (errno));
      close (fd);
      return false;
    }
  nats_port = ntohs (sa.sin_port);
  close (fd);

  snprintf (conf, sizeof conf, "%s/nats.conf", ctx->dir);
  f = fopen (conf, "w");
  if (!f)
    return false;
  fprintf (f,
           "listen: \"127.0.0.1:%d\"\n"
           "max_connections: 2000000\n"
           "max_payload: %d\n"
           "max_pending: 268435456\n"
           "write_deadline: \"30s\"\n",
           nats_port, ctx->big ? 8 * 1024 * 1024 : 1048576);
  fclose (f);
  {
    char *argv[] = { (char *) ctx->server_path, "-c", conf, NULL };

    ctx->server_pid = bench_spawn (ctx, argv, "nats.log", NULL);
  }
  if (ctx->server_pid <= 0 || !bench_wait_connect_tcp (nats_port, ctx->server_pid, 15))
    {
      bench_fail (ctx, "nats-server (%s) did not start", ctx->server_path);
      bench_print_log (ctx, "nats.log");
      return false;
    }
  snprintf (ctx->address, sizeof ctx->address, "nats://127.0.0.1:%d", nats_port);
  return true;
}

static void
nats_stop (BenchCtx *ctx)
{
  bench_stop_process (ctx->server_pid);
  ctx->server_pid = 0;
}

static int
nats_callee (BenchCtx *ctx)
{
  natsConnection *nc = nats_connect (ctx, true);
  natsSubscription *sub = NULL;
  char *answer = malloc (ANSWER_MAX), subject[64];

  snprintf (subject, sizeof subject, "%s.echo", bench_target (ctx));
  if (!nc || !nats_ok (ctx, natsConnection_SubscribeSync (&sub, nc, subject), "subscribe") ||
      !nats_ok (ctx, natsSubscription_SetPendingLimits (sub, -1, -1), "pending limits") ||
      !nats_ok (ctx, natsConnection_Flush (nc), "flush"))
    return 1;
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_LONG))
    {
      natsMsg *msg = NULL;
      size_t alen;

      if (natsSubscription_NextMsg (&msg, sub, 100) != NATS_OK)
        continue;
      alen = bench_echo_answer (natsMsg_GetData (msg), (size_t) natsMsg_GetDataLength (msg),
                                answer, ANSWER_MAX);
      natsConnection_Publish (nc, natsMsg_GetReply (msg), answer, (int) alen);
      natsMsg_Destroy (msg);
    }
  natsSubscription_Destroy (sub);
  natsConnection_Destroy (nc);
  return 0;
}

static bool
check_answer (BenchCtx *ctx, natsMsg *msg, bool *checked)
{
  if (*checked)
    return true;
  *checked = true;
  if (memmem (natsMsg_GetData (msg), (size_t) natsMsg_GetDataLength (msg), "\"sum\":15", 8))
    return true;
  bench_fail (ctx, "nats caller: wrong answer: %.*s", natsMsg_GetDataLength (msg), natsMsg_GetData (msg));
  return false;
}

static uint64_t
now_ns (void)
{
  return (uint64_t) (bench_now () * 1e9);
}

/* One call in flight: the idiomatic blocking request. */
static void
call_one (BenchCtx *ctx, natsConnection *nc, BenchHist *hist, uint64_t *completed)
{
  bool checked = false;
  char target[64];

  snprintf (target, sizeof target, "%s.echo", bench_target (ctx));
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      natsMsg *reply = NULL;
      uint64_t t0 = now_ns ();

      if (!nats_ok (ctx, natsConnection_Request (&reply, nc, target, ctx->args,
                                                 (int) ctx->args_len, 5000), "request"))
        return;
      if (!check_answer (ctx, reply, &checked))
        return;
      if (atomic_load_explicit (&ctx->sh->measuring, memory_order_relaxed))
        {
          bench_hist_record (hist, now_ns () - t0);
          (*completed)++;
        }
      natsMsg_Destroy (reply);
    }
}

/* A window of requests, each slot answering on its own reply subject. */
static void
call_window (BenchCtx *ctx, natsConnection *nc, int inflight, BenchHist *hist, uint64_t *completed)
{
  natsSubscription *sub = NULL;
  uint64_t *sent = calloc ((size_t) inflight, sizeof (uint64_t));
  char prefix[64], subject[80], target[64];
  bool checked = false;

  snprintf (target, sizeof target, "%s.echo", bench_target (ctx));
  snprintf (prefix, sizeof prefix, "_INBOX.bench%d", (int) getpid ());
  snprintf (subject, sizeof subject, "%s.*", prefix);
  if (!nats_ok (ctx, natsConnection_SubscribeSync (&sub, nc, subject), "subscribe") ||
      !nats_ok (ctx, natsSubscription_SetPendingLimits (sub, -1, -1), "pending limits") ||
      !nats_ok (ctx, natsConnection_Flush (nc), "flush"))
    return;
  for (int i = 0; i < inflight; i++)
    {
      snprintf (subject, sizeof subject, "%s.%d", prefix, i);
      sent[i] = now_ns ();
      natsConnection_PublishRequest (nc, target, subject, ctx->args, (int) ctx->args_len);
    }
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      natsMsg *msg = NULL;
      const char *dot;
      int slot;

      if (natsSubscription_NextMsg (&msg, sub, 100) != NATS_OK)
        continue;
      dot = strrchr (natsMsg_GetSubject (msg), '.');
      slot = dot ? atoi (dot + 1) : -1;
      if (slot < 0 || slot >= inflight || !check_answer (ctx, msg, &checked))
        {
          natsMsg_Destroy (msg);
          return;
        }
      if (atomic_load_explicit (&ctx->sh->measuring, memory_order_relaxed))
        {
          bench_hist_record (hist, now_ns () - sent[slot]);
          (*completed)++;
        }
      natsMsg_Destroy (msg);
      snprintf (subject, sizeof subject, "%s.%d", prefix, slot);
      sent[slot] = now_ns ();
      natsConnection_PublishRequest (nc, target, subject, ctx->args, (int) ctx->args_len);
    }
  /* Close first: answers still on their way must not reach a destroyed
   * subscription in libnats' reader thread (it crashed on 1 MiB answers). */
  natsConnection_Close (nc);
  natsSubscription_Destroy (sub);
}

static int
nats_caller (BenchCtx *ctx, int id, int inflight)
{
  natsConnection *nc = nats_connect (ctx, true);
  BenchHist *hist = calloc (1, sizeof *hist);
  uint64_t completed = 0;

  if (!nc)
    return 1;
  atomic_fetch_add (&ctx->sh->ready, 1);
  if (inflight == 1)
    call_one (ctx, nc, hist, &completed);
  else
    call_window (ctx, nc, inflight, hist, &completed);
  bench_caller_done (ctx, hist, completed);
  natsConnection_Destroy (nc);
  return 0;
}

static void
on_tick (natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
  BenchShared *sh = closure;

  atomic_fetch_add_explicit (&sh->delivered, 1, memory_order_relaxed);
  natsMsg_Destroy (msg);
}

static int
nats_listeners (BenchCtx *ctx, int count)
{
  natsConnection **ncs = calloc ((size_t) count, sizeof *ncs);
  natsSubscription **subs = calloc ((size_t) count, sizeof *subs);

  for (int i = 0; i < count; i++)
    {
      ncs[i] = nats_connect (ctx, false);
      if (!ncs[i] ||
          !nats_ok (ctx, natsConnection_Subscribe (&subs[i], ncs[i], "trig.tick", on_tick, ctx->sh), "subscribe") ||
          !nats_ok (ctx, natsSubscription_SetPendingLimits (subs[i], -1, -1), "pending limits") ||
          !nats_ok (ctx, natsConnection_Flush (ncs[i]), "flush"))
        return 1;
    }
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_SHORT))
    bench_sleep (0.02);
  /* Closed before anything is destroyed, as in call_window(). */
  for (int i = 0; i < count; i++)
    natsConnection_Close (ncs[i]);
  for (int i = 0; i < count; i++)
    {
      natsSubscription_Destroy (subs[i]);
      natsConnection_Destroy (ncs[i]);
    }
  return 0;
}

static int
nats_trigger (BenchCtx *ctx, int listeners)
{
  natsConnection *nc = nats_connect (ctx, false);
  uint64_t window = 4u * 1024 * 1024 / (ctx->args_len + 100), sent = 0;

  if (window > 256)
    window = 256;
  if (window < 4)
    window = 4;
  if (!nc)
    return 1;
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      uint64_t delivered = atomic_load_explicit (&ctx->sh->delivered, memory_order_relaxed);
      int queued = 0;

      while (sent < delivered / (uint64_t) listeners + window && queued < 64)
        {
          if (!nats_ok (ctx, natsConnection_Publish (nc, "trig.tick", ctx->args, (int) ctx->args_len), "publish"))
            return 1;
          sent++;
          queued++;
        }
      if (queued)
        atomic_store_explicit (&ctx->sh->triggered, sent, memory_order_relaxed);
      else
        bench_sleep (20e-6);
    }
  natsConnection_Destroy (nc);
  return 0;
}

static int
nats_idle (BenchCtx *ctx, long first, long count)
{
  return nats_idle_hold (ctx, nats_port, first, count);
}

static int
nats_storm (BenchCtx *ctx, long count, int shape)
{
  if (shape != BENCH_STORM_FLAT)
    {
      bench_fail (ctx, "nats: no dependencies between connections");
      return 1;
    }
  return nats_storm_hold (ctx, nats_port, count);
}

const BenchSystem bench_system_nats = {
  .name = "nats",
  .server_start = nats_start,
  .server_stop = nats_stop,
  .callee = nats_callee,
  .caller = nats_caller,
  .listeners = nats_listeners,
  .trigger = nats_trigger,
  .idle = nats_idle,
  .storm = nats_storm,
};
