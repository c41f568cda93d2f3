/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench.h - shared declarations of the juno benchmark harness.
 *
 * Every generator (juno and floor, NATS, D-Bus) links the same workload
 * driver (bench-workloads.c) and plugs in one BenchSystem: a table of the
 * roles that system can play (server, callee, caller, listeners, trigger,
 * idle modules). The driver forks one process per role, steers them through
 * a shared-memory control block (BenchShared) and prints one line per figure:
 *
 *   RESULT <system> <workload> <param> <metric> <value>
 *
 * Roles never print results themselves; they record into BenchShared. Only
 * libc is needed here, so the juno generator builds everywhere.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Latency histogram: 64 linear sub-buckets per power of two of nanoseconds,
 * so every recorded value is within 1.6 % of the truth. */
#define BENCH_HIST_SUB 64
#define BENCH_HIST_BUCKETS (40 * BENCH_HIST_SUB)

typedef struct
{
  uint64_t count[BENCH_HIST_BUCKETS];
} BenchHist;

/* Stop groups: short-lived roles (callers, triggers) are stopped after each
 * measurement, long-lived ones (callee, listeners, idle modules) at the end. */
enum
{
  STOP_SHORT,
  STOP_LONG,
  N_STOP
};

typedef struct
{
  _Atomic int ready;                 /* roles that finished their setup */
  _Atomic int measuring;             /* 1 while the measured window is open */
  _Atomic int stop[N_STOP];          /* set by the driver, polled by roles */
  _Atomic int failed;                /* a role gave up; see error */
  _Atomic uint64_t completed;        /* calls answered while measuring */
  _Atomic uint64_t flood_completed;  /* fair: the flooder's, while measuring */
  _Atomic uint64_t delivered;        /* hook deliveries received, all phases */
  _Atomic uint64_t triggered;        /* hooks triggered, all phases */
  _Atomic uint64_t hist[BENCH_HIST_BUCKETS]; /* call latency while measuring */
  /* storm: set by the storm role before it bumps ready (bench_now ()) */
  double storm_start;                /* first connect */
  double storm_last;                 /* last registration written */
  double storm_done;                 /* every module active */
  char error[512];
} BenchShared;

typedef struct BenchCtx BenchCtx;

/* Registration storms: no dependencies; each module depends on the one
 * before it; every module depends on one that registers last. */
enum
{
  BENCH_STORM_FLAT,
  BENCH_STORM_CHAIN,
  BENCH_STORM_STAR,
};

typedef struct
{
  const char *name;
  /* In the driver process: start and stop the server; set ctx->server_pid
   * (whose RSS is reported) and whatever address the roles need. */
  bool (*server_start) (BenchCtx *ctx);
  void (*server_stop) (BenchCtx *ctx);
  /* Each of these runs in its own forked process, bumps sh->ready once set
   * up, and returns an exit status. */
  int (*callee) (BenchCtx *ctx);
  int (*caller) (BenchCtx *ctx, int id, int inflight);
  int (*listeners) (BenchCtx *ctx, int count);
  int (*trigger) (BenchCtx *ctx, int listeners);
  int (*idle) (BenchCtx *ctx, long first, long count);
  /* Optional, a role: @count modules connect and register at once, shaped
   * by @shape (BENCH_STORM_*); sets sh->storm_* and bumps sh->ready when
   * every one is active, then holds them until STOP_SHORT. Without it the
   * storm workload times the idle role (flat only). */
  int (*storm) (BenchCtx *ctx, long count, int shape);
  /* Optional, in the driver: start counting the signals the server sends
   * on its D-Bus bus (false when it has none), and stop, returning how
   * many it sent (-1: unknown). */
  bool (*signals_start) (BenchCtx *ctx);
  long (*signals_stop) (BenchCtx *ctx);
  /* Optional, in the driver process: the federation workload, which only
   * juno-bench-federation's system runs (sys-federation.c). */
  bool (*federation) (BenchCtx *ctx, const long *inflight, int n);
} BenchSystem;

