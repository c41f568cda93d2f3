/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-juno.c - the system under test: the juno broker.
 *
 * Starts build/src/daemon/juno (or --server PATH) on a private socket with
 * its default options, waits for READY=1 on
 * a private NOTIFY_SOCKET (or for the socket to accept), and speaks the
 * register/declare/listen handshake for the shared line roles.
 *
 * As it runs for its users, juno is on D-Bus: a private dbus-daemon is
 * started beside it (unless --no-bus) and juno owns its name there before
 * READY=1. The idle workload also reports the VmRSS of the smallest GIO
 * service on the same bus (juno-bench-gio-floor), the floor of any
 * GLib-based broker, and the memory of a second juno without D-Bus
 * (--bus=none). In the TCP workloads juno also listens on a TCP port of
 * 127.0.0.1 and every role connects there.
 */
#include "sys-line.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static LineFlavor juno_flavor;
static char bus_env[600];
static char tcp_addr[32];
static int tcp_port;

static void juno_stop (BenchCtx *ctx);

/* A session-type dbus-daemon on DIR/bus; sets bus_env. */
static bool
start_bus (BenchCtx *ctx)
{
  char sock[300], address[320];
  char *argv[] = { "dbus-daemon", "--session", address, "--nofork", "--nopidfile", NULL };

  snprintf (sock, sizeof sock, "%s/bus", ctx->dir);
  snprintf (address, sizeof address, "--address=unix:path=%s", sock);
  ctx->aux_pid = bench_spawn (ctx, argv, "bus.log", NULL);
  if (ctx->aux_pid <= 0 || !bench_wait_connect_unix (sock, ctx->aux_pid, 15))
    {
      bench_fail (ctx, "juno: the private dbus-daemon did not start (--no-bus runs without one)");
      bench_print_log (ctx, "bus.log");
      return false;
    }
  snprintf (bus_env, sizeof bus_env, "DBUS_SESSION_BUS_ADDRESS=unix:path=%s", sock);
  return true;
}

/* The memory of juno-bench-gio-floor on the same bus; false if unavailable. */
static bool
gio_floor_memory (BenchCtx *ctx, BenchMemory *m)
{
  char self[4096], path[4200], ready[300];
  char *envp[] = { bus_env, NULL };
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  double deadline = bench_now () + 15;
  bool ok = false;
  pid_t pid;

  if (n < 0)
    return false;
  self[n] = '\0';
  *strrchr (self, '/') = '\0';
  snprintf (path, sizeof path, "%s/juno-bench-gio-floor", self);
  snprintf (ready, sizeof ready, "%s/gio-floor.ready", ctx->dir);
  if (access (path, X_OK) != 0)
    return false;
  {
    char *argv[] = { path, ready, NULL };

    pid = bench_spawn (ctx, argv, "gio-floor.log", envp);
  }
  if (pid <= 0)
    return false;
  while (access (ready, F_OK) != 0 && bench_now () < deadline)
    bench_sleep (0.01);
  if (access (ready, F_OK) == 0)
    {
      bench_sleep (0.3); /* as juno is measured: settled, after start-up */
      bench_memory (pid, m);
      ok = true;
    }
  else
    bench_print_log (ctx, "gio-floor.log");
  bench_stop_process (pid);
  unlink (ready);
  return ok;
}

/* The memory of juno without D-Bus (--bus=none), started beside the one
 * under test on a socket of its own, settled as that one is measured. */
static bool
nobus_memory (BenchCtx *ctx, BenchMemory *m)
{
  char sock[300];
  char *argv[4 + BENCH_MAX_SERVER_ARGS + 1] = { (char *) ctx->server_path, "-s", sock, "--bus=none" };
  bool ok;
  pid_t pid;

  bench_end_server_argv (ctx, argv, 4);
  snprintf (sock, sizeof sock, "%s/nobus.sock", ctx->dir);
  pid = bench_spawn (ctx, argv, "juno-nobus.log", NULL);
  if (pid <= 0)
    return false;
  ok = bench_wait_connect_unix (sock, pid, 15);
  if (ok)
    {
      bench_sleep (0.3);
      bench_memory (pid, m);
    }
  else
    bench_print_log (ctx, "juno-nobus.log");
  bench_stop_process (pid);
  return ok;
}

/* Counting juno's signals: a dbus-monitor on the private bus, printing
 * one line per message juno sends (--profile). */
static pid_t monitor_pid;

