#!/bin/sh
# Runs every fuzz target for SECONDS seconds each (default 30) and prints,
# per target, the executions, the corpus size and the crashes.  Fails on
# any crash, leak, timeout or sanitizer report.
#
#   tests/fuzz/run-fuzzers.sh [SECONDS] [TARGET...]
#
# Builds build-fuzz (clang, -Dfuzzing=true, ASan+UBSan) when missing.
# New inputs found go to build-fuzz/fuzz-corpus/TARGET (not committed); a
# crashing input is written to build-fuzz/fuzz-artifacts/TARGET/ — fix the
# bug, add a regression test, and copy the input to
# tests/fuzz/corpus/TARGET/crash-<what> so every build replays it.
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-"pipeline schema safetensors registry-cache idx wfdb-header wfdb-record wfdb-annotations csv"}
build=${LETHE_FUZZ_BUILD:-build-fuzz}

if [ ! -d "$build" ]; then
  CC=clang meson setup "$build" -Dfuzzing=true -Db_sanitize=address,undefined \
    -Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$build" $(for t in $targets; do printf 'tests/fuzz/fuzz-%s ' "$t"; done) >/dev/null ||
  { ninja -C "$build"; exit 1; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export G_SLICE=always-malloc
export LETHE_SCHEMA_PATH="$PWD/schemas"
status=0
printf '%-18s %12s %8s %8s\n' target executions corpus crashes
for t in $targets; do
  work="$build/fuzz-corpus/$t"
  art="$build/fuzz-artifacts/$t"
  mkdir -p "$work" "$art"
  log="$build/fuzz-artifacts/$t.log"
  "$build/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$art/" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(ls "$work" | wc -l)
  # A leak report whose input does not leak when replayed alone (libFuzzer
  # flags leaks from malloc/free counts across runs, and one-time library
  # initialisation can trip it) is kept but not counted; any other artifact,
  # and any leak that replays, is a failure.
  for leak in "$art"/leak-*; do
    [ -e "$leak" ] || continue
    if "$build/tests/fuzz/fuzz-$t" -runs=3 "$leak" >"$leak.replay" 2>&1; then
      echo "note: $t: leak report not reproducible on replay, kept as $leak.unconfirmed" >&2
      mv "$leak" "$leak.unconfirmed"
      grep -v 'ERROR: LeakSanitizer\|SUMMARY: AddressSanitizer: .* leaked' "$log" >"$log.tmp"
      mv "$log.tmp" "$log"
      rc=0
    fi
    rm -f "$leak.replay"
  done
  crashes=$(ls "$art" | grep -vc '\.unconfirmed$')
  if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ] ||
       grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    status=1
    [ "$crashes" -eq 0 ] && crashes="rc=$rc"
    echo "--- $t failed (log: $log):" >&2
    grep -E -A12 'ERROR:|runtime error:|CRITICAL' "$log" | head -n 40 >&2
  fi
  printf '%-18s %12s %8s %8s\n' "$t" "${execs:-?}" "$corpus" "$crashes"
done
exit $status
