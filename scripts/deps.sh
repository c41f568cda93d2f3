#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian packages juno needs to build, run and test, if any
# are missing. Usage: scripts/deps.sh [build|test]
set -eu

# build: what a default build needs, the -Dintrospection and -Dvapi features
# included; test: what the test suites (the *_tests features) and the fuzz
# targets of .ci/run (clang, libFuzzer) run. dpkg-dev gives meson
# dpkg-architecture, so libdir is Debian's multiarch lib/x86_64-linux-gnu
# (searched by the dynamic linker) rather than lib64 (not searched).
build="meson ninja-build pkg-config dpkg-dev gcc libc6-dev libglib2.0-dev libjson-glib-dev libsystemd-dev gettext systemd gobject-introspection libgirepository1.0-dev valac libnats-dev"
test="nats-server python3 python3-pytest socat groff-base mandoc python3-gi gjs gir1.2-json-1.0 gir1.2-glib-2.0 bash-completion libglib2.0-bin dbus dbus-daemon dbus-bin systemd util-linux coreutils clang libclang-rt-14-dev"

case "${1:-build}" in
  build) want="$build" ;;
  test) want="$build $test" ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "Installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
