/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-util.c - clocks, limits, RSS, child processes and result lines.
 *
 * Servers under test are started with bench_spawn(): their stdout/stderr go
 * to a log file in the private temporary directory, printed only when a run
 * fails. Roles are forked with bench_fork_role() and report through the
 * shared control block, never through their exit status alone.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double
bench_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
bench_sleep (double seconds)
{
  struct timespec ts = { (time_t) seconds, (long) ((seconds - (time_t) seconds) * 1e9) };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

void
bench_fail (BenchCtx *ctx, const char *fmt, ...)
{
  va_list ap;
  int expected = 0;

  va_start (ap, fmt);
  /* The first failure wins: later ones are usually its consequences. */
  if (atomic_compare_exchange_strong (&ctx->sh->failed, &expected, 1))
    vsnprintf (ctx->sh->error, sizeof ctx->sh->error, fmt, ap);
  va_end (ap);
}

/* Raise RLIMIT_NOFILE to hold @wanted descriptors, raising the hard limit
 * too when we may (root). Returns the soft limit now in force. */
long
bench_raise_nofile (long wanted)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    return 1024;
  if ((long) rl.rlim_cur >= wanted)
    return rl.rlim_cur;
  if ((long) rl.rlim_max < wanted)
    {
      struct rlimit hard = { wanted, wanted };
      FILE *f = fopen ("/proc/sys/fs/nr_open", "r");
      long nr_open = 0;

      if (f)
        {
          if (fscanf (f, "%ld", &nr_open) != 1)
            nr_open = 0;
          fclose (f);
        }
      if (nr_open > 0 && wanted > nr_open)
        hard.rlim_cur = hard.rlim_max = nr_open;
      if (setrlimit (RLIMIT_NOFILE, &hard) == 0)
        return hard.rlim_cur;
    }
  rl.rlim_cur = (long) rl.rlim_max < wanted ? rl.rlim_max : (rlim_t) wanted;
  setrlimit (RLIMIT_NOFILE, &rl);
  getrlimit (RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

/* A "Name: N kB" field of /proc/PID/status, -1 if absent. */
long
bench_status_kb (pid_t pid, const char *field)
{
  char path[64], line[256];
  size_t flen = strlen (field);
  long kb = -1;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
  f = fopen (path, "r");
  if (!f)
    return -1;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, field, flen) == 0 && line[flen] == ':')
      {
        kb = strtol (line + flen + 1, NULL, 10);
        break;
      }
  fclose (f);
  return kb;
}

long
bench_rss_kb (pid_t pid)
{
  return bench_status_kb (pid, "VmRSS");
}

/* A "Name: N kB" field of /proc/PID/smaps_rollup, -1 if absent. */
long
bench_smaps_kb (pid_t pid, const char *field)
{
  char path[64], line[256];
  size_t flen = strlen (field);
  long kb = -1;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/smaps_rollup", (int) pid);
  f = fopen (path, "r");
  if (!f)
    return -1;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, field, flen) == 0 && line[flen] == ':')
      {
        kb = strtol (line + flen + 1, NULL, 10);
        break;
      }
  fclose (f);
  return kb;
}

/* CPU time used so far by every thread of @pid, in seconds (-1: gone),
 * from /proc/PID/task/TID/schedstat (nanoseconds on a CPU). */
double
bench_cpu_seconds (pid_t pid)
{
  char path[320];
  struct dirent *d;
  double sum = 0;
  DIR *dir;

  snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
  dir = opendir (path);
  if (!dir)
    return -1;
  while ((d = readdir (dir)))
    {
      unsigned long long ns;
      FILE *f;

      if (d->d_name[0] == '.')
        continue;
      snprintf (path, sizeof path, "/proc/%d/task/%s/schedstat", (int) pid, d->d_name);
      f = fopen (path, "r");
      if (!f)
        continue;
      if (fscanf (f, "%llu", &ns) == 1)
        sum += (double) ns / 1e9;
      fclose (f);
    }
  closedir (dir);
  return sum;
}

void
bench_memory (pid_t pid, BenchMemory *m)
{
  m->rss_kb = bench_status_kb (pid, "VmRSS");
  m->anon_kb = bench_status_kb (pid, "RssAnon");
  m->pss_kb = bench_smaps_kb (pid, "Pss");
  m->dirty_kb = bench_smaps_kb (pid, "Private_Dirty");
}

