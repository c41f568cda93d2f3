#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The manual pages render cleanly and say what the programs do.

Each page (as built, with the version substituted) must render with
`groff -ww -man` and pass `mandoc -T lint` without a single warning, carry
the version of the build, and name the other pages of juno under SEE ALSO.
Every option `juno --help` prints is in juno(8)'s OPTIONS; every option of
`junoctl --help` is in junoctl(1)'s OPTIONS, every command in its COMMANDS,
with the arguments `junoctl COMMAND --help` shows in its tag line and each
of that command's own options in its paragraph.

Usage: check-man-pages.py VERSION JUNO JUNOCTL MANDIR
"""

import os
import re
import subprocess
import sys

PAGES = {"juno.8": "juno(8)", "junoctl.1": "junoctl(1)", "juno.policy.5": "juno.policy(5)",
         "juno.conf.5": "juno.conf(5)"}
problems = []


def problem(text):
    problems.append(text)
    print("FAIL: " + text)


def english_env():
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
    for name in ("LANGUAGE", "LC_MESSAGES", "JUNO_LOCALEDIR"):
        env.pop(name, None)
    return env


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True, env=english_env(), timeout=60)
    return r


def render(path):
    """The page as plain text, on lines wide enough that nothing wraps."""
    r = run(["groff", "-man", "-Tascii", "-rLL=1000n", "-P-c", "-P-b", "-P-o", "-P-u", path])
    assert r.returncode == 0, r.stderr
    return r.stdout


def sections(text):
    """Section name -> its lines (headings are the unindented lines)."""
    out = {}
    name = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            name = line.strip()
            out.setdefault(name, [])
        elif name is not None:
            out[name].append(line)
    return out


def has_option(text, option):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", text) is not None


def help_options(argv):
    """(options, parameters) of a GOptionContext's --help, help options left out."""
    r = run(argv + ["--help"])
    if r.returncode != 0:
        problem("%s --help exits %d: %s" % (" ".join(argv), r.returncode, r.stderr))
        return [], "", r.stdout
    options, parameters = [], ""
    in_help_group = False
    for line in r.stdout.splitlines():
        m = re.match(r"^  \S+(?: [a-z]+)? \[OPTION…\](.*)$", line)
        if m:
            parameters = m.group(1).strip()
        if re.match(r"^\S.*Options:$", line):
            in_help_group = line.startswith("Help Options")
            continue
        m = re.match(r"^  (?:(-\w), )?(--[\w-]+)", line)
        if m and not in_help_group:
            options += [o for o in m.groups() if o]
    return options, parameters, r.stdout


def check_lint(path, name, version):
    r = run(["groff", "-ww", "-man", "-z", "-Tutf8", path])
    if r.returncode != 0 or r.stderr:
        problem("%s: groff -ww -man warns:\n%s" % (name, r.stderr))
    r = run(["mandoc", "-T", "lint", "-W", "all", path])
    if r.stdout or r.stderr:
        problem("%s: mandoc -T lint -W all:\n%s%s" % (name, r.stdout, r.stderr))
    with open(path, encoding="utf-8") as f:
        source = f.read()
    if "@VERSION@" in source:
        problem("%s: @VERSION@ was not substituted" % name)
    text = render(path)
    footer = " ".join(text.splitlines()[-1].split())
    if "juno " + version not in footer:
        problem("%s: the footer does not say juno %s: %r" % (name, version, footer))
    see_also = "\n".join(sections(text).get("SEE ALSO", []))
    if not see_also:
        problem("%s: no SEE ALSO section" % name)
    for other, ref in PAGES.items():
        if other != os.path.basename(path) and ref not in see_also:
            problem("%s: SEE ALSO does not name %s" % (name, ref))
    return text


def main():
    version, juno, junoctl, mandir = sys.argv[1:5]
    texts = {}
    for page in PAGES:
        texts[page] = check_lint(os.path.join(mandir, page), page, version)

    # juno(8): every option of juno --help under OPTIONS.
    options, _, _ = help_options([juno])
    if "--bus" not in options or "--socket-location" not in options:
        problem("juno --help was not understood: %r" % options)
    juno_options = "\n".join(sections(texts["juno.8"]).get("OPTIONS", []))
    for option in options:
        if not has_option(juno_options, option):
            problem("juno.8: OPTIONS does not describe %s (juno --help has it)" % option)
    print("juno.8: %d options of juno --help described" % len(options))

    # junoctl(1): the global options, then each command.
    options, _, helptext = help_options([junoctl])
    secs = sections(texts["junoctl.1"])
    junoctl_options = "\n".join(secs.get("OPTIONS", []))
    for option in options:
        if not has_option(junoctl_options, option):
            problem("junoctl.1: OPTIONS does not describe %s (junoctl --help has it)" % option)
    verbs = []
    in_commands = False
    for line in helptext.splitlines():
        if line.strip() == "Commands:":
            in_commands = True
            continue
        m = re.match(r"^  ([a-z][\w-]*)\s", line)
        if in_commands and m:
            verbs.append(m.group(1))
        elif in_commands and not line.startswith("  "):
            in_commands = False
    if len(verbs) < 5:
        problem("junoctl --help lists no commands: %r" % verbs)
    # COMMANDS: tags at the page's indentation, paragraphs indented further.
    items = {}
    current = None
    for line in secs.get("COMMANDS", []):
        m = re.match(r"^ {7}(\S+)(.*)$", line)
        if m:
            current = m.group(1)
            items[current] = [line]
        elif current is not None:
            items[current].append(line)
    for verb in verbs:
        if verb not in items:
            problem("junoctl.1: COMMANDS does not describe %s (junoctl --help lists it)" % verb)
            continue
        verb_options, parameters, _ = help_options([junoctl, verb])
        tag = items[verb][0]
        parameters = parameters.replace("…", "...")
        if parameters and parameters not in tag:
            problem("junoctl.1: the tag of %s reads %r, junoctl %s --help says %r"
                    % (verb, tag.strip(), verb, parameters))
        paragraph = "\n".join(items[verb])
        for option in verb_options:
            if option not in options and not has_option(paragraph, option):
                problem("junoctl.1: %s does not describe its option %s" % (verb, option))
    print("junoctl.1: %d options and %d commands checked" % (len(options), len(verbs)))

    if problems:
        print("\n%d problems" % len(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
