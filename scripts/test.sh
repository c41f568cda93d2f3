#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets up what is missing, builds juno and runs every test suite (unit,
# integration) against the built binary. JUNO_BUILD_DIR picks the build
# directory (default: build); extra arguments go to meson setup;
# JUNO_TEST_ARGS, words added to meson test's command line, picks suites
# or tests (for example "--suite dbus --suite client"). Run as root or as a
# user with sudo: tests that need root get it through sudo -n.
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
# shellcheck disable=SC2086 # JUNO_TEST_ARGS is a list of words
meson test -C "$dir" --print-errorlogs --num-processes 2 ${JUNO_TEST_ARGS:-}
