/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-bench-federation.c - the federation workload (sys-federation.c):
 * two juno brokers through one nats-server, beside NATS request-reply and
 * a local juno call. Takes bench-main.c's options, --server being juno,
 * plus --nats-server PATH (default: nats-server on PATH). The workload is
 * "federation" unless --workload says otherwise. */
#include "sys-nats.h"

#include <stdlib.h>
#include <string.h>

extern const BenchSystem bench_system_federation;

int
main (int argc, char **argv)
{
  static const BenchSystem *const systems[] = { &bench_system_federation, NULL };
  char **args = calloc ((size_t) argc + 3, sizeof (char *));
  int n = 0;

  args[n++] = argv[0];
  args[n++] = "--workload";
  args[n++] = "federation";
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--nats-server") == 0 && i + 1 < argc)
        federation_set_nats_server (argv[++i]);
      else if (strncmp (argv[i], "--nats-server=", 14) == 0)
        federation_set_nats_server (argv[i] + 14);
      else
        args[n++] = argv[i];
    }
  return bench_main (n, args, systems);
}
