#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every string marked for translation in the sources (po/POTFILES.in) must
# be translated, and not fuzzy, in every language of po/LINGUAS, with the
# same printf placeholders. The strings are extracted afresh, exactly as
# `ninja -C build juno-pot` does (the xgettext arguments come from
# po/meson.build), so a string added to the code fails here until each
# po/LL.po has it.
#
# Usage: check-translations.sh SOURCE_ROOT XGETTEXT_ARGUMENT...
set -eu
top="$1"
shift
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$top"

xgettext --package-name=juno -D . -f po/POTFILES.in -k_ -o "$tmp/juno.pot" "$@"
msgids=$(($(grep -c "^msgid " "$tmp/juno.pot") - 1)) # less the header
status=0

langs=$(sed -e 's/#.*//' po/LINGUAS | tr -s ' \t' '\n\n' | grep -v '^$' || true)
if [ -z "$langs" ]; then
  echo "po/LINGUAS names no language"
  exit 1
fi
for po in po/*.po; do
  lang=$(basename "$po" .po)
  if ! printf '%s\n' $langs | grep -qxF "$lang"; then
    echo "$po: not listed in po/LINGUAS, so never built or installed"
    status=1
  fi
done

for lang in $langs; do
  po="po/$lang.po"
  if [ ! -f "$po" ]; then
    echo "$po: missing, but po/LINGUAS lists $lang"
    status=1
    continue
  fi
  msgmerge --quiet --previous -o "$tmp/$lang.po" "$po" "$tmp/juno.pot"
  for kind in untranslated only-fuzzy; do
    msgattrib --$kind --no-obsolete --no-wrap "$tmp/$lang.po" >"$tmp/$lang.$kind"
    if [ -s "$tmp/$lang.$kind" ]; then
      echo "$po: strings $kind:"
      grep -E '^(#\||msgid)' "$tmp/$lang.$kind" | grep -v '^msgid ""$' | sed 's/^/  /'
      status=1
    fi
  done
  if ! msgfmt --check -o /dev/null "$tmp/$lang.po"; then
    echo "$po: msgfmt --check fails (placeholders, plural forms or header)"
    status=1
  fi
done

if [ $status -ne 0 ]; then
  echo
  echo "To fix: ninja -C BUILD juno-pot juno-update-po, then translate what"
  echo "'msgattrib --untranslated --only-fuzzy' lists in each po/LL.po (drop"
  echo "the fuzzy mark once the text is right); see po/meson.build."
else
  echo "$msgids strings, all translated in: $(echo $langs)"
fi
exit $status
