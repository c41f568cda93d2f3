/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-federation.c - the federation workload: a call from one juno broker
 * to a module on another, through nats-server.
 *
 * One nats-server (started as the NATS anchor starts it) and two brokers
 * attached to it with --nats URL --federation bench and broker names
 * bench-1 and bench-2. The callee "echo" (the line callee) registers on
 * bench-2. For each number of calls in flight, three figures are measured
 * back to back, so drift on a shared machine hits all three alike:
 *
 *   nats        libnats request-reply through the same nats-server: a
 *               responder on "echo.echo" and a requester (sys-nats.c)
 *   juno        the local hop: a caller on bench-2, where echo runs
 *   federation  the cross-broker call: a caller on bench-1; its broker
 *               sends the call to bench-2 as a NATS request
 *
 * The RESULT lines carry those three names as their system and
 * "federation" as their workload. The brokers run with --bus=none (two
 * brokers cannot own one name on a private bus); both juno figures come
 * from the same brokers, so the comparison is even.
 *
 * Before measuring, the driver calls echo.echo from bench-1 until it is
 * answered: the brokers have then seen each other and bench-1 routes the
 * call. A broker that does not start, or a federation that does not form,
 * still leaves the NATS figures measured; the run then fails with the
 * reason.
 */
#include "sys-line.h"
#include "sys-nats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const BenchSystem bench_system_nats;

#define N_BROKERS 2

static const char *nats_server_path = "nats-server";
static pid_t broker_pid[N_BROKERS];
static char broker_sock[N_BROKERS][300];
static LineFlavor flavor_local, flavor_cross;

static const BenchSystem system_local = {
  .name = "juno",
  .callee = line_role_callee,
  .caller = line_role_caller,
};

static const BenchSystem system_cross = {
  .name = "federation",
  .callee = line_role_callee,
  .caller = line_role_caller,
};

void
federation_set_nats_server (const char *path)
{
  nats_server_path = path;
}

/* nats-server, as the NATS anchor runs it; sets ctx->address to its URL. */
static bool
federation_start (BenchCtx *ctx)
{
  const char *juno = ctx->server_path;
  bool ok;

  if (strcmp (ctx->workload, "federation") != 0)
    {
      bench_fail (ctx, "this generator runs the federation workload only");
      return false;
    }
  ctx->server_path = nats_server_path;
  ok = bench_system_nats.server_start (ctx);
  ctx->server_path = juno;
  return ok;
}

static void
stop_brokers (void)
{
  for (int i = 0; i < N_BROKERS; i++)
    {
      bench_stop_process (broker_pid[i]);
      broker_pid[i] = 0;
    }
}

static void
federation_stop (BenchCtx *ctx)
{
  stop_brokers ();
  bench_stop_process (ctx->server_pid);
  ctx->server_pid = 0;
}

/* Both brokers, attached to ctx->address; false (and @why) if one does
 * not listen within 15 s. */
static bool
start_brokers (BenchCtx *ctx, char *why, size_t why_len)
{
  for (int i = 0; i < N_BROKERS; i++)
    {
      char name[32], log_name[32];
      char *argv[10 + BENCH_MAX_SERVER_ARGS + 1] = { (char *) ctx->server_path, "-s", broker_sock[i], "--bus=none",
                                                    "--nats", ctx->address, "--federation", "bench",
                                                    "--broker-name", name };

      bench_end_server_argv (ctx, argv, 10);

      snprintf (name, sizeof name, "bench-%d", i + 1);
      snprintf (log_name, sizeof log_name, "juno-%d.log", i + 1);
      snprintf (broker_sock[i], sizeof broker_sock[i], "%s/juno-%d.sock", ctx->dir, i + 1);
      broker_pid[i] = bench_spawn (ctx, argv, log_name, NULL);
      if (broker_pid[i] <= 0 || !bench_wait_connect_unix (broker_sock[i], broker_pid[i], 15))
        {
          snprintf (why, why_len, "juno (%.200s --nats %.100s) %s did not start", ctx->server_path,
                    ctx->address, name);
          bench_print_log (ctx, log_name);
          return false;
        }
    }
  return true;
}

/* Calls echo.echo through @sock until it is answered (true) or @timeout
 * passes (false, with the last answer in @why). */
