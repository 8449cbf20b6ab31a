#!/bin/sh
# The one version of meson.build is the version everywhere: liblethe's file
# name, <lethe/version.h>, lethe-1.pc, `lethe --version`, run.json, the
# Debian changelog and the RPM spec (docs/abi.md).
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
src=$LETHE_SOURCE_ROOT build=$LETHE_BUILD_ROOT

version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
  "$build/meson-info/intro-projectinfo.json")
echo "meson.build: $version"

deb=$(sed -n '1s/^lethe (\([^)]*\)).*/\1/p' "$src/packaging/debian/changelog")
[ "${deb%-*}" = "$version" ] ||
  fail "packaging/debian/changelog is at ${deb%-*}, meson.build at $version: add a changelog entry (dch -v $version-1)"
rpm=$(sed -n 's/^Version: *//p' "$src/packaging/rpm/lethe.spec")
[ "$rpm" = "$version" ] || fail "packaging/rpm/lethe.spec has Version $rpm, meson.build $version"
grep -q "^\* .* - $version-" "$src/packaging/rpm/lethe.spec" ||
  fail "packaging/rpm/lethe.spec has no %changelog entry for $version"

grep -q "^#define LETHE_VERSION *\"$version\"" "$build/include/lethe/version.h" || fail "version.h"
[ -e "$build/core/liblethe-1.so.$version" ] || fail "no liblethe-1.so.$version in the build"
grep -qx "Version: $version" "$build/meson-private/lethe-1.pc" || fail "lethe-1.pc"
"$build/core/tools/lethe" --version | grep -qx "lethe $version" || fail "lethe --version"

if "$build/core/tools/lethe" run --help >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$build/core/tools/lethe" run --quiet -o "$tmp/run" "$src/pipelines/synthetic-chain.lethe" \
    >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "lethe run synthetic-chain.lethe"; }
  python3 - "$tmp/run/run.json" "$version" <<'PY' || fail "run.json does not carry $version"
import json, sys
run = json.load(open(sys.argv[1]))
assert run["lethe_version"] == sys.argv[2], run.get("lethe_version")
PY
  echo "run.json: $version"
fi
echo "versions agree: $version"
