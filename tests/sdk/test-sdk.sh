#!/bin/sh
# The install layout and the plugin SDK, tested from an installed copy:
#  1. `meson install --destdir` puts every file where DESIGN.md says, with a
#     pre-generated registry cache;
#  2. every installed header compiles on its own;
#  3. the installed `lethe` finds its own plugins and schemas with no
#     environment variable (relative to liblethe), without rescanning, and
#     rescans a plugin file that changed since the cache was written;
#  4. the example plugin of docs/examples/scale builds out of tree against
#     the installed headers only (pkg-config lethe-1), passes its own test,
#     installs into `pluginsdir`, loads through LETHE_PLUGIN_PATH and runs
#     in a pipeline with built-in nodes;
#  5. bad input from the installed tree: a corrupt pre-generated cache, a
#     plugin folder writable by others, a plugin built for a newer ABI
#     minor, a plugin with an unresolved symbol.
# Needs LETHE_BUILD_ROOT and LETHE_SOURCE_ROOT (set by tests/meson.build).
set -eu

fail() { echo "FAIL: $*" >&2; exit 1; }
contains() { grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 lacks '$2'"; }; }

build=$LETHE_BUILD_ROOT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lethe-sdk.XXXXXX")
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
dest=$tmp/dest

# ---- 1. layout ------------------------------------------------------------
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install"; }
pc=$(find "$dest" -name lethe-1.pc)
[ -n "$pc" ] || fail "lethe-1.pc not installed"
prefix=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=prefix lethe-1)
root=$dest$prefix
# lethe-1.pc moved with the copy under $dest, as a real prefix would have it
# (--define-variable would move glib's too).
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$root|" "$pc" >"$tmp/pc/lethe-1.pc"
pcdir=$tmp/pc
pkgconf() { PKG_CONFIG_PATH=$pcdir pkg-config "$@"; }
libdir=$(pkgconf --variable=libdir lethe-1)
pluginsdir=$(pkgconf --variable=pluginsdir lethe-1)
schemasdir=$(pkgconf --variable=schemasdir lethe-1)
includedir=$(pkgconf --variable=includedir lethe-1)

[ "$pluginsdir" = "$libdir/lethe-1/plugins" ] || fail "pluginsdir is $pluginsdir"
[ "$schemasdir" = "$root/share/lethe-1/schemas" ] || fail "schemasdir is $schemasdir"
[ "$(pkgconf --modversion lethe-1)" = "$(cat "$build/meson-info/intro-projectinfo.json" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" ] || fail "pc version"
for f in "$root/bin/lethe" "$libdir/liblethe-1.so" "$includedir/lethe-1/lethe/lethe.h" \
  "$includedir/lethe-1/lethe/plugin.h" "$includedir/lethe-1/lethe/check.h" \
  "$includedir/lethe-1/lethe/version.h" "$schemasdir/dataset.schema" \
  "$pluginsdir/registry.bin" "$root/share/man/man5/lethe-pipeline.5" \
  "$root/share/man/man7/lethe-plugin.7"; do
  [ -e "$f" ] || fail "not installed: ${f#"$dest"}"
done
soname=$(objdump -p "$libdir/liblethe-1.so" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = liblethe-1.so.0 ] || fail "SONAME is '$soname', expected liblethe-1.so.0"
[ -n "$(ls "$pluginsdir"/*.so)" ] || fail "no plugin installed in $pluginsdir"
echo "layout: ok (prefix $prefix, $(ls "$pluginsdir"/*.so | wc -l) plugins)"

