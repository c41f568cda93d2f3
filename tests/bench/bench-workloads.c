/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-workloads.c - the five workloads, the same for every system.
 *
 *   call   one caller, 1 and 64 calls in flight: p50/p99 latency, calls/s
 *   hook   one trigger, K listeners: deliveries/s
 *   idle   M registered idle modules: server memory (private, anonymous,
 *          proportional, resident) and the cost per module
 *   scale  call latency and throughput with N idle modules connected
 *   fanin  100 callers, one call in flight each, one callee
 *   federation  calls between two juno brokers through nats-server, beside
 *          NATS request-reply and a local juno call (sys-federation.c)
 *   tcpcall, tcphook  call and hook with every role on TCP (ctx->tcp)
 *   fair   one module floods calls while another makes one at a time: the
 *          quiet one's p50/p99 alone and under the flood
 *   bulk   calls with 64 KiB and 1 MiB arguments: MiB/s, latency
 *   storm  N modules connect and register at once on a fresh server,
 *          without dependencies, as a chain and as a star: time until all
 *          are active, and the server's CPU time per registration
 *
 * Each measurement: fork the roles, wait until all are set up, let them run
 * for the warm-up, open the measured window for the duration, stop them.
 * Lists of parameters come from the options; the server is started once per
 * workload and stopped at its end.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define N_ELEMENTS(a) (sizeof (a) / sizeof ((a)[0]))

/* The flooder of the fair workload: as many calls in flight as the call
 * workload's full-speed figure. */
#define FAIR_FLOOD_INFLIGHT 64

static int
role_callee (BenchCtx *ctx, long a, long b)
{
  return ctx->sys->callee (ctx);
}

static int
role_caller (BenchCtx *ctx, long id, long inflight)
{
  return ctx->sys->caller (ctx, (int) id, (int) inflight);
}

static int
role_listeners (BenchCtx *ctx, long count, long b)
{
  return ctx->sys->listeners (ctx, (int) count);
}

static int
role_trigger (BenchCtx *ctx, long listeners, long b)
{
  return ctx->sys->trigger (ctx, (int) listeners);
}

static int
role_idle (BenchCtx *ctx, long first, long count)
{
  return ctx->sys->idle (ctx, first, count);
}

int
bench_parse_list (const char *s, long *out, int max)
{
  int n = 0;

  while (s && *s && n < max)
    {
      char *end;

      out[n++] = strtol (s, &end, 10);
      s = *end == ',' ? end + 1 : end;
      if (end == s && *end)
        break;
    }
  return n;
}

static void
reset_window (BenchCtx *ctx)
{
  atomic_store (&ctx->sh->measuring, 0);
  atomic_store (&ctx->sh->completed, 0);
  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
    atomic_store (&ctx->sh->hist[i], 0);
  atomic_store (&ctx->sh->stop[STOP_SHORT], 0);
}

static double
open_window (BenchCtx *ctx, double *t0)
{
  bench_sleep (ctx->warmup);
  *t0 = bench_now ();
  atomic_store (&ctx->sh->measuring, 1);
  bench_sleep (ctx->duration);
  atomic_store (&ctx->sh->measuring, 0);
  return bench_now () - *t0;
}

static void
stop_short (BenchCtx *ctx, pid_t *pids, int n)
{
  atomic_store (&ctx->sh->stop[STOP_SHORT], 1);
  for (int i = 0; i < n; i++)
    bench_reap (pids[i]);
  atomic_store (&ctx->sh->stop[STOP_SHORT], 0);
}

/* @callers callers with @inflight calls each; reports under @param. */
static bool
measure_calls (BenchCtx *ctx, const char *param, int callers, int inflight, bool latency, bool rate)
{
  pid_t *pids = calloc ((size_t) callers, sizeof (pid_t));
  int base = atomic_load (&ctx->sh->ready);
  double t0, dt;
  uint64_t done;

  reset_window (ctx);
  for (int i = 0; i < callers; i++)
    pids[i] = bench_fork_role (ctx, role_caller, i, inflight);
  if (!bench_wait_ready (ctx, base + callers, 60))
    {
      stop_short (ctx, pids, callers);
      free (pids);
      return false;
    }
  dt = open_window (ctx, &t0);
  ctx->last_window = dt;
  stop_short (ctx, pids, callers);
  free (pids);
  if (atomic_load (&ctx->sh->failed))
    return false;
  done = atomic_load (&ctx->sh->completed);
  if (done == 0)
    {
      bench_fail (ctx, "no call completed in %.1f s (%s)", dt, param);
      return false;
    }
  if (latency)
    {
      bench_result (ctx, param, "p50_us", bench_hist_percentile_us (ctx->sh, 50));
      bench_result (ctx, param, "p99_us", bench_hist_percentile_us (ctx->sh, 99));
    }
  if (rate)
    bench_result (ctx, param, "calls_per_s", (double) done / dt);
  return true;
}

