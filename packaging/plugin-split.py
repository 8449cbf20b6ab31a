#!/usr/bin/env python3
# Which installed plugin files belong to which binary package, from a
# configured meson build folder (docs/packaging.md).
#
#   plugin-split.py BUILDDIR core|methods [--relative]
#
# Prints one installed path per line.  A plugin is a shared_module defined
# under plugins/<group>/<name>/.  The method plugins (the published
# continual-learning, unlearning and augmentation methods) are those of the
# groups learn/, unlearn/ and augment/, except the baselines listed in
# CORE_BASELINES; everything else is core.  A new method plugin therefore
# lands in its package without any change here.
import json
import os
import sys

METHOD_GROUPS = {"learn", "unlearn", "augment"}
CORE_BASELINES = {"learn/sgd"}


def plugins(builddir):
    with open(os.path.join(builddir, "meson-info", "intro-targets.json"), encoding="utf-8") as f:
        targets = json.load(f)
    for t in targets:
        if t.get("type") != "shared module" or not t.get("installed"):
            continue
        defined = t["defined_in"].replace(os.sep, "/")
        if "/plugins/" not in defined:
            continue
        folder = defined.rsplit("/plugins/", 1)[1].rsplit("/", 1)[0]  # group/name
        for path in t.get("install_filename") or []:
            yield folder, path


def main(argv):
    if len(argv) < 3 or argv[2] not in ("core", "methods"):
        print("usage: plugin-split.py BUILDDIR core|methods [--relative]", file=sys.stderr)
        return 2
    want_methods = argv[2] == "methods"
    relative = "--relative" in argv[3:]
    for folder, path in sorted(plugins(argv[1]), key=lambda p: p[1]):
        is_method = folder.split("/")[0] in METHOD_GROUPS and folder not in CORE_BASELINES
        if is_method == want_methods:
            print(path.lstrip("/") if relative else path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