# ---- 2. every header alone --------------------------------------------------
cflags=$(pkgconf --cflags lethe-1)
for h in "$includedir"/lethe-1/lethe/*.h; do
  name=lethe/$(basename "$h")
  # shellcheck disable=SC2086
  printf '#include <%s>\n#include <%s>\n' "$name" "$name" |
    cc -std=c11 -Wall -Wextra -Werror -Wstrict-prototypes -fsyntax-only $cflags -x c - ||
    fail "$name does not compile on its own"
done
echo "headers: $(ls "$includedir"/lethe-1/lethe/*.h | wc -l) compile alone"

# ---- 3. the installed command finds its own files --------------------------
home=$tmp/home
mkdir -p "$home"
# Nothing but the loader's path to the copied library (a real install in
# $prefix needs not even that); no LETHE_* variable at all.
lethe_clean() {
  env -i PATH=/usr/bin:/bin HOME="$home" XDG_CACHE_HOME="$home/cache" \
    LD_LIBRARY_PATH="$libdir" "$root/bin/lethe" "$@"
}
lethe_clean --version >"$tmp/version" || fail "lethe --version"
contains "$tmp/version" "lethe $(pkgconf --modversion lethe-1)"
lethe_clean registry >"$tmp/registry"
contains "$tmp/registry" "$pluginsdir"
# The scanner of this copy, not of some installation at the configured place.
grep -q "^Scanner: *$dest/.*/lethe-plugin-scanner\$" "$tmp/registry" ||
  { cat "$tmp/registry"; fail "the copied lethe does not use its own scanner"; }
