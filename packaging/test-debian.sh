#!/bin/sh
# Builds Lethe's Debian packages from a copy of the tree, checks them with
# lintian (no error allowed), installs them for real, runs the installed
# command and a pipeline, builds the example plugin against the installed
# liblethe-dev, then purges everything and checks nothing is left behind.
# Needs root (or sudo) and the packages of `scripts/install-deps packaging`.
# Leaves its logs and .debs in $LETHE_DEB_OUT (default: a temporary folder).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test-debian: needs root or sudo" >&2; exit 77; }
  SUDO=sudo
fi
for tool in dpkg-buildpackage dh lintian fakeroot; do
  command -v $tool >/dev/null || { echo "test-debian: $tool missing (scripts/install-deps packaging)" >&2; exit 77; }
done

out=${LETHE_DEB_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/lethe-deb.XXXXXX")}
keep=${LETHE_DEB_OUT:+yes}
mkdir -p "$out"
work=$out/work
rm -rf "$work"
mkdir -p "$work"
PACKAGES="liblethe-1-0 liblethe-dev lethe lethe-plugins-methods"
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '%s  %s\n' "$(date +%T)" "$*"; }
cleanup() {
  # Never leave the packages installed, whatever failed.
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PACKAGES >/dev/null 2>&1 || true
  [ -n "$keep" ] || rm -rf "$out"
}
trap cleanup EXIT

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -1)
tree=$work/lethe-$version

# ---- build ---------------------------------------------------------------
step "copying the tree (tracked and new files, no build folders)"
mkdir -p "$tree"
(cd "$src" && git ls-files --cached --others --exclude-standard -z |
  xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$tree"
cp -r "$tree/packaging/debian" "$tree/debian"

step "dpkg-buildpackage -b -us -uc"
start=$(date +%s)
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) \
  >"$out/build.log" 2>&1 || { tail -50 "$out/build.log"; fail "dpkg-buildpackage (log: $out/build.log)"; }
echo "built in $(($(date +%s) - start)) s"
changes=$(ls "$work"/lethe_*.changes)

step "lintian"
lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs "$changes" \
  >"$out/lintian.log" 2>&1 || { cat "$out/lintian.log"; fail "lintian reports errors"; }
cat "$out/lintian.log"
echo "lintian: $(grep -c '^E:' "$out/lintian.log" || true) errors, $(grep -c '^W:' "$out/lintian.log" || true) warnings"

for p in $PACKAGES; do
  deb=$(ls "$work/${p}_${version}"-*.deb)
  echo "--- $p: $(dpkg-deb -f "$deb" Version)"
  dpkg-deb -c "$deb" | awk '{print $6}' | grep -v '/$' | tee "$out/$p.files"
done

# Where each kind of file went.
grep -q 'usr/lib/.*/liblethe-1.so.0$' "$out/liblethe-1-0.files" || fail "liblethe-1-0 lacks the library"
grep -q 'usr/lib/.*/lethe-1/plugins/coreelements.so$' "$out/liblethe-1-0.files" ||
  fail "liblethe-1-0 lacks the core plugins"