static pid_t
start_callee (BenchCtx *ctx)
{
  int base = atomic_load (&ctx->sh->ready);
  pid_t pid = bench_fork_role (ctx, role_callee, 0, 0);

  if (pid > 0 && !bench_wait_ready (ctx, base + 1, 30))
    return -1;
  return pid;
}

/* One call in flight with the server and every role on CPU 0: on a small
 * (virtual) machine a wake-up across CPUs can cost more than a broker's
 * whole hop, and whether the scheduler spreads the chain over CPUs or not
 * changes between runs. On one CPU, what is left is software cost. */
static bool
measure_pinned (BenchCtx *ctx, pid_t callee)
{
  bool ok;

  bench_pin (ctx->server_pid, 0);
  bench_pin (callee, 0);
  bench_pin (0, 0);
  ok = measure_calls (ctx, "inflight=1,cpus=1", 1, 1, true, true);
  bench_pin (0, -1);
  bench_pin (callee, -1);
  bench_pin (ctx->server_pid, -1);
  return ok;
}

/* For a system's own workload (sys-federation.c). */
pid_t
bench_start_callee (BenchCtx *ctx)
{
  return start_callee (ctx);
}

bool
bench_measure_calls (BenchCtx *ctx, const char *param, int callers, int inflight, bool latency, bool rate)
{
  return measure_calls (ctx, param, callers, inflight, latency, rate);
}

static bool
run_call (BenchCtx *ctx, const long *list, int n)
{
  pid_t callee = start_callee (ctx);
  bool one = false;

  if (callee < 0)
    return false;
  for (int i = 0; i < n; i++)
    {
      char param[32];

      snprintf (param, sizeof param, "inflight=%ld", list[i]);
      if (!measure_calls (ctx, param, 1, (int) list[i], list[i] == 1, true))
        return false;
      one |= list[i] == 1;
    }
  /* Last: the scheduler takes a while to spread processes out again. */
  return !one || measure_pinned (ctx, callee);
}

static bool
run_fanin (BenchCtx *ctx)
{
  char param[32];

  if (start_callee (ctx) < 0)
    return false;
  snprintf (param, sizeof param, "callers=%d", ctx->fanin_callers);
  return measure_calls (ctx, param, ctx->fanin_callers, 1, true, true);
}

static bool
run_hook (BenchCtx *ctx, const long *list, int n)
{
  for (int i = 0; i < n; i++)
    {
      int base = atomic_load (&ctx->sh->ready);
      pid_t pids[2];
      uint64_t d0, d1, s0, s1;
      double t0, dt;
      char param[32];

      reset_window (ctx);
      pids[0] = bench_fork_role (ctx, role_listeners, list[i], 0);
      if (!bench_wait_ready (ctx, base + 1, 120))
        return false;
      pids[1] = bench_fork_role (ctx, role_trigger, list[i], 0);
      if (!bench_wait_ready (ctx, base + 2, 30))
        return false;
      bench_sleep (ctx->warmup);
      d0 = atomic_load (&ctx->sh->delivered);
      s0 = atomic_load (&ctx->sh->triggered);
      t0 = bench_now ();
      bench_sleep (ctx->duration);
      d1 = atomic_load (&ctx->sh->delivered);
      s1 = atomic_load (&ctx->sh->triggered);
      dt = bench_now () - t0;
      stop_short (ctx, pids, 2);
      if (atomic_load (&ctx->sh->failed))
        return false;
      if (d1 == d0)
        {
          bench_fail (ctx, "no hook delivered in %.1f s with %ld listeners", dt, list[i]);
          return false;
        }
      snprintf (param, sizeof param, "listeners=%ld", list[i]);
      bench_result (ctx, param, "deliveries_per_s", (double) (d1 - d0) / dt);
      bench_result (ctx, param, "triggers_per_s", (double) (s1 - s0) / dt);
      /* Let the server drop the closed connections before the next K. */
      bench_sleep (0.2);
    }
  return true;
}

