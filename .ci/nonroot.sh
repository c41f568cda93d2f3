#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's test command as a user with sudo, not root, on a clean copy
# of the source: the suites whose tests differ for a user (they get root
# through sudo -n, or play other users, or own the system bus name, or
# stand in for journald): unit, dbus, activation, client, install, and the
# integration tests of access, observers, config, the socket's mode and the lock. Run by
# .ci/run as root; it creates the user (juno-ci) and its sudo rule.
# Usage: .ci/nonroot.sh LOGDIR (the meson test logs are copied there)
set -eu
cd "$(dirname "$0")/.."
logdir="$(realpath -m "${1:-build-ci-user}")"
builddir=build
user=juno-ci

[ "$(id -u)" -eq 0 ] || { echo "$0: run as root (it creates the user $user)" >&2; exit 2; }
if ! command -v sudo >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sudo >/dev/null
fi
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
mkdir -p /etc/sudoers.d
echo "$user ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/"$user"
chmod 0440 /etc/sudoers.d/"$user"

home=$(getent passwd "$user" | cut -d: -f6)
copy="$home/juno"
rm -rf "$copy"
mkdir -p "$copy"
# the source as it is here, tracked and new files, without build directories
git ls-files -z --cached --others --exclude-standard |
  tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$copy"
chown -R "$user:" "$copy"

# a login environment of the user's own: no root PATH, HOME or runtime dir
sudo -u "$user" -H env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$user" LANG=C.UTF-8 \
  JUNO_BUILD_DIR="$builddir" \
  JUNO_TEST_ARGS="--suite unit --suite dbus --suite activation --suite client --suite install" \
  sh -c 'cd ~/juno && scripts/test.sh -Dwerror=true'
mkdir -p "$logdir"
cp "$copy/$builddir/meson-logs/testlog.json" "$logdir/suites.json"
sudo -u "$user" -H env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$user" LANG=C.UTF-8 \
  JUNO_BUILD_DIR="$builddir" JUNO_TEST_ARGS="access socket_mode lockfile observer config" \
  sh -c 'cd ~/juno && scripts/test.sh'
cp "$copy/$builddir/meson-logs/testlog.json" "$logdir/integration.json"
