/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-main.c - command line of every generator.
 *
 *   juno-bench [--system juno|floor] [--server PATH] [--workload W|all]
 *              [--duration S] [--warmup S] [--payload BYTES] [--quick]
 *              [--inflight LIST] [--listeners LIST] [--modules LIST]
 *              [--scale LIST] [--callers N] [--max-modules N]
 *
 * The NATS and D-Bus anchors take the same options, and so does
 * juno-bench-federation, which runs the workload "federation" only (not part
 * of "all") and also takes --nats-server PATH. Results go to stdout
 * as RESULT lines; diagnostics to stderr; the exit status is 0 only when
 * every requested workload ran to the end.
 */
#include "bench.h"

#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void
usage (const char *prog, const BenchSystem *const *systems)
{
  fprintf (stderr,
           "usage: %s [--system NAME] [--server PATH] [--workload W|all]\n"
           "       W: call hook idle scale fanin federation tcpcall tcphook storm fair bulk\n"
           "       [--duration S] [--warmup S] [--payload BYTES] [--quick]\n"
           "       [--inflight LIST] [--listeners LIST] [--modules LIST] [--scale LIST]\n"
           "       [--storm LIST]\n"
           "       [--callers N] [--max-modules N] [--no-bus] [--server-arg ARG]...\n"
           "systems:",
           prog);
  for (int i = 0; systems[i]; i++)
    fprintf (stderr, " %s", systems[i]->name);
  fputc ('\n', stderr);
}

static const char *
default_server (const BenchSystem *sys)
{
  static char path[4096];
  char self[4096];
  ssize_t n;

  if (strcmp (sys->name, "juno") == 0 || strcmp (sys->name, "federation") == 0)
    return "juno";
  if (strcmp (sys->name, "nats") == 0)
    return "nats-server";
  if (strcmp (sys->name, "dbus") == 0)
    return "dbus-daemon";
  /* The floor's relay is built beside the generator. */
  n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n < 0)
    return "juno-bench-relay";
  self[n] = '\0';
  snprintf (path, sizeof path, "%s/juno-bench-relay", dirname (self));
  return path;
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static long
list_max (const char *s)
{
  long list[16], max = 0;
  int n = bench_parse_list (s, list, 16);

  for (int i = 0; i < n; i++)
    if (list[i] > max)
      max = list[i];
  return max;
}