/* The module count to use for a step of @wanted: itself when the fd limit
 * allows it, else the largest round thousand that fits (once), else -1. */
static long
capped (BenchCtx *ctx, long wanted, long have)
{
  long m = ctx->max_modules / 1000 * 1000;

  if (wanted <= ctx->max_modules)
    return wanted;
  if (m <= have)
    return -1;
  fprintf (stderr, "%s %s: %ld modules do not fit the fd limit; measuring %ld instead\n",
           ctx->sys->name, ctx->workload, wanted, m);
  return m;
}

/* Adds idle modules up to @target; returns false when that failed. */
static bool
grow_idle (BenchCtx *ctx, long *have, long target, double *rate)
{
  int base = atomic_load (&ctx->sh->ready);
  double t0 = bench_now ();

  if (target <= *have)
    return true;
  if (bench_fork_role (ctx, role_idle, *have, target - *have) < 0 ||
      !bench_wait_ready (ctx, base + 1, 900))
    return false;
  *rate = (double) (target - *have) / (bench_now () - t0);
  *have = target;
  return true;
}

static bool
run_idle (BenchCtx *ctx, const long *list, int n)
{
  BenchMemory m0;
  long have = 0;
  char param[48];

  bench_sleep (0.3);
  /* VmRSS counts the shared libraries' pages too; RssAnon is the heap and
   * stacks, Pss shares each page among its users, Private_Dirty is what
   * only this process wrote. */
  bench_memory (ctx->server_pid, &m0);
  bench_memory_results (ctx, "modules=0", "", &m0);
  for (int i = 0; i < n; i++)
    {
      BenchMemory mm;
      double rate = 0;

      long m = capped (ctx, list[i], have);

      if (m < 0)
        break;
      snprintf (param, sizeof param, "modules=%ld", m);
      if (!grow_idle (ctx, &have, m, &rate))
        return false;
      bench_sleep (0.5);
      bench_memory (ctx->server_pid, &mm);
      bench_memory_results (ctx, param, "", &mm);
      bench_result (ctx, param, "bytes_per_module", (double) (mm.rss_kb - m0.rss_kb) * 1024.0 / (double) m);
      if (mm.dirty_kb >= 0 && m0.dirty_kb >= 0)
        bench_result (ctx, param, "private_bytes_per_module",
                      (double) (mm.dirty_kb - m0.dirty_kb) * 1024.0 / (double) m);
      bench_result (ctx, param, "registrations_per_s", rate);
    }
  return true;
}

static bool
run_scale (BenchCtx *ctx, const long *list, int n)
{
  long have = 0;

  if (start_callee (ctx) < 0)
    return false;
  for (int i = 0; i < n; i++)
    {
      double rate = 0;
      char param[48];

      long m = capped (ctx, list[i], have);

      if (m < 0)
        break;
      if (!grow_idle (ctx, &have, m, &rate))
        return false;
      bench_sleep (0.2);
      snprintf (param, sizeof param, "modules=%ld", m);
      if (!measure_calls (ctx, param, 1, 1, true, false) ||
          !measure_calls (ctx, param, 1, 64, false, true))
        return false;
      {
        BenchMemory mm;

        bench_memory (ctx->server_pid, &mm);
        bench_memory_results (ctx, param, "", &mm);
      }
    }
  return true;
}

/* fair: the quiet caller (one call at a time to the module "quiet") and
 * the flooder (@inflight calls to "echo", counted apart). */
static int
role_fair_caller (BenchCtx *ctx, long flood, long inflight)
{
  ctx->target = flood ? "echo" : "quiet";
  ctx->flood = flood;
  return ctx->sys->caller (ctx, flood ? 1 : 0, (int) inflight);
}

static int
role_quiet_callee (BenchCtx *ctx, long a, long b)
{
  ctx->target = "quiet";
  return ctx->sys->callee (ctx);
}

/* The quiet caller alone, or beside the flooder: its p50/p99, and the
 * flooder's rate. */
