#!/bin/sh
# Runs tests/bench/dataflow and the equivalent GStreamer pipeline
# (fakesrc, ten identity elements, fakesink; 200,000 buffers of 4 KiB) and
# prints both figures and their ratio.  GStreamer's time is taken as the
# wall time of the full run minus that of a one-buffer run (start-up:
# registry, plugin loading), so both sides count streaming only.
#
# Usage: tests/bench/run-dataflow.sh [BUILD_DIR]   (default: build)
# Needs gst-launch-1.0 for the comparison (apt-get install gstreamer1.0-tools).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
frames=200000
nodes=10

export LETHE_PLUGIN_SYSTEM_PATH="$build/plugins/io/coreelements"
export LETHE_SCHEMA_PATH="$src/schemas"
export XDG_CACHE_HOME="${XDG_CACHE_HOME:-$build/test-cache}"

lethe_line=$("$build/tests/bench/dataflow" "$frames" "$nodes")
echo "lethe:     $lethe_line"
lethe_hops=$(echo "$lethe_line" | sed -n 's/.*hops_per_s=\([0-9.]*\).*/\1/p')

if ! command -v gst-launch-1.0 >/dev/null 2>&1; then
  echo "gstreamer: gst-launch-1.0 not installed (apt-get install gstreamer1.0-tools); no comparison"
  exit 0
fi

chain=""
i=0
while [ $i -lt $nodes ]; do
  chain="$chain ! identity"
  i=$((i + 1))
done

now() { date +%s.%N; }
gst_run() {
  # shellcheck disable=SC2086
  gst-launch-1.0 -q fakesrc num-buffers="$1" sizetype=2 sizemax=4096 $chain ! fakesink >/dev/null
}
gst_run 1 # warm the registry
t0=$(now); gst_run 1; t1=$(now)
t2=$(now); gst_run "$frames"; t3=$(now)
gst_seconds=$(echo "($t3 - $t2) - ($t1 - $t0)" | bc -l)
gst_hops=$(echo "$frames * $nodes / $gst_seconds" | bc -l)
printf 'gstreamer: frames=%d nodes=%d seconds=%.3f hops_per_s=%.0f\n' "$frames" "$nodes" \
  "$gst_seconds" "$gst_hops"
printf 'ratio lethe/gstreamer: %.2f\n' "$(echo "$lethe_hops / $gst_hops" | bc -l)"
