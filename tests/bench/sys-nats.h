/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-nats.h - the NATS anchor (sys-nats.c) and its raw idle clients. */
#pragma once

#include "bench.h"

int nats_storm_hold (BenchCtx *ctx, int port, long count);
int nats_idle_hold (BenchCtx *ctx, int port, long first, long count);

/* sys-federation.c: the nats-server the federation workload starts. */
void federation_set_nats_server (const char *path);
