#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run by `meson install` (meson.build): refreshes the dynamic linker's
# cache, so that Python and GJS, which load libjuno through it, find a
# library just installed into a directory of its configuration (such as
# /usr/local/lib/x86_64-linux-gnu). Only as root, and not into a DESTDIR,
# where the package's own scripts do it. What else a prefix needs is in
# meson setup's summary and docs/install.md.
set -eu
[ "${MESON_INSTALL_DESTDIR_PREFIX:-}" = "${MESON_INSTALL_PREFIX:-}" ] || exit 0
[ "$(id -u)" -eq 0 ] || exit 0
PATH="$PATH:/sbin:/usr/sbin"
if command -v ldconfig >/dev/null; then
  ldconfig
fi
