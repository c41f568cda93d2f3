#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the juno benchmarks against their anchors and writes the report.
#
#   scripts/bench.sh [--quick] [--rounds N] [--duration S] [--warmup S]
#                    [--payload BYTES] [--workloads LIST] [--systems LIST]
#                    [--build-dir DIR] [--cpus LIST] [--no-install]
#                    [--juno-arg ARG]... [--report-only]
#
# Installs what is missing from Debian (nats-server, libnats-dev, dbus,
# libdbus-1-dev, gnuplot-nox and juno's build deps), builds juno and
# tests/bench in a release build (build-bench/), then runs every workload
# for every system, interleaved (juno, nats, dbus, floor, juno, ...), for
# N rounds (3; --quick: 1 round, short durations). The federation workload
# runs its own generator once per round: two juno brokers through one
# nats-server, NATS request-reply and a local juno call beside it. Results:
#   build-bench/bench-raw.txt      every RESULT line, tagged with its round
#   build-bench/bench-results.csv  median, min, max per figure and system
#   build-bench/bench-results.txt  the table, ratios to each anchor, targets
#   docs/performance-scale.png     latency and throughput against modules
#   docs/performance-storm.png     CPU per registration against N (storm)
# Workloads (--workloads, comma-separated): call hook tcpcall tcphook idle
# scale storm fair bulk fanin federation; all of them by default.
# --cpus LIST runs every process (servers and load) under taskset -c LIST,
# e.g. --cpus 0 to take cross-CPU wake-ups out of the latency figures.
# --juno-arg ARG adds an option to every juno the run starts (e.g.
# --juno-arg=--busy-poll=50); the report's machine section lists them.
# --report-only writes the report again from the bench-raw.txt and
# bench-machine.txt of an earlier run in the build directory, running
# nothing (the plots too, when gnuplot is there).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
quick=0
duration=""
warmup=""
payload=0
workloads="call hook tcpcall tcphook idle scale storm fair bulk fanin federation"
systems="juno nats dbus floor"
dir=build-bench
install=1
cpus=""
report_only=0
juno_args=""

usage () {
  sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; rounds=1 ;;
    --rounds) rounds="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --payload) payload="$2"; shift ;;
    --workloads) workloads="${2//,/ }"; shift ;;
    --systems) systems="${2//,/ }"; shift ;;
    --build-dir) dir="$2"; shift ;;
    --cpus) cpus="$2"; shift ;;
    --no-install) install=0 ;;
    --report-only) report_only=1 ;;
    --juno-arg) juno_args="$juno_args --server-arg $2"; shift ;;
    --juno-arg=*) juno_args="$juno_args --server-arg ${1#--juno-arg=}" ;;
    -h|--help) usage ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done

