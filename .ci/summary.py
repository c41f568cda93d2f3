#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Adds up meson test logs; fails on any failure, skip or empty run."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as log:
        for line in log:
            result = json.loads(line)["result"]
            if result == "OK":
                passed += 1
            elif result == "SKIP":
                skipped += 1
                print(f"skipped (not allowed in CI): {json.loads(line)['name']} in {path}")
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if failed == 0 and skipped == 0 and passed > 0 else 1)
