#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The translations work in an installed tree: `meson install --destdir`
# into a temporary directory, then the installed juno and junoctl, in each
# language of po/LINGUAS, print their help and their usage errors in that
# language. The binaries look for their catalogues under the LOCALEDIR they
# were built with; JUNO_LOCALEDIR (juno(8), junoctl(1)) points them at the
# tree under DESTDIR instead, as it would for a tree moved after installing.
#
# Usage: check-installed-translations.sh BUILD_ROOT SOURCE_ROOT PREFIX BINDIR LIBDIR LOCALEDIR
# (the directories absolute, as configured).
set -eu
build="$1" top="$2" prefix="$3" bindir="$4" libdir="$5" localedir="$6"
destdir="$(mktemp -d)"
trap 'rm -rf "$destdir"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$destdir" >"$destdir.log" 2>&1 ||
  { cat "$destdir.log"; rm -f "$destdir.log"; echo "meson install failed"; exit 1; }
rm -f "$destdir.log"

juno="$destdir$bindir/juno"
junoctl="$destdir$bindir/junoctl"
export JUNO_LOCALEDIR="$destdir$localedir"
export LD_LIBRARY_PATH="$destdir$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LANG=C.UTF-8 LC_ALL= LC_MESSAGES=
unset LANGUAGE
status=0

fail() {
  echo "FAIL: $*"
  status=1
}

# expect LANGUAGE MSGID OUTPUT-FILE WHAT: the translation of MSGID (from the
# installed catalogue) is in the output, and is not the English text.
expect() {
  translated=$(TEXTDOMAINDIR="$JUNO_LOCALEDIR" LANGUAGE="$1" gettext juno "$2")
  if [ "$translated" = "$2" ]; then
    fail "$4: '$2' has no $1 translation in $JUNO_LOCALEDIR"
  elif ! grep -qF -- "$translated" "$3"; then
    fail "$4 in $1 does not say '$translated':"
    sed 's/^/    /' "$3"
  else
    echo "ok: $4 in $1: $translated"
  fi
}

# What each run prints: help on stdout, usage errors on stderr (exit 2).
run() {
  lang="$1" out="$2"
  shift 2
  set +e
  LANGUAGE="$lang" "$@" >"$out" 2>&1
  code=$?
  set -e
  echo "$code"
}

out="$destdir/out"
langs=$(sed -e 's/#.*//' "$top/po/LINGUAS")
for lang in $langs; do
  mo="$JUNO_LOCALEDIR/$lang/LC_MESSAGES/juno.mo"
  [ -f "$mo" ] || fail "$mo was not installed"

  [ "$(run "$lang" "$out" "$juno" --help)" = 0 ] || fail "juno --help failed"
  expect "$lang" "Listen on the Unix socket FILE" "$out" "juno --help"
  expect "$lang" "D-Bus control plane on the session bus, the system bus, or none (default: session if reachable)" "$out" "juno --help (--bus)"

  [ "$(run "$lang" "$out" "$juno" --bus=nowhere)" = 2 ] || fail "juno --bus=nowhere did not exit 2"
  expect "$lang" "--bus must be session, system or none" "$out" "juno --bus=nowhere"

  [ "$(run "$lang" "$out" "$junoctl" --help)" = 0 ] || fail "junoctl --help failed"
  expect "$lang" "Inspect and drive a juno message broker." "$out" "junoctl --help"
  expect "$lang" "Print JSON for scripts instead of text for people" "$out" "junoctl --help (--json)"
  expect "$lang" "List the modules connected to the broker" "$out" "junoctl --help (list)"

  [ "$(run "$lang" "$out" "$junoctl")" = 2 ] || fail "junoctl without a command did not exit 2"
  expect "$lang" "no command given" "$out" "junoctl without a command"
done

# Every option's description in every --help is translated: a string that
# is not marked for translation shows up here in English.
verbs=$(LANGUAGE= "$junoctl" --help | sed -n '/^Commands:/,/^[^ ]/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$verbs" ] || fail "junoctl --help lists no commands"
for lang in $langs; do
  for cmd in "$juno" "$junoctl" $(for v in $verbs; do echo "$junoctl:$v"; done); do
    prog=${cmd%%:*} verb=
    [ "$prog" = "$cmd" ] || verb=${cmd#*:}
    LANGUAGE= "$prog" $verb --help >"$destdir/en" 2>&1 || fail "$cmd --help failed"
    LANGUAGE="$lang" "$prog" $verb --help >"$destdir/xx" 2>&1 || fail "$cmd --help in $lang failed"
    # the descriptions: text after the option column
    # (GLib's own help options are GLib's to translate)
    sed -n 's/^  *-[^ ].*[^ ]   *\([A-Z][^ ].*\)$/\1/p' "$destdir/en" |
      grep -v '^Show \(all \)\{0,1\}help options$' >"$destdir/descriptions"
    [ -s "$destdir/descriptions" ] || fail "$cmd --help: no option descriptions found"
    while IFS= read -r text; do
      if grep -qF -- "$text" "$destdir/xx"; then
        fail "$(basename "$prog") $verb --help in $lang still says: $text"
      fi
    done <"$destdir/descriptions"
  done
  echo "ok: every option description of juno, junoctl and its $(echo $verbs | wc -w) commands in $lang"
done

# The same words, checked by eye once, so that the test cannot pass by
# comparing two wrong things.
run de "$out" "$juno" --help >/dev/null
grep -qF "Auf dem Unix-Socket DATEI lauschen" "$out" || fail "juno --help is not in German"
run fr "$out" "$junoctl" --help >/dev/null
grep -qF "Inspecter et piloter un courtier de messages juno." "$out" || fail "junoctl --help is not in French"
# Without a language the text stays English.
run "" "$out" "$juno" --help >/dev/null
grep -qF "Listen on the Unix socket FILE" "$out" || fail "juno --help without LANGUAGE is not in English"

exit $status
