#!/usr/bin/env python3
"""Fails when a row of docs/errors.md names no test, or a test that does
not exist as a function in the test sources.

Usage: check-errors-catalogue.py SOURCE_ROOT
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
defined = set()
for folder, _, files in os.walk(os.path.join(root, "tests")):
    for name in files:
        if name.endswith(".c"):
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                defined.update(re.findall(r"^(test_\w+)\(void\)", f.read(), re.M))

rows = bad = 0
with open(os.path.join(root, "docs", "errors.md"), encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| class "):
            continue
        rows += 1
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        tests = re.findall(r"`(test_\w+)`", cells[-1])
        if not tests:
            print(f"docs/errors.md:{lineno}: '{cells[0]}' names no test")
            bad += 1
        for t in tests:
            if t not in defined:
                print(f"docs/errors.md:{lineno}: '{cells[0]}': no test function {t}() in tests/")
                bad += 1
print(f"{rows} classes of bad input, {bad} problems")
sys.exit(1 if bad or rows == 0 else 0)