static bool
juno_signals_start (BenchCtx *ctx)
{
  char path[300], match[] = "type='signal',sender='org.juno.Broker1'";
  char *argv[] = { "dbus-monitor", "--address", bus_env + strlen ("DBUS_SESSION_BUS_ADDRESS="),
                   "--profile", match, NULL };

  if (ctx->no_bus || ctx->aux_pid <= 0)
    return false;
  snprintf (path, sizeof path, "%s/monitor.log", ctx->dir);
  unlink (path);
  monitor_pid = bench_spawn (ctx, argv, "monitor.log", NULL);
  /* Its first line says it is monitoring. */
  for (int i = 0; i < 500; i++)
    {
      struct stat st;

      if (stat (path, &st) == 0 && st.st_size > 0)
        return true;
      bench_sleep (0.01);
    }
  bench_stop_process (monitor_pid);
  monitor_pid = 0;
  return false;
}

static long
juno_signals_stop (BenchCtx *ctx)
{
  char path[300], line[1024];
  long count = 0;
  FILE *f;

  bench_stop_process (monitor_pid);
  monitor_pid = 0;
  snprintf (path, sizeof path, "%s/monitor.log", ctx->dir);
  f = fopen (path, "r");
  if (!f)
    return -1;
  while (fgets (line, sizeof line, f))
    if (strncmp (line, "sig\t", 4) == 0)
      count++;
  fclose (f);
  return count;
}

bool
juno_expect (BenchCtx *ctx, LineConn *c, long type, const char *hook, double timeout)
{
  double deadline = bench_now () + timeout;

  if (!line_flush_blocking (c, timeout))
    {
      bench_fail (ctx, "juno: write failed: %s", strerror (errno));
      return false;
    }
  for (;;)
    {
      const char *line, *h;
      size_t len, hlen;
      ssize_t r;

      while (line_next (c, &line, &len))
        {
          long t = bench_json_int (line, len, "type", -1);

          if (t == 0)
            {
              bench_fail (ctx, "juno: error reply while waiting for type %ld: %.*s", type, (int) len, line);
              return false;
            }
          if (t != type)
            continue;
          if (!hook)
            return true;
          if (bench_json_get (line, len, "hook", &h, &hlen) && hlen == strlen (hook) + 2 &&
              memcmp (h + 1, hook, hlen - 2) == 0)
            return true;
        }
      if (bench_now () > deadline || !line_wait_readable (c, deadline - bench_now ()))
        {
          bench_fail (ctx, "juno: no type %ld%s%s reply within %.0f s", type,
                      hook ? " " : "", hook ? hook : "", timeout);
          return false;
        }
      r = line_fill (c);
      if (r == 0 || (r < 0 && errno != EAGAIN))
        {
          bench_fail (ctx, "juno: connection closed while waiting for type %ld", type);
          return false;
        }
    }
}

bool
juno_register (BenchCtx *ctx, LineConn *c, const char *module_id)
{
  char reg[256];
  int n = snprintf (reg, sizeof reg,
                    "{\"requestId\":\"r1\",\"type\":1,\"moduleId\":\"%s\",\"version\":\"1.0.0\",\"dependencies\":{}}\n",
                    module_id);

  line_queue (c, reg, (size_t) n);
  return juno_expect (ctx, c, 2, NULL, 10) && juno_expect (ctx, c, 8, "juno.activated", 10);
}

static bool
wait_notify (int nfd, pid_t pid, const char *sock, double timeout)
{
  double deadline = bench_now () + timeout;

  while (bench_now () < deadline)
    {
      struct pollfd p = { nfd, POLLIN, 0 };
      int status;

      if (poll (&p, 1, 50) > 0)
        {
          char buf[512];
          ssize_t n = recv (nfd, buf, sizeof buf - 1, 0);

          if (n > 0)
            {
              buf[n] = '\0';
              if (strstr (buf, "READY=1"))
                return true;
            }
        }
      if (waitpid (pid, &status, WNOHANG) != 0)
        return false;
      /* A broker without sd_notify support still counts once it accepts. */
      if (bench_now () > deadline - timeout + 2 && bench_wait_connect_unix (sock, pid, 0.01))
        return true;
    }
  return false;
}

