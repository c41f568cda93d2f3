#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run by `meson install` (meson.build): refreshes the dynamic linker's
# cache and says what a prefix outside the system's search paths needs.
# Nothing to do into a DESTDIR: the package's own scripts do it there.
# Usage: post-install.sh LIBDIR TYPELIBDIR-IF-NOT-SEARCHED DBUS-POLICY-DIR
set -eu
libdir=$1 typelibdir=$2 policydir=$3
[ "${MESON_INSTALL_DESTDIR_PREFIX:-}" = "${MESON_INSTALL_PREFIX:-}" ] || exit 0

PATH="$PATH:/sbin:/usr/sbin"
if [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then
  ldconfig
fi
if ! ldconfig -p 2>/dev/null | grep -qF " => $libdir/libjuno-1.0.so.0"; then
  echo "juno: the dynamic linker does not search $libdir (junoctl finds libjuno there by its run path);"
  echo "      for Python and GJS: export LD_LIBRARY_PATH=$libdir"
fi
if [ -n "$typelibdir" ]; then
  echo "juno: PyGObject and GJS do not search $typelibdir for the Juno typelib;"
  echo "      export GI_TYPELIB_PATH=$typelibdir (or build with -Dprefix=/usr)"
fi
case "$policydir" in
  /usr/share/dbus-1/system.d | /etc/dbus-1/system.d) ;;
  *)
    echo "juno: dbus-daemon does not read $policydir; for 'juno --bus=system':"
    echo "      cp $policydir/org.juno.Broker1.conf /etc/dbus-1/system.d/"
    ;;
esac