raw="$dir/bench-raw.txt"
machine="$dir/bench-machine.txt"
failures=0
rounds_run () {

# --- what the run needs ----------------------------------------------------
if [ "$install" = 1 ]; then
  want="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libjson-glib-dev gettext
        python3 nats-server libnats-dev dbus libdbus-1-dev gnuplot-nox"
  missing=""
  for p in $want; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "bench.sh: installing:$missing" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# --- build -------------------------------------------------------------------
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" --buildtype=release > "$dir.setup.log" 2>&1 ||
    { cat "$dir.setup.log" >&2; echo "bench.sh: meson setup failed" >&2; exit 1; }
  rm -f "$dir.setup.log"
fi
if ! ninja -C "$dir" > "$dir/bench-build.log" 2>&1; then
  tail -n 40 "$dir/bench-build.log" >&2
  echo "bench.sh: build failed" >&2
  exit 1
fi

juno="$dir/src/daemon/juno"
# the federation module of this build tree, for the brokers run with --nats
# (juno(8): JUNO_MODULE_DIR)
JUNO_MODULE_DIR="$(cd "$dir" && pwd)/src/federation"
export JUNO_MODULE_DIR
gen="$dir/tests/bench/juno-bench"
relay="$dir/tests/bench/juno-bench-relay"
for f in "$juno" "$gen" "$relay"; do
  [ -x "$f" ] || { echo "bench.sh: $f was not built" >&2; exit 1; }
done

common=(--payload "$payload")
if [ "$quick" = 1 ]; then
  common+=(--quick --modules 1000,10000 --scale 10,1000,10000 --storm 1000,10000)
fi
[ -n "$duration" ] && common+=(--duration "$duration")
[ -n "$warmup" ] && common+=(--warmup "$warmup")

pin=""
[ -n "$cpus" ] && pin="taskset -c $cpus "

command_for () {
  case "$1" in
    juno) echo "$gen --system juno --server $juno$juno_args" ;;
    floor) echo "$gen --system floor --server $relay" ;;
    nats)
      [ -x "$dir/tests/bench/juno-bench-nats" ] && command -v nats-server >/dev/null &&
        echo "$dir/tests/bench/juno-bench-nats --server $(command -v nats-server)" ;;
    federation)
      [ -x "$dir/tests/bench/juno-bench-federation" ] && command -v nats-server >/dev/null &&
        echo "$dir/tests/bench/juno-bench-federation --server $juno --nats-server $(command -v nats-server)$juno_args" ;;
    dbus)
      [ -x "$dir/tests/bench/juno-bench-dbus" ] && command -v dbus-daemon >/dev/null &&
        echo "$dir/tests/bench/juno-bench-dbus --server $(command -v dbus-daemon)" ;;
  esac
}

# --- the machine ---------------------------------------------------------------
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "juno: $("$juno" --version 2>&1 | head -1)"
  echo "nats-server: $(nats-server --version 2>&1 | head -1)"
  echo "libnats: $(pkg-config --modversion libnats 2>/dev/null || echo none)"
  echo "dbus-daemon: $(dbus-daemon --version 2>&1 | head -1)"
  echo "fd limit: $(ulimit -Hn) (hard)"
  echo "rounds: $rounds; options: ${common[*]}${cpus:+; cpus: $cpus}${juno_args:+; juno:${juno_args// --server-arg / }}"
} > "$machine"
cat "$machine" >&2
: > "$raw"

# --- the runs: round -> workload -> system, so drift hits every system -------
for round in $(seq 1 "$rounds"); do
  for w in $workloads; do
    run_systems=$systems
    # federation measures its three systems (nats, juno, federation) itself
    [ "$w" = federation ] && run_systems=federation
    for s in $run_systems; do
      cmd=$(command_for "$s") || true
      if [ -z "$cmd" ]; then
        echo "bench.sh: round $round: $s not available, skipped" >&2
        continue
      fi
      cmd="$pin$cmd"
      echo "bench.sh: round $round/$rounds: $w on $s" >&2
      # shellcheck disable=SC2086
      if ! $cmd --workload "$w" "${common[@]}" > "$dir/bench-last.txt"; then
        echo "bench.sh: round $round: $w on $s FAILED (partial figures kept)" >&2
        failures=$((failures + 1))
      fi
      sed -n "s/^RESULT /RESULT $round /p" "$dir/bench-last.txt" >> "$raw"
    done
  done
done
}

if [ "$report_only" = 1 ]; then
  for f in "$raw" "$machine"; do
    [ -s "$f" ] || { echo "bench.sh: --report-only: $f is missing or empty" >&2; exit 1; }
  done
  rounds=$(awk '{print $2}' "$raw" | sort -un | wc -l)
else
  rounds_run
fi