/* Reports @m under @param as PREFIXrss_kb (VmRSS), PREFIXrss_anon_kb
 * (RssAnon), PREFIXpss_kb (Pss) and PREFIXprivate_kb (Private_Dirty). */
void
bench_memory_results (BenchCtx *ctx, const char *param, const char *prefix, const BenchMemory *m)
{
  char metric[64];

  snprintf (metric, sizeof metric, "%srss_kb", prefix);
  bench_result (ctx, param, metric, (double) m->rss_kb);
  snprintf (metric, sizeof metric, "%srss_anon_kb", prefix);
  bench_result (ctx, param, metric, (double) m->anon_kb);
  if (m->pss_kb >= 0)
    {
      snprintf (metric, sizeof metric, "%spss_kb", prefix);
      bench_result (ctx, param, metric, (double) m->pss_kb);
    }
  if (m->dirty_kb >= 0)
    {
      snprintf (metric, sizeof metric, "%sprivate_kb", prefix);
      bench_result (ctx, param, metric, (double) m->dirty_kb);
    }
}

bool
bench_wait_ready (BenchCtx *ctx, int count, double timeout)
{
  double deadline = bench_now () + timeout;

  while (atomic_load (&ctx->sh->ready) < count)
    {
      if (atomic_load (&ctx->sh->failed))
        return false;
      if (bench_now () > deadline)
        {
          bench_fail (ctx, "timed out after %.0f s waiting for %d role(s) to get ready (%d are)",
                      timeout, count, atomic_load (&ctx->sh->ready));
          return false;
        }
      bench_sleep (0.002);
    }
  return true;
}

pid_t
bench_fork_role (BenchCtx *ctx, int (*fn) (BenchCtx *, long, long), long a, long b)
{
  pid_t pid;

  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    {
      bench_fail (ctx, "fork: %s", strerror (errno));
      return -1;
    }
  if (pid == 0)
    {
      /* A role must not outlive the driver. */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      prctl (PR_SET_TIMERSLACK, 1UL);
      signal (SIGPIPE, SIG_IGN);
      _exit (fn (ctx, a, b));
    }
  return pid;
}

void
bench_reap (pid_t pid)
{
  int status;

  if (pid <= 0)
    return;
  for (int i = 0; i < 3000; i++)
    {
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid || (r < 0 && errno != EINTR))
        return;
      bench_sleep (0.005);
    }
  /* Stuck for 15 s: it is not coming back by itself. */
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
}

bool
bench_stopped (BenchCtx *ctx, int group)
{
  return atomic_load_explicit (&ctx->sh->stop[group], memory_order_relaxed) ||
         atomic_load_explicit (&ctx->sh->stop[STOP_LONG], memory_order_relaxed) ||
         atomic_load_explicit (&ctx->sh->failed, memory_order_relaxed);
}

void
bench_result (BenchCtx *ctx, const char *param, const char *metric, double value)
{
  char full[160];

  if (ctx->payload)
    snprintf (full, sizeof full, "%s,payload=%zu", param, ctx->payload);
  else
    snprintf (full, sizeof full, "%s", param);
  printf ("RESULT %s %s %s %s %.6g\n", ctx->sys->name, ctx->workload, full, metric, value);
  fflush (stdout);
}

/* The module (juno), subject prefix (NATS) or name (D-Bus) that callees
 * serve and callers call: "echo", or "quiet" in the fair workload. */
const char *
bench_target (BenchCtx *ctx)
{
  return ctx->target ? ctx->target : "echo";
}

/* A caller's figures, published when it stops: the flooder of the fair
 * workload counts apart and leaves the latency histogram to the others. */
void
bench_caller_done (BenchCtx *ctx, const BenchHist *hist, uint64_t completed)
{
  if (ctx->flood)
    {
      atomic_fetch_add (&ctx->sh->flood_completed, completed);
      return;
    }
  bench_hist_publish (ctx->sh, hist);
  atomic_fetch_add (&ctx->sh->completed, completed);
}

