#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a test that needs root (it plays other users with setpriv, owns the
# system bus name, or stands in for journald under /run/systemd): as is
# when the tests run as root, else through sudo, as the README's test
# command does for a user with sudo. No password prompt: sudo -n fails
# (and the test with it) rather than wait.
if [ "$(id -u)" -eq 0 ]; then
  exec "$@"
fi
exec sudo -n --preserve-env "$@"
