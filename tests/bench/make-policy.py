#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a policy of N rules for the benchmark (docs/performance.md).

usage: make-policy.py N CONFIG_HOME

Makes CONFIG_HOME/juno/policy.d/50-bench.conf, which a per-user broker run
with XDG_CONFIG_HOME=CONFIG_HOME reads. The rules are denies at the level of
the benchmark's own user, for calls and triggers of modules the benchmark
never uses: every verdict stays "allow", but no action is allowed on every
target any more, so each call and trigger goes through the per-target
verdict cache instead of the allow-all flag: the policy's worst case for
the hot path.
"""

import os
import sys
from pathlib import Path


def main():
    count, home = int(sys.argv[1]), Path(sys.argv[2])
    out = home / "juno" / "policy.d"
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        action = "Call" if i % 2 == 0 else "Trigger"
        lines += ["[Deny bench %d]" % i, "User=%d" % os.geteuid(),
                  "%s=unused%d.*" % (action, i), ""]
    (out / "50-bench.conf").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
