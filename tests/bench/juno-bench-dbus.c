/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-bench-dbus.c - the D-Bus anchor: the same workloads as juno-bench,
 * through a private dbus-daemon with libdbus-1. See bench-main.c. */
#include "bench.h"

extern const BenchSystem bench_system_dbus;

int
main (int argc, char **argv)
{
  static const BenchSystem *const systems[] = { &bench_system_dbus, NULL };

  return bench_main (argc, argv, systems);
}