static bool
juno_start (BenchCtx *ctx)
{
  char notify_path[300], notify_env[320];
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int nfd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  char *envp[] = { notify_env, NULL, NULL };
  bool ok;

  ctx->aux_pid = 0;
  if (!ctx->no_bus && system ("command -v dbus-daemon >/dev/null 2>&1") != 0)
    {
      fprintf (stderr, "juno: no dbus-daemon on PATH: measuring juno without D-Bus, as with --no-bus\n");
      ctx->no_bus = true;
    }
  if (!ctx->no_bus)
    {
      if (!start_bus (ctx))
        {
          close (nfd);
          return false;
        }
      envp[1] = bus_env;
    }

  snprintf (ctx->address, sizeof ctx->address, "%s/juno.sock", ctx->dir);
  snprintf (notify_path, sizeof notify_path, "%s/notify", ctx->dir);
  snprintf (notify_env, sizeof notify_env, "NOTIFY_SOCKET=%s", notify_path);
  if (strlen (notify_path) >= sizeof sa.sun_path)
    {
      bench_fail (ctx, "socket path too long: %s", notify_path);
      return false;
    }
  memcpy (sa.sun_path, notify_path, strlen (notify_path) + 1);
  unlink (notify_path);
  if (bind (nfd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      bench_fail (ctx, "bind %s: %s", notify_path, strerror (errno));
      return false;
    }
  {
    /* juno's defaults, as its users run it: a 30 s call timeout, and as
     * many connections as the descriptor limit (raised by the generator)
     * allows */
    char *argv[8 + BENCH_MAX_SERVER_ARGS] = { (char *) ctx->server_path, "-s", ctx->address, NULL };
    char port_arg[32];
    int argc = 3;

    /* TCP workloads: a TCP listener beside the Unix one, which only the
     * readiness check uses. */
    tcp_port = ctx->tcp ? bench_free_port () : 0;
    if (ctx->tcp)
      {
        snprintf (port_arg, sizeof port_arg, "%d", tcp_port);
        argv[argc++] = "-p";
        argv[argc++] = port_arg;
      }
    /* The bulk workload's 1 MiB arguments make lines longer than the
     * default limit of 1 MiB. */
    if (ctx->big)
      argv[argc++] = "--max-message-size=8388608";
    /* --server-arg: options of the run (bench.sh --juno-arg) */
    bench_end_server_argv (ctx, argv, argc);
    ctx->server_pid = bench_spawn (ctx, argv, "juno.log", envp);
  }
  ok = ctx->server_pid > 0 && wait_notify (nfd, ctx->server_pid, ctx->address, 15);
  close (nfd);
  unlink (notify_path);
  if (!ok)
    {
      bench_fail (ctx, "juno (%s) did not become ready", ctx->server_path);
      bench_print_log (ctx, "juno.log");
      if (ctx->aux_pid > 0)
        bench_stop_process (ctx->aux_pid);
      ctx->aux_pid = 0;
      return false;
    }
  if (!ctx->no_bus && strcmp (ctx->workload, "idle") == 0)
    {
      BenchMemory m;

      if (gio_floor_memory (ctx, &m))
        bench_memory_results (ctx, "modules=0", "gio_floor_", &m);
    }
  if (!ctx->no_bus && strcmp (ctx->workload, "idle") == 0)
    {
      BenchMemory m;

      if (nobus_memory (ctx, &m))
        bench_memory_results (ctx, "modules=0", "nobus_", &m);
    }
  if (ctx->tcp)
    {
      if (!bench_wait_connect_tcp (tcp_port, ctx->server_pid, 5))
        {
          bench_fail (ctx, "juno: no TCP listener on 127.0.0.1:%d", tcp_port);
          bench_print_log (ctx, "juno.log");
          juno_stop (ctx);
          return false;
        }
      snprintf (tcp_addr, sizeof tcp_addr, "tcp:%d", tcp_port);
    }
  juno_flavor = (LineFlavor){
    .handshake = true,
    .call_addr = ctx->tcp ? tcp_addr : ctx->address,
    .trig_addr = ctx->tcp ? tcp_addr : ctx->address,
    .listen_addr = ctx->tcp ? tcp_addr : ctx->address,
    .idle_addr = ctx->address,
  };
  ctx->priv = &juno_flavor;
  return true;
}

static void
juno_stop (BenchCtx *ctx)
{
  bench_stop_process (ctx->server_pid);
  ctx->server_pid = 0;
  if (ctx->aux_pid > 0)
    bench_stop_process (ctx->aux_pid);
  ctx->aux_pid = 0;
}

const BenchSystem bench_system_juno = {
  .name = "juno",
  .server_start = juno_start,
  .server_stop = juno_stop,
  .callee = line_role_callee,
  .caller = line_role_caller,
  .listeners = line_role_listeners,
  .trigger = line_role_trigger,
  .idle = line_role_idle,
  .storm = line_role_storm,
  .signals_start = juno_signals_start,
  .signals_stop = juno_signals_stop,
};
