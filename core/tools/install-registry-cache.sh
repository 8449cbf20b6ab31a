#!/bin/sh
# Run by `meson install`: writes PLUGINSDIR/registry.bin for the plugins
# just installed (under DESTDIR when set), so a read-only install never
# rescans.  Arguments: the lethe command and scanner of the build tree, and
# the plugin folder relative to the prefix.
set -eu
lethe=$1 scanner=$2 dir="$MESON_INSTALL_DESTDIR_PREFIX/$3"

[ -d "$dir" ] || exit 0
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
  echo "Would pre-generate $dir/registry.bin"
  exit 0
fi
# A cache left by an earlier install could vouch for files it never saw.
rm -f "$dir/registry.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only this folder, scanned by this build's scanner; nothing written to the
# installing user's own cache.
env -u LETHE_PLUGIN_PATH -u LETHE_PLUGIN_ALLOWLIST LETHE_SCANNER="$scanner" \
  LETHE_REGISTRY="$tmp/user-registry.bin" "$lethe" registry --update "$dir" >"$tmp/out"
[ -n "${MESON_INSTALL_QUIET:-}" ] || cat "$tmp/out"
