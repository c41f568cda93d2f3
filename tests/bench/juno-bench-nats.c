/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-bench-nats.c - the NATS anchor: the same workloads as juno-bench,
 * through nats-server with libnats. See bench-main.c for options. */
#include "bench.h"

extern const BenchSystem bench_system_nats;

int
main (int argc, char **argv)
{
  static const BenchSystem *const systems[] = { &bench_system_nats, NULL };

  return bench_main (argc, argv, systems);
}
