#!/usr/bin/env python3
# The ninja targets of everything `meson install` installs, relative to the
# build folder: a package build without tests compiles only these (the
# test suites, fuzz targets and benchmarks are most of the tree).
#
#   installed-targets.py BUILDDIR
import json
import os
import sys


def main(argv):
    if len(argv) != 2:
        print("usage: installed-targets.py BUILDDIR", file=sys.stderr)
        return 2
    builddir = os.path.realpath(argv[1])
    with open(os.path.join(builddir, "meson-info", "intro-targets.json"), encoding="utf-8") as f:
        targets = json.load(f)
    for t in targets:
        if t.get("installed"):
            for path in t["filename"]:
                print(os.path.relpath(os.path.realpath(path), builddir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