void
bench_end_server_argv (const BenchCtx *ctx, char **argv, int argc)
{
  for (int i = 0; i < ctx->n_server_args; i++)
    argv[argc++] = (char *) ctx->server_args[i];
  argv[argc] = NULL;
}

pid_t
bench_spawn (BenchCtx *ctx, char *const argv[], const char *log_name, char *const envp_extra[])
{
  char log_path[512];
  pid_t pid;

  snprintf (log_path, sizeof log_path, "%s/%s", ctx->dir, log_name);
  fflush (stdout);
  pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      int fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

      prctl (PR_SET_PDEATHSIG, SIGTERM);
      if (fd >= 0)
        {
          dup2 (fd, STDOUT_FILENO);
          dup2 (fd, STDERR_FILENO);
        }
      for (int i = 0; envp_extra && envp_extra[i]; i++)
        putenv (envp_extra[i]);
      execvp (argv[0], argv);
      fprintf (stderr, "exec %s: %s\n", argv[0], strerror (errno));
      _exit (127);
    }
  return pid;
}

static bool
process_alive (pid_t pid)
{
  int status;

  return waitpid (pid, &status, WNOHANG) == 0;
}

bool
bench_wait_connect_unix (const char *path, pid_t pid, double timeout)
{
  double deadline = bench_now () + timeout;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };

  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  while (bench_now () < deadline)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int rc = connect (fd, (struct sockaddr *) &sa, sizeof sa);

      close (fd);
      if (rc == 0)
        return true;
      if (pid > 0 && !process_alive (pid))
        return false;
      bench_sleep (0.01);
    }
  return false;
}

bool
bench_wait_connect_tcp (int port, pid_t pid, double timeout)
{
  double deadline = bench_now () + timeout;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  while (bench_now () < deadline)
    {
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int rc = connect (fd, (struct sockaddr *) &sa, sizeof sa);

      close (fd);
      if (rc == 0)
        return true;
      if (pid > 0 && !process_alive (pid))
        return false;
      bench_sleep (0.01);
    }
  return false;
}

/* A TCP port of 127.0.0.1 that was free a moment ago, or -1. */
int
bench_free_port (void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd >= 0 && bind (fd, (struct sockaddr *) &sa, sizeof sa) == 0 &&
      getsockname (fd, (struct sockaddr *) &sa, &len) == 0)
    port = ntohs (sa.sin_port);
  if (fd >= 0)
    close (fd);
  return port;
}

void
bench_stop_process (pid_t pid)
{
  int status;

  if (pid <= 0)
    return;
  kill (pid, SIGTERM);
  for (int i = 0; i < 500; i++)
    {
      if (waitpid (pid, &status, WNOHANG) != 0)
        return;
      bench_sleep (0.01);
    }
  kill (pid, SIGKILL);
  waitpid (pid, &status, 0);
}

void
bench_print_log (BenchCtx *ctx, const char *log_name)
{
  char path[512], line[512];
  FILE *f;
  int n = 0;

  snprintf (path, sizeof path, "%s/%s", ctx->dir, log_name);
  f = fopen (path, "r");
  if (!f)
    return;
  fprintf (stderr, "--- last lines of %s ---\n", log_name);
  /* Print the tail only: a server can log a line per connection. */
  while (fgets (line, sizeof line, f))
    n++;
  rewind (f);
  for (int i = 0; fgets (line, sizeof line, f); i++)
    if (i >= n - 30)
      fputs (line, stderr);
  fclose (f);
}

/* Sets the CPU affinity of every thread of @pid (0: this process's
 * calling thread only) to CPU @cpu, or to every CPU when @cpu < 0. */
void
bench_pin (pid_t pid, int cpu)
{
  cpu_set_t set;
  char path[64];
  struct dirent *d;
  DIR *dir;

  CPU_ZERO (&set);
  for (int i = 0; i < CPU_SETSIZE; i++)
    if (cpu < 0 || i == cpu)
      CPU_SET (i, &set);
  if (pid == 0)
    {
      sched_setaffinity (0, sizeof set, &set);
      return;
    }
  snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
  dir = opendir (path);
  if (!dir)
    return;
  while ((d = readdir (dir)))
    if (d->d_name[0] != '.')
      sched_setaffinity ((pid_t) atoi (d->d_name), sizeof set, &set);
  closedir (dir);
}
