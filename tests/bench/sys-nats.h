/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-nats.h - the NATS anchor (sys-nats.c) and its raw idle clients. */
#pragma once

#include "bench.h"

int nats_idle_hold (BenchCtx *ctx, int port, long first, long count);