static bool
measure_fair (BenchCtx *ctx, const char *param, bool flood, double *p99)
{
  int base = atomic_load (&ctx->sh->ready), n = 0;
  pid_t pids[2];
  double t0, dt;
  uint64_t done;

  reset_window (ctx);
  atomic_store (&ctx->sh->flood_completed, 0);
  if (flood)
    pids[n++] = bench_fork_role (ctx, role_fair_caller, 1, FAIR_FLOOD_INFLIGHT);
  pids[n++] = bench_fork_role (ctx, role_fair_caller, 0, 1);
  if (!bench_wait_ready (ctx, base + n, 60))
    {
      stop_short (ctx, pids, n);
      return false;
    }
  dt = open_window (ctx, &t0);
  stop_short (ctx, pids, n);
  if (atomic_load (&ctx->sh->failed))
    return false;
  done = atomic_load (&ctx->sh->completed);
  if (done == 0)
    {
      bench_fail (ctx, "the quiet caller completed no call in %.1f s (%s)", dt, param);
      return false;
    }
  *p99 = bench_hist_percentile_us (ctx->sh, 99);
  bench_result (ctx, param, "quiet_p50_us", bench_hist_percentile_us (ctx->sh, 50));
  bench_result (ctx, param, "quiet_p99_us", *p99);
  bench_result (ctx, param, "quiet_calls_per_s", (double) done / dt);
  if (flood)
    bench_result (ctx, param, "flood_calls_per_s", (double) atomic_load (&ctx->sh->flood_completed) / dt);
  return true;
}

/* One module floods "echo" with FAIR_FLOOD_INFLIGHT calls in flight while
 * another calls "quiet", served by a callee of its own, one call at a
 * time: how much the flood delays the quiet module's calls. The floor's
 * relay has a single echo process behind it, so there both share it. */
static bool
run_fair (BenchCtx *ctx)
{
  double p99_alone, p99_loaded;

  /* A p99 needs samples: at least a second, even in a quick run. */
  if (ctx->duration < 1.0)
    ctx->duration = 1.0;
  if (start_callee (ctx) < 0)
    return false;
  if (strcmp (ctx->sys->name, "floor") != 0)
    {
      int base = atomic_load (&ctx->sh->ready);
      pid_t pid = bench_fork_role (ctx, role_quiet_callee, 0, 0);

      if (pid < 0 || !bench_wait_ready (ctx, base + 1, 30))
        return false;
    }
  if (!measure_fair (ctx, "load=none", false, &p99_alone) ||
      !measure_fair (ctx, "load=flood", true, &p99_loaded))
    return false;
  bench_result (ctx, "load=flood", "quiet_p99_over_unloaded", p99_loaded / p99_alone);
  return true;
}

/* Calls with big arguments, 1 and 8 in flight: MiB of arguments carried per
 * second (the answers carry as much again), and the latency of one. */
static bool
run_bulk (BenchCtx *ctx)
{
  static const long sizes[] = { 65536, 1048576 };
  static const int inflight[] = { 1, 8 };
  char *args = NULL;
  bool ok = true;

  /* A few 1 MiB calls take tens of milliseconds: at least a second
   * measured, after 0.3 s, even in a quick run. */
  if (ctx->duration < 1.0)
    ctx->duration = 1.0;
  if (ctx->warmup < 0.3)
    ctx->warmup = 0.3;
  if (start_callee (ctx) < 0)
    return false;
  for (unsigned i = 0; ok && i < N_ELEMENTS (sizes); i++)
    {
      /* ctx->args is the run's, shared with later workloads: replaced for
       * this one only, in this copy of the context. */
      free (args);
      args = ctx->args = bench_make_args ((size_t) sizes[i], &ctx->args_len);
      for (unsigned j = 0; ok && j < N_ELEMENTS (inflight); j++)
        {
          char param[48];
          uint64_t done;
          double rate;

          snprintf (param, sizeof param, "size=%ld,inflight=%d", sizes[i], inflight[j]);
          ok = measure_calls (ctx, param, 1, inflight[j], inflight[j] == 1, true);
          if (!ok)
            break;
          /* measure_calls reported calls/s; the same in MiB/s. */
          done = atomic_load (&ctx->sh->completed);
          rate = (double) done / ctx->last_window;
          bench_result (ctx, param, "mib_per_s", rate * (double) sizes[i] / 1048576.0);
        }
    }
  free (args);
  ctx->args = NULL;
  return ok;
}

