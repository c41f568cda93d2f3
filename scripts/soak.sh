#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/soak.sh [MINUTES] [BUILD_DIR]: minutes (default 5) of mixed traffic
# against the broker built in BUILD_DIR (default build): calls (answered,
# slow, timed out, to callees that leave), hooks to readers and to listeners
# that never read, and connection churn. Exits non-zero unless every call got
# exactly one answer and the broker stopped cleanly. Extra options for the
# driver go in SOAK_ARGS, e.g. SOAK_ARGS="--seed 42".
set -eu

minutes=${1:-5}
build=${2:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ ! -x "$build/src/daemon/juno" ]; then
  meson setup "$build" -Dwerror=true
fi
ninja -C "$build" src/daemon/juno

# shellcheck disable=SC2086
exec python3 "$top/scripts/soak.py" --broker "$build/src/daemon/juno" --minutes "$minutes" ${SOAK_ARGS:-}