# --- the report ------------------------------------------------------------------
mkdir -p docs
python3 - "$raw" "$machine" "$dir" <<'PY'
import csv, statistics, sys, collections
raw, machine, out = sys.argv[1], sys.argv[2], sys.argv[3]
systems = ["juno", "nats", "dbus", "floor"]
anchors = ["nats", "dbus", "floor"]
vals = collections.defaultdict(list)          # (workload, param, metric, system) -> values
fed = collections.defaultdict(list)           # federation: (param, metric, system) -> values
order = []
for line in open(raw):
    f = line.split()
    if len(f) != 7:
        continue
    _, rnd, system, workload, param, metric, value = f
    # One run has one payload size; it is stated in the header instead.
    param = ",".join(x for x in param.split(",") if not x.startswith("payload="))
    if workload == "federation":
        fed[(param, metric, system)].append(float(value))
        continue
    key = (workload, param, metric)
    if key not in order:
        order.append(key)
    vals[key + (system,)].append(float(value))

def stat(key, system):
    v = vals.get(key + (system,))
    return (statistics.median(v), min(v), max(v), len(v)) if v else None

def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1e6: return "%.2fM" % (x / 1e6)
    if a >= 1e4: return "%.0fk" % (x / 1e3)
    if a >= 100: return "%.0f" % x
    return "%.3g" % x

workload_rank = {w: i for i, w in enumerate(["call", "hook", "tcpcall", "tcphook", "idle", "scale", "storm", "fair", "bulk", "fanin"])}
def sort_key(k):
    w, p, m = k
    num = 0
    for part in p.split(","):
        if "=" in part:
            try: num = int(part.split("=")[1]); break
            except ValueError: pass
    return (workload_rank.get(w, 9), num, p, m)
order.sort(key=sort_key)

with open(out + "/bench-results.csv", "w", newline="") as fh:
    wr = csv.writer(fh)
    wr.writerow(["workload", "param", "metric", "system", "median", "min", "max", "rounds"])
    for k in order:
        for s in systems:
            st = stat(k, s)
            if st:
                wr.writerow(list(k) + [s, "%.6g" % st[0], "%.6g" % st[1], "%.6g" % st[2], st[3]])

lines = []
lines.append("juno benchmark results (median [min-max] over rounds; ratio = juno / anchor)")
lines += ["  " + l.rstrip() for l in open(machine)]
lines.append("")
hdr = "%-7s %-32s %-33s" % ("work", "param", "metric") + "".join("%-24s" % s for s in systems) + "".join("%-10s" % ("/" + a) for a in anchors)
lines.append(hdr)
lines.append("-" * len(hdr))
for k in order:
    row = "%-7s %-32s %-33s" % k
    for s in systems:
        st = stat(k, s)
        row += "%-24s" % ("-" if not st else "%s [%s-%s]" % (fmt(st[0]), fmt(st[1]), fmt(st[2])))
    j = stat(k, "juno")
    for a in anchors:
        st = stat(k, a)
        row += "%-10s" % ("%.2fx" % (j[0] / st[0]) if j and st and st[0] else "-")
    lines.append(row)

def med(w, p, m, s="juno"):
    st = stat((w, p, m), s)
    return st[0] if st else None

def largest(w, metric):
    ns = sorted(int(p.split("=")[1]) for (ww, p, mm) in order if ww == w and mm == metric and p.startswith("modules=") and "," not in p and stat((ww, p, mm), "juno"))
    return ns[-1] if ns else None

targets = []
def target(name, value, limit, ok, shown):
    if ok == "figure":
        targets.append((name, shown, "(a figure)" if value else "not measured"))
        return
    targets.append((name, shown, "yes" if ok else ("NO" if ok is not None else "not measured")))

for param, label in (("inflight=1", "2 CPUs, free"), ("inflight=1,cpus=1", "all on 1 CPU")):
    p50, fl = med("call", param, "p50_us"), med("call", param, "p50_us", "floor")
    target("call latency p50 <= 1.1x floor (%s)" % label, p50, fl, (p50 <= 1.1 * fl) if p50 and fl else None,
           "%s us vs floor %s us (%.2fx)" % (fmt(p50), fmt(fl), p50 / fl) if p50 and fl else "-")
