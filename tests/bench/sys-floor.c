/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-floor.c - the floor: caller <-> byte-copying relay <-> echo.
 *
 * The relay (juno-bench-relay) parses nothing: a connection to its front
 * socket is paired with a fresh connection to the echo callee's socket and
 * bytes are copied both ways; bytes from its trig socket are copied to every
 * connection on its fan socket. No broker can forward a message for less, so
 * this is the cost of one extra hop through a user-space process. In the
 * TCP workloads every socket of the floor is TCP on 127.0.0.1.
 */
#include "sys-line.h"

#include <stdio.h>

static LineFlavor floor_flavor;
static char front[300], back[300], trig[300], fan[300];

static bool
floor_start (BenchCtx *ctx)
{
  char *argv[] = { (char *) ctx->server_path, "--front", front, "--back", back,
                   "--trig", trig, "--fan", fan, NULL };

  int fan_port = 0;

  if (ctx->tcp)
    {
      /* Every hop over TCP on 127.0.0.1, as juno's and NATS's. */
      fan_port = bench_free_port ();
      snprintf (front, sizeof front, "tcp:%d", bench_free_port ());
      snprintf (back, sizeof back, "tcp:%d", bench_free_port ());
      snprintf (trig, sizeof trig, "tcp:%d", bench_free_port ());
      snprintf (fan, sizeof fan, "tcp:%d", fan_port);
    }
  else
    {
      snprintf (front, sizeof front, "%s/front.sock", ctx->dir);
      snprintf (back, sizeof back, "%s/back.sock", ctx->dir);
      snprintf (trig, sizeof trig, "%s/trig.sock", ctx->dir);
      snprintf (fan, sizeof fan, "%s/fan.sock", ctx->dir);
    }
  ctx->server_pid = bench_spawn (ctx, argv, "relay.log", NULL);
  if (ctx->server_pid <= 0 ||
      !(ctx->tcp ? bench_wait_connect_tcp (fan_port, ctx->server_pid, 10)
                 : bench_wait_connect_unix (fan, ctx->server_pid, 10)))
    {
      bench_fail (ctx, "relay (%s) did not start", ctx->server_path);
      bench_print_log (ctx, "relay.log");
      return false;
    }
  floor_flavor = (LineFlavor){
    .handshake = false,
    .call_addr = front,
    .trig_addr = trig,
    .listen_addr = fan,
    .idle_addr = fan,
    .echo_listen = back,
  };
  snprintf (ctx->address, sizeof ctx->address, "%s", front);
  ctx->priv = &floor_flavor;
  return true;
}

static void
floor_stop (BenchCtx *ctx)
{
  bench_stop_process (ctx->server_pid);
  ctx->server_pid = 0;
}

const BenchSystem bench_system_floor = {
  .name = "floor",
  .server_start = floor_start,
  .server_stop = floor_stop,
  .callee = line_role_callee,
  .caller = line_role_caller,
  .listeners = line_role_listeners,
  .trigger = line_role_trigger,
  .idle = line_role_idle,
  .storm = line_role_storm,
};