int
bench_main (int argc, char **argv, const BenchSystem *const *systems)
{
  static const struct option options[] = {
    { "system", required_argument, NULL, 'S' },
    { "server", required_argument, NULL, 's' },
    { "workload", required_argument, NULL, 'w' },
    { "duration", required_argument, NULL, 'd' },
    { "warmup", required_argument, NULL, 'W' },
    { "payload", required_argument, NULL, 'p' },
    { "quick", no_argument, NULL, 'q' },
    { "inflight", required_argument, NULL, 'i' },
    { "listeners", required_argument, NULL, 'l' },
    { "modules", required_argument, NULL, 'm' },
    { "scale", required_argument, NULL, 'c' },
    { "storm", required_argument, NULL, 'x' },
    { "callers", required_argument, NULL, 'f' },
    { "max-modules", required_argument, NULL, 'M' },
    { "no-bus", no_argument, NULL, 'B' },
    { "server-arg", required_argument, NULL, 'A' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  /* "all" leaves out federation, which needs juno-bench-federation.
   * tcpcall and tcphook are call and hook with every role on TCP. */
  static const char *const all[] = { "call", "hook", "idle", "scale", "fanin", "federation",
                                     "tcpcall", "tcphook", "storm", "fair", "bulk", NULL };
  BenchLists lists = { "1,64", "1,10,100", "1000,10000,100000", "10,100,1000,10000,100000",
                       "100,1000,3000,10000" };
  BenchCtx ctx = { .sys = systems[0], .workload = "all", .duration = 2.0, .warmup = 0.5,
                   .fanin_callers = 100, .max_modules = 1000000 };
  bool duration_set = false, warmup_set = false;
  long wanted;
  int opt, status = 0;

  while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1)
    {
      switch (opt)
        {
        case 'S':
          ctx.sys = NULL;
          for (int i = 0; systems[i]; i++)
            if (strcmp (systems[i]->name, optarg) == 0)
              ctx.sys = systems[i];
          if (!ctx.sys)
            {
              usage (argv[0], systems);
              return 2;
            }
          break;
        case 's': ctx.server_path = optarg; break;
        case 'w': ctx.workload = optarg; break;
        case 'd': ctx.duration = atof (optarg); duration_set = true; break;
        case 'W': ctx.warmup = atof (optarg); warmup_set = true; break;
        case 'p': ctx.payload = strtoul (optarg, NULL, 10); break;
        case 'q': ctx.quick = true; break;
        case 'i': lists.inflight = optarg; break;
        case 'l': lists.listeners = optarg; break;
        case 'm': lists.modules = optarg; break;
        case 'c': lists.scale = optarg; break;
        case 'x': lists.storm = optarg; break;
        case 'f': ctx.fanin_callers = atoi (optarg); break;
        case 'M': ctx.max_modules = atol (optarg); break;
        case 'B': ctx.no_bus = true; break;
        case 'A':
          if (ctx.n_server_args == BENCH_MAX_SERVER_ARGS)
            {
              fprintf (stderr, "%s: at most %d --server-arg\n", argv[0], BENCH_MAX_SERVER_ARGS);
              return 2;
            }
          ctx.server_args[ctx.n_server_args++] = optarg;
          break;
        default:
          usage (argv[0], systems);
          return opt == 'h' ? 0 : 2;
        }
    }
  if (optind < argc)
    {
      usage (argv[0], systems);
      return 2;
    }
  if (ctx.quick)
    {
      if (!duration_set)
        ctx.duration = 0.3;
      if (!warmup_set)
        ctx.warmup = 0.1;
    }
  if (!ctx.server_path)
    ctx.server_path = default_server (ctx.sys);

  signal (SIGPIPE, SIG_IGN);
  /* Room for the largest idle sweep, in this process and so in the forked
   * roles and servers, which inherit it. */
  wanted = list_max (lists.modules);
  if (list_max (lists.scale) > wanted)
    wanted = list_max (lists.scale);
  if (list_max (lists.storm) > wanted)
    wanted = list_max (lists.storm);
  wanted = bench_raise_nofile (wanted + 512) - 512;
  if (wanted < ctx.max_modules)
    ctx.max_modules = wanted;

  ctx.args = bench_make_args (ctx.payload, &ctx.args_len);
  ctx.sh = mmap (NULL, sizeof (BenchShared), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  snprintf (ctx.dir, sizeof ctx.dir, "/tmp/juno-bench-XXXXXX");
  if (ctx.sh == MAP_FAILED || !mkdtemp (ctx.dir))
    {
      perror ("juno-bench: setup");
      return 1;
    }

  for (int i = 0; all[i]; i++)
    {
      if (strcmp (ctx.workload, "all") == 0 ? strcmp (all[i], "federation") == 0
                                            : strcmp (ctx.workload, all[i]) != 0)
        continue;
      memset (ctx.sh, 0, sizeof *ctx.sh);
      {
        BenchCtx one = ctx;

        one.workload = all[i];
        one.tcp = strncmp (all[i], "tcp", 3) == 0;
        one.big = strcmp (all[i], "bulk") == 0;
        if (bench_run_one (&one, &lists) != 0)
          status = 1;
      }
    }
  {
    bool known = strcmp (ctx.workload, "all") == 0;

    for (int i = 0; all[i]; i++)
      known |= strcmp (ctx.workload, all[i]) == 0;
    if (!known)
    {
      fprintf (stderr, "%s: unknown workload '%s'\n", argv[0], ctx.workload);
      status = 2;
    }
  }
  nftw (ctx.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  munmap (ctx.sh, sizeof (BenchShared));
  free (ctx.args);
  return status;
}
