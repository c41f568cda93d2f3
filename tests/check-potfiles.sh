#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every source file that marks strings for translation must be listed in
# po/POTFILES.in, or its strings never reach the translators.
set -eu
top="${1:-$(dirname "$0")/..}"
cd "$top"
status=0
for f in $(grep -rlE '\b(_|N_|C_|NC_)\(' --include='*.c' src libjuno tools 2>/dev/null | sort); do
  if ! grep -qxF "$f" po/POTFILES.in; then
    echo "not in po/POTFILES.in: $f"
    status=1
  fi
done
for f in $(grep -v '^#' po/POTFILES.in); do
  if [ ! -f "$f" ]; then
    echo "listed in po/POTFILES.in but missing: $f"
    status=1
  fi
done
[ $status -eq 0 ] && echo "po/POTFILES.in lists every translatable source"
exit $status
