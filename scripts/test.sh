#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets up what is missing, builds juno and runs every test suite (unit,
# integration) against the built binary. JUNO_BUILD_DIR picks the build
# directory (default: build); extra arguments go to meson setup.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test
dir="${JUNO_BUILD_DIR:-build}"
if [ -f "$dir/build.ninja" ]; then
  [ $# -eq 0 ] || meson configure "$dir" "$@" >/dev/null
else
  meson setup "$dir" "$@" >/dev/null
fi
ninja -C "$dir"
meson test -C "$dir" --print-errorlogs --num-processes 2
