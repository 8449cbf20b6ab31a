#!/bin/sh
# Builds packaging/rpm/lethe.spec with Debian's rpm tools (rpmbuild -bb
# --nodeps: the Fedora build dependencies are not rpm packages here), from
# a tarball of the tree, and checks the file list of every binary RPM.
# Leaves its logs and RPMs in $LETHE_RPM_OUT (default: a temporary folder).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
command -v rpmbuild >/dev/null || { echo "test-rpm: rpmbuild missing (scripts/install-deps packaging)" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

out=${LETHE_RPM_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/lethe-rpm.XXXXXX")}
keep=${LETHE_RPM_OUT:+yes}
top=$out/rpmbuild
[ -n "$keep" ] || trap 'rm -rf "$out"' EXIT
rm -rf "$top"
mkdir -p "$top/SOURCES"
version=$(sed -n 's/^Version: *//p' "$src/packaging/rpm/lethe.spec")

# The tarball meson dist would make, without its full build and test run.
(cd "$src" && git ls-files --cached --others --exclude-standard -z |
  xargs -0 tar -cf - --no-recursion --transform "s,^,lethe-$version/,") |
  gzip -1 >"$top/SOURCES/lethe-$version.tar.gz"

start=$(date +%s)
rpmbuild -bb --nodeps --nocheck --noclean --define "_topdir $top" --load "$src/packaging/rpm/macros.debian" \
  "$src/packaging/rpm/lethe.spec" >"$out/rpmbuild.log" 2>&1 ||
  { tail -40 "$out/rpmbuild.log"; fail "rpmbuild (log: $out/rpmbuild.log)"; }
echo "built in $(($(date +%s) - start)) s"

for p in lethe lethe-libs lethe-devel lethe-plugins-methods; do
  rpm=$(ls "$top"/RPMS/*/"$p-$version"-1*.rpm)
  echo "--- $(basename "$rpm")"
  rpm -qlp "$rpm" 2>/dev/null | tee "$out/$p.files"
done

has() { grep -q "$2" "$out/$1.files" || fail "$1 lacks $2"; }
has lethe-libs '^/usr/lib64/liblethe-1.so.0$'
has lethe-libs '^/usr/lib64/lethe-1/plugins/coreelements.so$'
has lethe-libs '^/usr/lib64/lethe-1/plugins/registry.bin$'
has lethe-libs '^/usr/libexec/lethe-1/lethe-plugin-scanner$'
has lethe-libs '^/usr/share/lethe-1/schemas/dataset.schema$'
has lethe-devel '^/usr/include/lethe-1/lethe/plugin.h$'
has lethe-devel '^/usr/include/lethe-1/lethe/check.h$'
has lethe-devel '^/usr/lib64/liblethe-1.so$'
has lethe-devel '^/usr/lib64/pkgconfig/lethe-1.pc$'
has lethe-devel '/lethe-plugin.7'
has lethe '^/usr/bin/lethe$'
has lethe '^/usr/share/lethe-1/pipelines/'
# Each plugin in exactly one package, method plugins in theirs.
plugins=$(cat "$out"/*.files | grep -c '/lethe-1/plugins/.*\.so$')
builddir=$(dirname "$(dirname "$(find "$top/BUILD" -name intro-targets.json | head -1)")")
built=$( (python3 "$src/packaging/plugin-split.py" "$builddir" core
  python3 "$src/packaging/plugin-split.py" "$builddir" methods) | wc -l)
[ "$plugins" = "$built" ] || fail "$built plugins built, $plugins packaged"
n_methods=$(grep -c '\.so$' "$out/lethe-plugins-methods.files" || true)
if grep -q '/lethe-1/plugins/.*\.so$' "$out/lethe-libs.files" &&
  [ "$(grep -c '/lethe-1/plugins/.*\.so$' "$out/lethe-libs.files")" = "$((plugins - n_methods))" ]; then :; else
  fail "core plugins are not all in lethe-libs"
fi
rpm -qp --requires "$top"/RPMS/*/lethe-plugins-methods-"$version"-1*.rpm 2>/dev/null |
  grep -q "lethe-libs" || fail "lethe-plugins-methods does not require lethe-libs"
rpm -qp --filetriggers "$top"/RPMS/*/lethe-libs-"$version"-1*.rpm 2>/dev/null |
  grep -q "update-cache" || fail "lethe-libs has no file trigger for the registry cache"
echo "rpm packages: ok ($plugins plugins, $n_methods in lethe-plugins-methods)"