cps, ncps = med("call", "inflight=64", "calls_per_s"), med("call", "inflight=64", "calls_per_s", "nats")
fcps = med("call", "inflight=64", "calls_per_s", "floor")
target(">= 0.85x floor, 64 in flight", cps, fcps, (cps >= 0.85 * fcps) if cps and fcps else None,
       "%s vs floor %s calls/s (%.2fx)" % (fmt(cps), fmt(fcps), cps / fcps) if cps and fcps else "-")
target(">= 250 000 calls/s, 64 in flight", cps, 250000, (cps >= 250000) if cps else None, "%s calls/s" % fmt(cps))
target(">= 5x NATS request-reply, 64 in flight", cps, ncps, (cps >= 5 * ncps) if cps and ncps else None,
       "%.2fx NATS (%s)" % (cps / ncps, fmt(ncps)) if cps and ncps else "-")
d1, f1 = med("hook", "listeners=1", "deliveries_per_s"), med("hook", "listeners=1", "deliveries_per_s", "floor")
target(">= 0.6x floor, hook deliveries, 1 listener", d1, f1, (d1 >= 0.6 * f1) if d1 and f1 else None,
       "%s vs floor %s/s (%.2fx)" % (fmt(d1), fmt(f1), d1 / f1) if d1 and f1 else "-")
for k in (10, 100):
    dk, fk, nk = (med("hook", "listeners=%d" % k, "deliveries_per_s", s_) for s_ in ("juno", "floor", "nats"))
    target("hook deliveries, %d listeners" % k, dk, None, "figure",
           "%s/s: %.2fx floor, %.2fx NATS" % (fmt(dk), dk / fk, dk / nk) if dk and fk and nk else "-")
d, nd = med("hook", "listeners=10", "deliveries_per_s"), med("hook", "listeners=10", "deliveries_per_s", "nats")
target(">= 1 000 000 deliveries/s, 10 listeners", d, 1e6, (d >= 1e6) if d else None, "%s/s" % fmt(d))
target(">= NATS pub/sub, 10 listeners", d, nd, (d >= nd) if d and nd else None,
       "%.2fx NATS (%s/s)" % (d / nd, fmt(nd)) if d and nd else "-")
rss0, anon0 = med("idle", "modules=0", "rss_kb"), med("idle", "modules=0", "rss_anon_kb")
gio0 = med("idle", "modules=0", "gio_floor_rss_kb")
target("broker RSS idle, D-Bus connected <= 3 MB", rss0, 3072, (rss0 <= 3072) if rss0 else None,
       "%s kB VmRSS (of which RssAnon %s kB)%s" % (fmt(rss0), fmt(anon0),
       "; the smallest GIO service on the same bus: %s kB (juno = %.2fx, +%s kB)" % (
           fmt(gio0), rss0 / gio0, fmt(rss0 - gio0)) if rss0 and gio0 else ""))
priv0, nbanon, nbpriv = med("idle", "modules=0", "private_kb"), med("idle", "modules=0", "nobus_rss_anon_kb"), med("idle", "modules=0", "nobus_private_kb")
target("juno idle, D-Bus connected: private <= 1 MB", priv0, 1024, (priv0 <= 1024) if priv0 else None,
       "%s kB Private_Dirty (RssAnon %s kB, Pss %s kB, VmRSS %s kB)" % (
           fmt(priv0), fmt(anon0), fmt(med("idle", "modules=0", "pss_kb")), fmt(rss0)) if priv0 else "-")
target("juno idle, no D-Bus: RssAnon <= 368 kB", nbanon, 368, (nbanon <= 368) if nbanon else None,
       "%s kB RssAnon (Private_Dirty %s kB, Pss %s kB, VmRSS %s kB)" % (
           fmt(nbanon), fmt(nbpriv), fmt(med("idle", "modules=0", "nobus_pss_kb")),
           fmt(med("idle", "modules=0", "nobus_rss_kb"))) if nbanon else "-")