static int
role_storm (BenchCtx *ctx, long count, long shape)
{
  return ctx->sys->storm (ctx, count, (int) shape);
}

/* One storm on a freshly started server: @count modules connect and
 * register at once, as after a broker restart. */
static bool
storm_once (BenchCtx *ctx, long count, int shape, const char *param)
{
  int base = atomic_load (&ctx->sh->ready);
  double cpu0 = bench_cpu_seconds (ctx->server_pid), bus0 = 0, t0 = bench_now (), dt, cpu;
  pid_t aux = ctx->aux_pid, pid;
  bool ok;

  if (aux > 0)
    bus0 = bench_cpu_seconds (aux);
  ctx->sh->storm_start = ctx->sh->storm_last = ctx->sh->storm_done = 0;
  if (ctx->sys->storm)
    pid = bench_fork_role (ctx, role_storm, count, shape);
  else
    pid = bench_fork_role (ctx, role_idle, 0, count);
  ok = pid > 0 && bench_wait_ready (ctx, base + 1, 600);
  if (ok)
    {
      if (ctx->sys->storm)
        {
          t0 = ctx->sh->storm_start;
          dt = ctx->sh->storm_done - t0;
        }
      else
        dt = bench_now () - t0;
      /* Let the last signals and writes go out before reading the CPU. */
      bench_sleep (0.2);
      cpu = bench_cpu_seconds (ctx->server_pid) - cpu0;
      bench_result (ctx, param, "time_s", dt);
      bench_result (ctx, param, "registrations_per_s", (double) count / dt);
      bench_result (ctx, param, "us_per_registration", dt * 1e6 / (double) count);
      bench_result (ctx, param, "server_cpu_us_per_registration", cpu * 1e6 / (double) count);
      if (aux > 0)
        bench_result (ctx, param, "bus_cpu_us_per_registration",
                      (bench_cpu_seconds (aux) - bus0) * 1e6 / (double) count);
      if (shape == BENCH_STORM_STAR && ctx->sys->storm)
        bench_result (ctx, param, "after_last_ms", (ctx->sh->storm_done - ctx->sh->storm_last) * 1e3);
    }
  /* The modules leave; the next storm meets a fresh server. */
  atomic_store (&ctx->sh->stop[STOP_LONG], 1);
  atomic_store (&ctx->sh->stop[STOP_SHORT], 1);
  bench_reap (pid);
  atomic_store (&ctx->sh->stop[STOP_LONG], 0);
  atomic_store (&ctx->sh->stop[STOP_SHORT], 0);
  return ok;
}

/* The D-Bus signals of one storm, counted by a monitor on the bus. The
 * monitor gets a copy of every message, which slows the bus: a storm of
 * its own, after the measured ones, reporting nothing else. */
static bool
storm_signals (BenchCtx *ctx, long count, int shape, const char *param)
{
  int base = atomic_load (&ctx->sh->ready);
  bool ok;
  long sent;
  pid_t pid;

  ctx->sys->server_stop (ctx);
  ctx->no_bus = false;
  if (!ctx->sys->server_start (ctx))
    return false;
  if (!ctx->sys->signals_start (ctx))
    return true;
  pid = bench_fork_role (ctx, role_storm, count, shape);
  ok = pid > 0 && bench_wait_ready (ctx, base + 1, 600);
  /* What is published at a limited rate has its time to go out. */
  bench_sleep (0.5);
  sent = ctx->sys->signals_stop (ctx);
  if (ok && sent >= 0)
    bench_result (ctx, param, "bus_signals_per_registration", (double) sent / (double) count);
  atomic_store (&ctx->sh->stop[STOP_LONG], 1);
  atomic_store (&ctx->sh->stop[STOP_SHORT], 1);
  bench_reap (pid);
  atomic_store (&ctx->sh->stop[STOP_LONG], 0);
  atomic_store (&ctx->sh->stop[STOP_SHORT], 0);
  return ok;
}

