#!/bin/bash
# Runs the libFuzzer targets of tests/fuzz, one after the other.
#
#   scripts/fuzz.sh [-t SECONDS] [-b BUILD_DIR] [TARGET...]
#
# Builds BUILD_DIR (default build-fuzz) with clang, -Dfuzzing=true and
# ASan+UBSan if it does not exist, then runs each TARGET (default: all) for
# SECONDS (default 30) on a scratch copy of its corpus, tests/fuzz/corpus/
# TARGET/, which is only read. Prints libFuzzer's last status line per
# target. A crash, leak or timeout stops the run with status 1 and leaves
# the reproducer in the scratch folder named in the output: copy it to
# tests/fuzz/corpus/TARGET/crash-NAME once the bug is fixed, and the test
# suite (meson test --suite fuzz) replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
build=build-fuzz
while getopts "t:b:h" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    b) build=$OPTARG ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(message normalize semver dependencies broker federation)

if [ ! -d "$build" ]; then
  CC=clang meson setup "$build" -Dfuzzing=true -Dtests=false -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" $(printf 'tests/fuzz/fuzz-%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/juno-fuzz.XXXXXX")
status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  log="$scratch/$t.log"
  if "$build/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$scratch/$t/" "$scratch/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz-$t: $(grep -E '^#[0-9]+' "$log" | tail -1)"
  else
    echo "fuzz-$t: FAILED, see $log and $scratch/$t/"
    grep -E 'ERROR|SUMMARY|invariant' "$log" | head -5 || true
    status=1
  fi
done
[ $status -eq 0 ] && rm -rf "$scratch"
exit $status