static bool
wait_routed (BenchCtx *ctx, const char *sock, double timeout, char *why, size_t why_len)
{
  static const char reg[] =
    "{\"requestId\":\"r1\",\"type\":1,\"moduleId\":\"fedprobe\",\"version\":\"1.0.0\",\"dependencies\":{}}\n";
  double deadline = bench_now () + timeout;
  int fd = line_connect_unix (sock);
  bool registered = false, answered = false;
  int n = 0;
  LineConn c;

  snprintf (why, why_len, "no answer");
  if (fd < 0)
    {
      snprintf (why, why_len, "connect %s: %s", sock, strerror (errno));
      return false;
    }
  line_init (&c, fd);
  line_queue (&c, reg, sizeof reg - 1);
  while (!answered && bench_now () < deadline)
    {
      const char *line;
      size_t len;
      ssize_t r;

      if (!line_flush_blocking (&c, 1) || !line_wait_readable (&c, 0.2))
        continue;
      r = line_fill (&c);
      if (r == 0 || (r < 0 && errno != EAGAIN))
        {
          snprintf (why, why_len, "the broker closed the probe's connection");
          break;
        }
      while (line_next (&c, &line, &len))
        {
          long type = bench_json_int (line, len, "type", -1);
          char call[200];

          if (!registered && type == 2)
            registered = true;
          else if (type == 4)
            answered = true;
          else if (type != 0)
            continue;
          else if (!registered)
            {
              snprintf (why, why_len, "probe not registered: %.*s", (int) (len < 200 ? len : 200), line);
              goto out;
            }
          else
            {
              /* Not there yet (unknown module or function): ask again. */
              snprintf (why, why_len, "%.*s", (int) (len < 200 ? len : 200), line);
              bench_sleep (0.05);
            }
          if (answered)
            break;
          line_queue (&c, call,
                      (size_t) snprintf (call, sizeof call,
                                         "{\"requestId\":\"p%d\",\"type\":3,\"function\":\"echo.echo\","
                                         "\"arguments\":{\"values\":[1,2,3,4,5]}}\n",
                                         n++));
        }
    }
out:
  line_clear (&c);
  return answered;
}

static bool
federation_run (BenchCtx *ctx, const long *inflight, int n)
{
  const BenchSystem *self = ctx->sys;
  char why[400] = "";
  bool brokers = false, routed = false, ok = true;

  ctx->priv = NULL;
  /* The NATS responder first: the anchor does not depend on the brokers. */
  ctx->sys = &bench_system_nats;
  if (bench_start_callee (ctx) < 0)
    ok = false;

  if (ok)
    brokers = start_brokers (ctx, why, sizeof why);
  if (ok && brokers)
    {
      flavor_local = (LineFlavor){ .handshake = true, .call_addr = broker_sock[1] };
      flavor_cross = (LineFlavor){ .handshake = true, .call_addr = broker_sock[0] };
      ctx->sys = &system_local;
      ctx->priv = &flavor_local;
      if (bench_start_callee (ctx) < 0)
        ok = false;
      else if (wait_routed (ctx, broker_sock[0], 30, why, sizeof why))
        routed = true;
      else
        {
          char reason[sizeof why];

          snprintf (reason, sizeof reason, "%s", why);
          snprintf (why, sizeof why, "echo on bench-2 not reachable from bench-1 within 30 s: %.300s", reason);
        }
    }

  for (int i = 0; ok && i < n; i++)
    {
      char param[32];

      snprintf (param, sizeof param, "inflight=%ld", inflight[i]);
      ctx->sys = &bench_system_nats;
      ctx->priv = NULL;
      ok = bench_measure_calls (ctx, param, 1, (int) inflight[i], inflight[i] == 1, true);
      if (ok && brokers)
        {
          ctx->sys = &system_local;
          ctx->priv = &flavor_local;
          ok = bench_measure_calls (ctx, param, 1, (int) inflight[i], inflight[i] == 1, true);
        }
      if (ok && routed)
        {
          ctx->sys = &system_cross;
          ctx->priv = &flavor_cross;
          ok = bench_measure_calls (ctx, param, 1, (int) inflight[i], inflight[i] == 1, true);
        }
    }
  ctx->sys = self;
  if (ok && !routed)
    {
      bench_fail (ctx, "%s (NATS request-reply measured%s)", why,
                  brokers ? ", and the local juno hop" : "");
      ok = false;
    }
  return ok;
}

const BenchSystem bench_system_federation = {
  .name = "federation",
  .server_start = federation_start,
  .server_stop = federation_stop,
  .federation = federation_run,
};