struct BenchCtx
{
  const BenchSystem *sys;
  BenchShared *sh;
  const char *server_path;    /* juno, nats-server, dbus-daemon or relay */
#define BENCH_MAX_SERVER_ARGS 8
  const char *server_args[BENCH_MAX_SERVER_ARGS]; /* juno: more options (--server-arg) */
  int n_server_args;
  const char *workload;
  double duration;            /* seconds measured per figure */
  double warmup;              /* seconds before each measurement */
  size_t payload;             /* 0: the small default arguments */
  char *args;                 /* arguments object, one line of JSON */
  size_t args_len;
  char dir[256];              /* private temporary directory */
  char address[512];          /* socket path, URL or bus address */
  char address2[512];         /* second address (floor: echo, fan-out) */
  pid_t server_pid;
  pid_t aux_pid;              /* a second server process, if any */
  long max_modules;           /* cap for idle/scale sweeps */
  int fanin_callers;
  bool quick;
  bool no_bus;                /* juno: no private D-Bus bus beside it */
  bool tcp;                   /* roles reach the server over TCP on 127.0.0.1 */
  bool big;                   /* bulk: servers accept messages of a few MiB */
  const char *target;         /* the callee module: "echo" (NULL) or "quiet" */
  bool flood;                 /* a caller whose calls are counted apart */
  double last_window;         /* seconds of the last measured window */
  const char *only;           /* comma list of params to run, or NULL */
  void *priv;                 /* system private data */
};

/* The memory of a server, in kB (-1: not available). */
typedef struct
{
  long rss_kb;    /* VmRSS: every resident page, shared libraries included */
  long anon_kb;   /* RssAnon: resident anonymous pages (heap, stacks) */
  long pss_kb;    /* Pss: shared pages divided among the processes using them */
  long dirty_kb;  /* Private_Dirty: pages only this process has written */
} BenchMemory;

/* bench-util.c */
double bench_now (void);
void bench_sleep (double seconds);
void bench_fail (BenchCtx *ctx, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
long bench_raise_nofile (long wanted);
long bench_rss_kb (pid_t pid);
long bench_status_kb (pid_t pid, const char *field);
long bench_smaps_kb (pid_t pid, const char *field);
double bench_cpu_seconds (pid_t pid);
void bench_memory (pid_t pid, BenchMemory *m);
void bench_memory_results (BenchCtx *ctx, const char *param, const char *prefix, const BenchMemory *m);
bool bench_wait_ready (BenchCtx *ctx, int count, double timeout);
pid_t bench_fork_role (BenchCtx *ctx, int (*fn) (BenchCtx *, long, long), long a, long b);
void bench_reap (pid_t pid);
void bench_result (BenchCtx *ctx, const char *param, const char *metric, double value);
const char *bench_target (BenchCtx *ctx);
void bench_caller_done (BenchCtx *ctx, const BenchHist *hist, uint64_t completed);
bool bench_stopped (BenchCtx *ctx, int group);
pid_t bench_spawn (BenchCtx *ctx, char *const argv[], const char *log_name, char *const envp_extra[]);
/* Appends the run's --server-arg options to @argv at @argc and ends it
 * with NULL; @argv has room for BENCH_MAX_SERVER_ARGS + 1 more. */
void bench_end_server_argv (const BenchCtx *ctx, char **argv, int argc);
bool bench_wait_connect_unix (const char *path, pid_t pid, double timeout);
bool bench_wait_connect_tcp (int port, pid_t pid, double timeout);
int bench_free_port (void);
void bench_stop_process (pid_t pid);
void bench_print_log (BenchCtx *ctx, const char *log_name);
void bench_pin (pid_t pid, int cpu);

/* bench-hist.c */
void bench_hist_record (BenchHist *h, uint64_t ns);
void bench_hist_publish (BenchShared *sh, const BenchHist *h);
double bench_hist_percentile_us (BenchShared *sh, double p);
uint64_t bench_hist_total (BenchShared *sh);

/* bench-json.c: hand-rolled scanning of the one-line JSON we exchange */
bool bench_json_get (const char *obj, size_t len, const char *key,
                     const char **value, size_t *value_len);
long bench_json_int (const char *obj, size_t len, const char *key, long fallback);
size_t bench_echo_answer (const char *args, size_t len, char *out, size_t cap);
char *bench_make_args (size_t payload, size_t *len);

/* bench-workloads.c */
typedef struct
{
  const char *inflight;   /* call: calls in flight, e.g. "1,64" */
  const char *listeners;  /* hook: listener counts */
  const char *modules;    /* idle: module counts, ascending */
  const char *scale;      /* scale: module counts, ascending */
  const char *storm;      /* storm: module counts, ascending */
} BenchLists;

int bench_parse_list (const char *s, long *out, int max);
int bench_run_one (BenchCtx *ctx, const BenchLists *lists);
pid_t bench_start_callee (BenchCtx *ctx);
bool bench_measure_calls (BenchCtx *ctx, const char *param, int callers, int inflight,
                          bool latency, bool rate);

/* bench-main.c */
int bench_main (int argc, char **argv, const BenchSystem *const *systems);
