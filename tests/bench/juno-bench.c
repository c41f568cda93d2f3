/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-bench.c - the load generator for juno and for the floor (the
 * byte-copying relay). Needs only libc. See bench-main.c for options. */
#include "bench.h"

extern const BenchSystem bench_system_juno;
extern const BenchSystem bench_system_floor;

int
main (int argc, char **argv)
{
  static const BenchSystem *const systems[] = { &bench_system_juno, &bench_system_floor, NULL };

  return bench_main (argc, argv, systems);
}
