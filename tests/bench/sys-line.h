/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-line.h - roles shared by the two line-protocol systems, juno and the
 * floor (a byte-copying relay). Both exchange the same JSON lines; juno adds
 * the register/declare/listen handshake, the floor relay none at all. */
#pragma once

#include "bench-line.h"
#include "bench.h"

typedef struct
{
  bool handshake;           /* juno: register (and declare/listen) first */
  const char *call_addr;    /* callers connect here */
  const char *trig_addr;    /* the trigger connects here */
  const char *listen_addr;  /* hook listeners connect here */
  const char *idle_addr;    /* idle modules connect here */
  const char *echo_listen;  /* floor: the callee listens here; NULL: connects */
} LineFlavor;

int line_role_callee (BenchCtx *ctx);
int line_role_caller (BenchCtx *ctx, int id, int inflight);
int line_role_listeners (BenchCtx *ctx, int count);
int line_role_trigger (BenchCtx *ctx, int listeners);
int line_role_idle (BenchCtx *ctx, long first, long count);
int line_role_storm (BenchCtx *ctx, long count, int shape);

/* sys-juno.c */
bool juno_register (BenchCtx *ctx, LineConn *c, const char *module_id);
bool juno_expect (BenchCtx *ctx, LineConn *c, long type, const char *hook, double timeout);