pb = med("idle", "modules=10000", "private_bytes_per_module")
target("private per idle module <= 1 KB at 10 000", pb, 1024, (pb <= 1024) if pb else None,
       "%s bytes Private_Dirty per module (VmRSS: %s)" % (
           fmt(pb), fmt(med("idle", "modules=10000", "bytes_per_module"))) if pb else "-")
for w, p, m, what in (("tcpcall", "inflight=64", "calls_per_s", "calls/s, 64 in flight"),
                      ("tcphook", "listeners=10", "deliveries_per_s", "deliveries/s, 10 listeners")):
    j, nv = med(w, p, m), med(w, p, m, "nats")
    target("TCP: >= NATS, %s" % what, j, nv, (j >= nv) if j and nv else None,
           "%s vs NATS %s (%.2fx); floor over TCP %s" % (fmt(j), fmt(nv), j / nv, fmt(med(w, p, m, "floor")))
           if j and nv else "-")
storm_ns = sorted({int(p.split(",")[0].split("=")[1]) for (w, p, m) in order if w == "storm" and stat((w, p, m), "juno")})
if storm_ns:
    big, small = storm_ns[-1], storm_ns[0]
    r, nr = med("storm", "modules=%d,shape=flat" % big, "registrations_per_s"), med("storm", "modules=%d,shape=flat" % big, "registrations_per_s", "nats")
    target("storm, D-Bus on: registrations/s >= NATS connects", r, nr, (r >= nr) if r and nr else None,
           "%s/s vs NATS %s/s at %d modules (%.2fx)" % (fmt(r), fmt(nr), big, r / nr) if r and nr else "-")
    for shape in ("flat", "star"):
        sig = [(int(p.split(",")[0].split("=")[1]), med(w, p, m)) for (w, p, m) in order
               if w == "storm" and m == "bus_signals_per_registration" and p.endswith("shape=" + shape)]
        if sig:
            nn, v = sig[0]
            target("storm, %s: D-Bus signals coalesce (<= 1 per registration)" % shape, v, 1, v <= 1,
                   "%.2f signals per registration at %d modules" % (v, nn))
    a = med("storm", "modules=%d,shape=star" % big, "after_last_ms")
    target("storm, star: all active <= 1 s after the last", a, 1000, (a <= 1000) if a is not None and big >= 10000 else None,
           "%s ms at %d modules" % (fmt(a), big) if a is not None else "-")
    for shape in ("flat", "chain", "star"):
        for bus in ("", ",nobus"):
            c0 = med("storm", "modules=%d,shape=%s%s" % (small, shape, bus), "server_cpu_us_per_registration")
            c1 = med("storm", "modules=%d,shape=%s%s" % (big, shape, bus), "server_cpu_us_per_registration")
            target("storm, %s%s: CPU/registration flat in N" % (shape, bus and " no D-Bus"), c1, c0,
                   (c1 <= 1.5 * c0) if c0 and c1 and big > small else None,
                   "%s us at %d, %s us at %d (%.2fx)" % (fmt(c0), small, fmt(c1), big, c1 / c0) if c0 and c1 else "-")
q = med("fair", "load=flood", "quiet_p99_over_unloaded")
target("fair: quiet p99 under a flood <= 3x unloaded", q, 3, (q <= 3) if q else None,
       "%.2fx (%s us alone, %s us beside %s calls/s)" % (
           q, fmt(med("fair", "load=none", "quiet_p99_us")), fmt(med("fair", "load=flood", "quiet_p99_us")),
           fmt(med("fair", "load=flood", "flood_calls_per_s"))) if q else "-")
for size in (65536, 1048576):
    j, fl = med("bulk", "size=%d,inflight=1" % size, "mib_per_s"), med("bulk", "size=%d,inflight=1" % size, "mib_per_s", "floor")
    target("bulk %s arguments: MiB/s against the floor" % ("64 KiB" if size == 65536 else "1 MiB"), j, fl, "figure",
           "%s MiB/s vs floor %s MiB/s (%.2fx), 1 in flight" % (fmt(j), fmt(fl), j / fl) if j and fl else "-")