grep -q 'usr/lib/.*/lethe-1/lethe-plugin-scanner$' "$out/liblethe-1-0.files" || fail "no scanner"
grep -q 'usr/include/lethe-1/lethe/plugin.h$' "$out/liblethe-dev.files" || fail "no headers in -dev"
grep -q 'usr/include/lethe-1/lethe/check.h$' "$out/liblethe-dev.files" || fail "no check.h in -dev"
grep -q 'pkgconfig/lethe-1.pc$' "$out/liblethe-dev.files" || fail "no .pc in -dev"
grep -q 'usr/bin/lethe$' "$out/lethe.files" || fail "no command in lethe"
if grep -q 'registry.bin' "$out"/*.files; then fail "a package ships registry.bin"; fi
n_methods=$(python3 "$tree/packaging/plugin-split.py" "$tree/obj-$(dpkg-architecture -qDEB_HOST_GNU_TYPE)" methods | wc -l)
[ "$(grep -c '/plugins/.*\.so$' "$out/lethe-plugins-methods.files" || true)" = "$n_methods" ] ||
  fail "lethe-plugins-methods does not hold the $n_methods method plugins"

# ---- install -------------------------------------------------------------
step "installing the packages"
# shellcheck disable=SC2046
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  $(for p in $PACKAGES; do ls "$work/${p}_${version}"-*.deb; done) >"$out/install.log" 2>&1 ||
  { cat "$out/install.log"; fail "apt-get install"; }

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
plugins=/usr/lib/$multiarch/lethe-1/plugins
home=$(mktemp -d "${TMPDIR:-/tmp}/lethe-deb-home.XXXXXX")
run() { env -i PATH=/usr/bin:/bin HOME="$home" XDG_CACHE_HOME="$home/cache" "$@"; }

[ -f "$plugins/registry.bin" ] || fail "the trigger did not write $plugins/registry.bin"
run lethe --version | grep -qx "lethe $version" || fail "lethe --version is not $version"
n_plugins=$(ls "$plugins"/*.so | wc -l)
run lethe inspect >"$out/inspect.txt"
grep -q "Total: $n_plugins plugins" "$out/inspect.txt" || { cat "$out/inspect.txt"; fail "lethe inspect"; }
# Everything comes from the cache the trigger wrote: a failing scanner changes nothing.
run LETHE_SCANNER=/bin/false lethe inspect | grep -q "Total: $n_plugins plugins" ||
  fail "the pre-generated cache is not used"
echo "installed: $n_plugins plugins listed from the pre-generated cache"

pipeline=/usr/share/lethe-1/pipelines/synthetic-chain.lethe
run lethe validate "$pipeline" >"$out/validate.txt" 2>&1 || { cat "$out/validate.txt"; fail "validate"; }
if run lethe run --help >/dev/null 2>&1; then
  run lethe run --quiet -o "$home/run" "$pipeline" >"$out/run.txt" 2>&1 ||
    { cat "$out/run.txt"; fail "lethe run $pipeline"; }
  [ -s "$home/run/run.json" ] || fail "no run.json"
  grep -q "\"lethe_version\" *: *\"$version\"" "$home/run/run.json" || fail "run.json does not carry version $version"
  echo "ran $pipeline"
fi

# ---- the example plugin against the installed -dev package ---------------
step "building the example plugin against liblethe-dev"
cp -r /usr/share/doc/liblethe-dev/examples/scale "$home/scale"
find "$home/scale" -name '*.gz' -exec gunzip {} +
(cd "$home/scale" && meson setup build >"$out/example.log" 2>&1 && ninja -C build >>"$out/example.log" 2>&1 &&
  meson test -C build >>"$out/example.log" 2>&1) || { cat "$out/example.log"; fail "example plugin"; }
run LETHE_PLUGIN_PATH="$home/scale/build" lethe inspect scale | grep -q factor ||
  fail "the example plugin does not load"
run LETHE_PLUGIN_PATH="$home/scale/build" lethe validate "$home/scale/scale.lethe" >/dev/null ||
  fail "scale.lethe does not validate"
if run lethe run --help >/dev/null 2>&1; then
  run LETHE_PLUGIN_PATH="$home/scale/build" lethe run --quiet -o "$home/scale-run" \
    "$home/scale/scale.lethe" >"$out/scale-run.txt" 2>&1 || { cat "$out/scale-run.txt"; fail "run scale.lethe"; }
  grep '"name" *: *"max"' "$home/scale-run/metrics.jsonl" | grep -q '"value" *: *30' ||
    fail "scale.lethe did not record max = 30"
fi
echo "example plugin: built, tested and loaded against the installed packages"

# ---- the trigger follows other packages ----------------------------------
if [ "$n_methods" -gt 0 ]; then
  $SUDO dpkg -r lethe-plugins-methods >/dev/null
  run LETHE_SCANNER=/bin/false lethe inspect | grep -q "Total: $((n_plugins - n_methods)) plugins" ||
    fail "the cache was not refreshed when lethe-plugins-methods went away"
  echo "trigger: removing lethe-plugins-methods left $((n_plugins - n_methods)) plugins in the cache"
fi

# ---- purge ---------------------------------------------------------------
step "purging"
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PACKAGES >"$out/purge.log" 2>&1 ||
  { cat "$out/purge.log"; fail "apt-get purge"; }
left=$(ls -d /usr/lib/*/lethe-1 /usr/lib/*/liblethe-1* /usr/lib/*/pkgconfig/lethe-1.pc \
  /usr/include/lethe-1 /usr/share/lethe-1 /usr/bin/lethe /usr/share/doc/lethe \
  /usr/share/doc/liblethe* /usr/share/doc/lethe-plugins-methods \
  /usr/share/man/man*/lethe* 2>/dev/null || true)
[ -z "$left" ] || fail "left behind after purge: $left"
for p in $PACKAGES; do
  if dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qv "not-installed"; then
    fail "$p still known to dpkg"
  fi
done
rm -rf "$home"
echo "purged: nothing left behind"
step "debian packages: ok"
