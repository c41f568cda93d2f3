/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-hist.c - call latency histograms.
 *
 * Each caller keeps a private BenchHist (no atomics on the hot path) and
 * adds it to the shared one when it stops; the driver reads percentiles from
 * the shared sum, so 100 callers yield one latency distribution. Buckets are
 * log-linear: 64 linear steps within each power of two of nanoseconds.
 */
#include "bench.h"

static unsigned
bucket_of (uint64_t ns)
{
  unsigned msb, idx;

  if (ns < BENCH_HIST_SUB)
    return (unsigned) ns;
  msb = 63 - (unsigned) __builtin_clzll (ns);
  /* Values in [2^msb, 2^(msb+1)) map to 64 steps of 2^(msb-6). */
  idx = (msb - 5) * BENCH_HIST_SUB + (unsigned) ((ns >> (msb - 6)) - BENCH_HIST_SUB);
  return idx < BENCH_HIST_BUCKETS ? idx : BENCH_HIST_BUCKETS - 1;
}

static double
bucket_value_ns (unsigned idx)
{
  unsigned major = idx / BENCH_HIST_SUB, minor = idx % BENCH_HIST_SUB;

  if (major == 0)
    return minor;
  /* The middle of the bucket. */
  return ((double) (BENCH_HIST_SUB + minor) + 0.5) * (double) (1ULL << (major - 1));
}

void
bench_hist_record (BenchHist *h, uint64_t ns)
{
  h->count[bucket_of (ns)]++;
}

void
bench_hist_publish (BenchShared *sh, const BenchHist *h)
{
  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
    if (h->count[i])
      atomic_fetch_add (&sh->hist[i], h->count[i]);
}

uint64_t
bench_hist_total (BenchShared *sh)
{
  uint64_t total = 0;

  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
    total += atomic_load (&sh->hist[i]);
  return total;
}

double
bench_hist_percentile_us (BenchShared *sh, double p)
{
  uint64_t total = bench_hist_total (sh), seen = 0, rank;

  if (total == 0)
    return -1;
  rank = (uint64_t) (p / 100.0 * (double) total);
  if (rank >= total)
    rank = total - 1;
  for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
    {
      seen += atomic_load (&sh->hist[i]);
      if (seen > rank)
        return bucket_value_ns (i) / 1000.0;
    }
  return -1;
}