lethe_clean inspect >"$tmp/inspect" || fail "lethe inspect"
n_files=$(ls "$pluginsdir"/*.so | wc -l)
contains "$tmp/inspect" "Total: $n_files plugins"
lethe_clean inspect synthetic-source >"$tmp/inspect-node" || fail "lethe inspect synthetic-source"
contains "$tmp/inspect-node" "fill"
# The pre-generated cache answers: with a scanner that always fails, every
# plugin is still listed.
env -i PATH=/usr/bin:/bin HOME="$home" XDG_CACHE_HOME="$home/cache2" LETHE_SCANNER=/bin/false \
  LD_LIBRARY_PATH="$libdir" "$root/bin/lethe" inspect >"$tmp/inspect-cached"
contains "$tmp/inspect-cached" "Total: $n_files plugins"
# A plugin file that changed after the cache was written is rescanned (here
# by the failing scanner, which shows it was), then found again by the real one.
touch "$pluginsdir/coreelements.so"
env -i PATH=/usr/bin:/bin HOME="$home" XDG_CACHE_HOME="$home/cache3" LETHE_SCANNER=/bin/false \
  LD_LIBRARY_PATH="$libdir" "$root/bin/lethe" inspect --failed >"$tmp/inspect-changed" 2>&1 || true
contains "$tmp/inspect-changed" "the plugin scanner failed on '$pluginsdir/coreelements.so'"
lethe_clean inspect >"$tmp/inspect-rescanned" || fail "lethe inspect after a change"
contains "$tmp/inspect-rescanned" "Total: $n_files plugins"
echo "relocated install: ok ($n_files plugins, schemas from ${schemasdir#"$dest"})"

# ---- 4. the example plugin, out of tree -------------------------------------
cp -r "$LETHE_SOURCE_ROOT/docs/examples/scale" "$tmp/scale"
cat >"$tmp/native.ini" <<INI
[built-in options]
pkg_config_path = '$pcdir'
INI
# The compiler sees the installed headers and nothing of the source tree.
(cd "$tmp" && meson setup scale-build scale --native-file native.ini >"$tmp/setup.log" 2>&1) ||
  { cat "$tmp/setup.log"; fail "meson setup of the example"; }
ninja -C "$tmp/scale-build" >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; fail "example build"; }
if grep -F -- "$LETHE_SOURCE_ROOT" "$tmp/scale-build/compile_commands.json" >/dev/null; then
  fail "the example's compile commands name the source tree"
fi
LD_LIBRARY_PATH=$libdir meson test -C "$tmp/scale-build" --no-rebuild >"$tmp/test.log" 2>&1 ||
  { cat "$tmp/test.log" "$tmp/scale-build/meson-logs/testlog.txt"; fail "the example's own test"; }
meson install -C "$tmp/scale-build" --destdir "$tmp/scale-dest" --no-rebuild --quiet >/dev/null
mine=$tmp/scale-dest$pluginsdir
[ -f "$mine/scale.so" ] || fail "the example did not install into pluginsdir"

lethe_mine() {
  env -i PATH=/usr/bin:/bin HOME="$home" XDG_CACHE_HOME="$home/cache" \
    LD_LIBRARY_PATH="$libdir" LETHE_PLUGIN_PATH="$mine" "$root/bin/lethe" "$@"
}
lethe_mine inspect scale >"$tmp/inspect-scale" || fail "lethe inspect scale"
contains "$tmp/inspect-scale" "factor"
lethe_mine validate "$tmp/scale/scale.lethe" >"$tmp/validate" 2>&1 ||
  { cat "$tmp/validate"; fail "lethe validate scale.lethe"; }
if lethe_mine run --help >/dev/null 2>&1; then
  lethe_mine run --quiet -o "$tmp/run" "$tmp/scale/scale.lethe" >"$tmp/run.log" 2>&1 ||
    { cat "$tmp/run.log"; fail "lethe run scale.lethe"; }
  python3 - "$tmp/run/metrics.jsonl" <<'PY' || fail "metrics of the scale pipeline"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
maxima = sorted(r["value"] for r in rows if r["node"] == "stats" and r["name"] == "max")
assert maxima == [30.0, 30.0, 30.0], maxima
PY
  echo "example plugin: built out of tree, tested, installed, run in a pipeline"
else
  echo "example plugin: built out of tree, tested, installed, validated ('lethe run' absent)"
fi

# ---- 5. bad input -----------------------------------------------------------
# A corrupt pre-generated cache is ignored (and the plugins rescanned).
chmod u+w "$pluginsdir"
head -c 300 /dev/urandom >"$pluginsdir/registry.bin"
lethe_clean inspect >"$tmp/inspect-corrupt" 2>&1 || fail "lethe inspect with a corrupt cache"
contains "$tmp/inspect-corrupt" "Total: $n_files plugins"

# A newer ABI minor and an unresolved symbol, built against the installed headers.
bad=$tmp/bad
mkdir -p "$bad"
cat >"$bad/newer.c" <<'C'
#include <lethe/plugin.h>
static const LetheNodeType *const types[] = {NULL};
static const LethePluginInfo info = {.abi_major = LETHE_ABI_MAJOR, .abi_minor = LETHE_ABI_MINOR + 1,
  .name = "newer", .version = "1", .license = "MIT", .description = "d", .node_types = types};
LETHE_PLUGIN_DEFINE(info)
C
cat >"$bad/unresolved.c" <<'C'
#include <lethe/plugin.h>
void lethe_function_from_the_future(void);
static const LetheNodeType *const types[] = {NULL};
static const LethePluginInfo info = {.abi_major = LETHE_ABI_MAJOR, .abi_minor = LETHE_ABI_MINOR,
  .name = "unresolved", .version = "1", .license = "MIT", .description = "d", .node_types = types};
const LethePluginInfo *lethe_plugin_v1(void)
{
  lethe_function_from_the_future();
  return &info;
}
C
for p in newer unresolved; do
  # shellcheck disable=SC2046
  cc -shared -fPIC -o "$bad/$p.so" "$bad/$p.c" $cflags $(pkgconf --libs lethe-1) || fail "cc $p"
done
env -i PATH=/usr/bin:/bin HOME="$home" XDG_CACHE_HOME="$home/cache" LD_LIBRARY_PATH="$libdir" \
  "$root/bin/lethe" inspect --failed --plugin-path "$bad" >"$tmp/failed" 2>&1 || true
contains "$tmp/failed" "newer.so' was built for plugin ABI"
contains "$tmp/failed" "newer than this Lethe's ABI"
contains "$tmp/failed" "$bad/unresolved.so"
contains "$tmp/failed" "undefined symbol: lethe_function_from_the_future"

# A folder writable by others is refused as a whole, with the fix.
chmod 0777 "$bad"
env -i PATH=/usr/bin:/bin HOME="$home" XDG_CACHE_HOME="$home/cache" LD_LIBRARY_PATH="$libdir" \
  "$root/bin/lethe" inspect --failed --plugin-path "$bad" >"$tmp/failed-ow" 2>&1 || true
contains "$tmp/failed-ow" "is writable by others (mode 0777)"
contains "$tmp/failed-ow" "chmod o-w"
echo "bad input: corrupt cache, newer ABI minor, unresolved symbol, o+w folder: ok"