n = largest("idle", "bytes_per_module")
bpm = med("idle", "modules=%d" % n, "bytes_per_module") if n else None
target("RSS per idle module <= 4 KB", bpm, 4096, (bpm <= 4096) if bpm else None,
       "%s bytes at %d modules" % (fmt(bpm), n) if bpm else "-")
n = largest("scale", "p50_us")
if n:
    l0, l1 = med("scale", "modules=10", "p50_us"), med("scale", "modules=%d" % n, "p50_us")
    c0, c1 = med("scale", "modules=10", "calls_per_s"), med("scale", "modules=%d" % n, "calls_per_s")
    flat = l0 and l1 and c0 and c1 and l1 <= 1.25 * l0 and c1 >= 0.8 * c0
    target("100 000 modules, per-message cost flat", None, None,
           (flat if n >= 100000 else None) if l0 and c0 else None,
           "at %d modules: p50 %.2fx, calls/s %.2fx of 10 modules%s" % (
               n, l1 / l0, c1 / c0, "" if n >= 100000 else " (100 000 not reachable: fd limit; flat up to %d: %s)" % (n, "yes" if flat else "NO")))
else:
    target("100 000 modules, per-message cost flat", None, None, None, "-")

lines.append("")
lines.append("targets (juno)")
for name, shown, ok in targets:
    lines.append("  %-50s %-14s %s" % (name, ok, shown))

# Federation: juno-bench-federation's three systems, same nats-server.
def fmed(param, metric, system):
    v = fed.get((param, metric, system))
    return statistics.median(v) if v else None

def fcell(param, metric, system):
    v = fed.get((param, metric, system))
    return "%s [%s-%s]" % (fmt(statistics.median(v)), fmt(min(v)), fmt(max(v))) if v else "-"

if fed:
    with open(out + "/bench-results.csv", "a", newline="") as fh:
        wr = csv.writer(fh)
        for (p, m, s), v in sorted(fed.items()):
            wr.writerow(["federation", p, m, s, "%.6g" % statistics.median(v), "%.6g" % min(v), "%.6g" % max(v), len(v)])
    fsys = (("federation", "cross-broker juno"), ("nats", "NATS request-reply"), ("juno", "local juno hop"))
    lines.append("")
    lines.append("federation: a call from broker bench-1 to a module on bench-2 through one nats-server")
    lines.append("%-12s %-12s" % ("param", "metric") + "".join("%-26s" % label for _, label in fsys))
    for param, metric in sorted({(p, m) for (p, m, s) in fed}, key=lambda k: (int(k[0].split("=")[1]) if k[0].split("=")[-1].isdigit() else 0, k[1])):
        lines.append("%-12s %-12s" % (param, metric) + "".join("%-26s" % fcell(param, metric, s) for s, _ in fsys))
    x, nr, lo = fmed("inflight=1", "p50_us", "federation"), fmed("inflight=1", "p50_us", "nats"), fmed("inflight=1", "p50_us", "juno")
    ok = (x <= 1.3 * (nr + lo)) if x and nr and lo else None
    lines.append("  %-50s %-14s %s" % ("cross-broker RTT p50 <= 1.3x (NATS + local hop)",
                 "yes" if ok else ("NO" if ok is not None else "not measured"),
                 "%s us vs %s + %s us (%.2fx)" % (fmt(x), fmt(nr), fmt(lo), x / (nr + lo)) if ok is not None else "-"))
    x, nr = fmed("inflight=64", "calls_per_s", "federation"), fmed("inflight=64", "calls_per_s", "nats")
    ok = (x >= 0.8 * nr) if x and nr else None
    lines.append("  %-50s %-14s %s" % ("cross-broker calls/s >= 0.8x NATS, 64 in flight",
                 "yes" if ok else ("NO" if ok is not None else "not measured"),
                 "%s vs %s calls/s (%.2fx)" % (fmt(x), fmt(nr), x / nr) if ok is not None else "-"))
