#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets up what is missing, builds juno and runs it in the foreground on its
# default socket ($XDG_RUNTIME_DIR/juno.sock, /run/juno/juno.sock as root).
# Extra arguments go to juno, e.g. scripts/run.sh -p 2203 -V
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec build/src/daemon/juno "$@"
