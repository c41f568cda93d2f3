# SPDX-License-Identifier: LGPL-2.1-or-later
"""libjuno exports exactly the symbols of libjuno.map: those its headers
mark JUNO_AVAILABLE_IN_*, plus the GType functions G_DECLARE_* declares."""

import os
import re
import subprocess
from pathlib import Path

LIBJUNO = Path(__file__).resolve().parents[2] / "libjuno"


def exported():
    out = subprocess.run(["nm", "-D", "--defined-only", os.environ["LIBJUNO_PATH"]],
                         capture_output=True, text=True, check=True).stdout
    return {fields[2].split("@")[0] for fields in (line.split() for line in out.splitlines())
            if len(fields) == 3 and fields[1] == "T"}


def listed():
    text = re.sub(r"/\*.*?\*/", "", (LIBJUNO / "libjuno.map").read_text(), flags=re.S)
    body = text.split("global:")[1].split("local:")[0]
    return {s.strip() for s in body.split(";") if s.strip()}


def declared():
    names = set()
    for header in LIBJUNO.glob("juno*.h"):
        text = header.read_text()
        for m in re.finditer(r"JUNO_AVAILABLE_IN_\w+\s+[^;(]*?\b(juno_\w+)\s*\(", text):
            names.add(m.group(1))
        for m in re.finditer(r"G_DECLARE_FINAL_TYPE \(\w+, (\w+),", text):
            names.add(m.group(1) + "_get_type")
    names.add("juno_error_get_type")  # from mkenums
    return names


def test_exports_match_the_map():
    assert exported() == listed()


def test_map_matches_the_headers():
    assert listed() == declared()