static bool
run_storm (BenchCtx *ctx, const long *list, int n)
{
  static const char *const shapes[] = { "flat", "chain", "star" };
  bool first = true, has_bus = strcmp (ctx->sys->name, "juno") == 0 && !ctx->no_bus;

  for (int i = 0; i < n; i++)
    for (int shape = 0; shape < 3; shape++)
      for (int bus = has_bus ? 1 : 0; bus >= 0; bus--)
        {
          char param[64];
          long m = list[i] <= ctx->max_modules ? list[i] : -1;

          /* Dependencies are juno's alone. */
          if (shape != BENCH_STORM_FLAT && (!ctx->sys->storm || strcmp (ctx->sys->name, "juno") != 0))
            continue;
          if (m < 0)
            {
              fprintf (stderr, "%s storm: %ld modules do not fit the fd limit; skipped\n",
                       ctx->sys->name, list[i]);
              continue;
            }
          /* juno with D-Bus is the main figure; without, marked. */
          snprintf (param, sizeof param, "modules=%ld,shape=%s%s", m, shapes[shape],
                    has_bus && !bus ? ",nobus" : "");
          bool no_bus = has_bus ? !bus : ctx->no_bus;

          if (!first || ctx->no_bus != no_bus)
            {
              ctx->sys->server_stop (ctx);
              ctx->no_bus = no_bus;
              if (!ctx->sys->server_start (ctx))
                return false;
            }
          first = false;
          if (!storm_once (ctx, m, shape, param))
            return false;
        }
  /* Signals per registration, flat and star, at the first size of at
   * least 1 000 modules (or the largest). */
  if (has_bus && ctx->sys->signals_start && n > 0)
    {
      long m = list[n - 1];

      for (int i = n - 1; i >= 0; i--)
        if (list[i] >= 1000 && list[i] <= ctx->max_modules)
          m = list[i];
      for (int shape = 0; shape < 3; shape += 2)
        {
          char param[64];

          snprintf (param, sizeof param, "modules=%ld,shape=%s", m, shape ? "star" : "flat");
          if (!storm_signals (ctx, m, shape, param))
            return false;
        }
    }
  return true;
}

static void
reap_all (void)
{
  double deadline = bench_now () + 10;

  while (bench_now () < deadline)
    {
      pid_t pid = waitpid (-1, NULL, WNOHANG);

      if (pid < 0)
        return;
      if (pid == 0)
        bench_sleep (0.01);
    }
}

int
bench_run_one (BenchCtx *ctx, const BenchLists *lists)
{
  long list[16];
  int n;
  bool ok;

  if (!ctx->sys->server_start (ctx))
    goto failed;
  if (strcmp (ctx->workload, "call") == 0 || strcmp (ctx->workload, "tcpcall") == 0)
    {
      n = bench_parse_list (lists->inflight, list, 16);
      ok = run_call (ctx, list, n);
    }
  else if (strcmp (ctx->workload, "hook") == 0 || strcmp (ctx->workload, "tcphook") == 0)
    {
      n = bench_parse_list (lists->listeners, list, 16);
      ok = run_hook (ctx, list, n);
    }
  else if (strcmp (ctx->workload, "idle") == 0)
    {
      n = bench_parse_list (lists->modules, list, 16);
      ok = run_idle (ctx, list, n);
    }
  else if (strcmp (ctx->workload, "scale") == 0)
    {
      n = bench_parse_list (lists->scale, list, 16);
      ok = run_scale (ctx, list, n);
    }
  else if (strcmp (ctx->workload, "storm") == 0)
    {
      n = bench_parse_list (lists->storm, list, 16);
      ok = run_storm (ctx, list, n);
    }
  else if (strcmp (ctx->workload, "fair") == 0)
    ok = run_fair (ctx);
  else if (strcmp (ctx->workload, "bulk") == 0)
    ok = run_bulk (ctx);
  else if (strcmp (ctx->workload, "fanin") == 0)
    ok = run_fanin (ctx);
  else if (strcmp (ctx->workload, "federation") == 0 && ctx->sys->federation)
    {
      n = bench_parse_list (lists->inflight, list, 16);
      ok = ctx->sys->federation (ctx, list, n);
    }
  else
    {
      bench_fail (ctx, "unknown workload '%s'", ctx->workload);
      ok = false;
    }
  /* Stop every role before the server, so none reports its disconnect as
   * a failure. */
  atomic_store (&ctx->sh->stop[STOP_LONG], 1);
  bench_sleep (0.15);
  ctx->sys->server_stop (ctx);
  reap_all ();
  if (ok)
    return 0;
failed:
  fprintf (stderr, "FAILED %s %s: %s\n", ctx->sys->name, ctx->workload,
           ctx->sh->error[0] ? ctx->sh->error : "unknown error");
  return 1;
}