open(out + "/bench-results.txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

# Storm plot data: modules, then juno's server CPU per registration for
# each shape, with and without D-Bus, and NATS's per connection.
with open(out + "/bench-storm.dat", "w") as fh:
    cols = [(s_, b) for s_ in ("flat", "chain", "star") for b in ("", ",nobus")]
    fh.write("# modules " + " ".join("juno_%s%s" % (s_, b.replace(",", "_")) for s_, b in cols) + " nats_flat\n")
    for n in storm_ns:
        row = [str(n)]
        for s_, b in cols:
            v = med("storm", "modules=%d,shape=%s%s" % (n, s_, b), "server_cpu_us_per_registration")
            row.append("%.6g" % v if v is not None else "NaN")
        v = med("storm", "modules=%d,shape=flat" % n, "server_cpu_us_per_registration", "nats")
        row.append("%.6g" % v if v is not None else "NaN")
        fh.write(" ".join(row) + "\n")

# Scale plot data: modules, then p50 and calls/s for each system.
ns = sorted({int(p.split("=")[1]) for (w, p, m) in order if w == "scale" and p.startswith("modules=") and "," not in p})
with open(out + "/bench-scale.dat", "w") as fh:
    fh.write("# modules " + " ".join(s + "_p50_us" for s in systems) + " " + " ".join(s + "_calls_per_s" for s in systems) + "\n")
    for n in ns:
        row = [str(n)]
        for m in ("p50_us", "calls_per_s"):
            for s in systems:
                v = med("scale", "modules=%d" % n, m, s)
                row.append("%.6g" % v if v is not None else "NaN")
        fh.write(" ".join(row) + "\n")
PY

# Plot only when the scale workload ran (the file has more than its header).
if command -v gnuplot >/dev/null && [ "$(wc -l < "$dir/bench-scale.dat")" -gt 1 ]; then
  gnuplot <<EOF
set terminal pngcairo size 1200,480 font "sans,10" noenhanced
set output "docs/performance-scale.png"
set multiplot layout 1,2 title "juno vs anchors with N idle modules connected ($(nproc) CPUs, median of $rounds round(s))"
set logscale x
set grid
set key top left
set xlabel "idle modules connected"
set ylabel "call latency p50, 1 in flight (us, log scale)"
set logscale y
plot for [i=2:5] "$dir/bench-scale.dat" using 1:i with linespoints lw 2 title word("juno nats dbus floor", i - 1)
set ylabel "calls per second, 64 in flight"
unset logscale y
set yrange [0:*]
set format y "%.1s%c"
plot for [i=6:9] "$dir/bench-scale.dat" using 1:i with linespoints lw 2 title word("juno nats dbus floor", i - 5)
unset multiplot
EOF
  echo "bench.sh: wrote docs/performance-scale.png" >&2
fi
if command -v gnuplot >/dev/null && [ -f "$dir/bench-storm.dat" ] && [ "$(wc -l < "$dir/bench-storm.dat")" -gt 2 ]; then
  gnuplot <<EOF
set terminal pngcairo size 800,480 font "sans,10" noenhanced
set output "docs/performance-storm.png"
set title "registration storm: server CPU per registration against N ($(nproc) CPUs, median of $rounds round(s))"
set logscale x
set grid
set key top left
set xlabel "modules registering at once"
set ylabel "server CPU time per registration (us)"
set yrange [0:*]
plot for [i=2:8] "$dir/bench-storm.dat" using 1:i with linespoints lw 2 title word("juno-flat juno-flat-nobus juno-chain juno-chain-nobus juno-star juno-star-nobus nats-connect", i - 1)
EOF
  echo "bench.sh: wrote docs/performance-storm.png" >&2
fi
echo "bench.sh: results in $dir/bench-results.txt and $dir/bench-results.csv" >&2
[ "$failures" -eq 0 ] || echo "bench.sh: $failures run(s) failed; see above" >&2
exit $(( failures > 0 ))
