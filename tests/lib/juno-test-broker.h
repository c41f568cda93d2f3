/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-test-broker.h: the real broker in a private directory, for C tests
 *
 * The C counterpart of tests/lib/junobroker.py, with the same rules: the
 * broker is $JUNO_BROKER, in a temporary directory of its own, with an
 * environment cleaned of the caller's systemd and D-Bus variables; readiness
 * is READY=1 on a notify socket the test owns, drained by a thread for the
 * broker's whole life (a full datagram queue would block the broker); its
 * log goes to a file that is printed when a test fails, and must be free of
 * sanitizer reports and criticals; stopping requires exit status 0.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *dir;
  char *socket_path;
  char *notify_path;
  char *log_path;
  GSocket *notify;
  GSubprocess *process;
  guint16 port; /* with TCP */

  /*< private >*/
  GThread *notify_thread;
  GMutex lock;
  GCond cond;
  GString *notifications; /* every line received, each ending in '\n' */
  gboolean closing;
} JunoTestBroker;

JunoTestBroker *juno_test_broker_new (void);
/* @tcp: also on an ephemeral port of 127.0.0.1 (->port); @runtime_dir:
 * XDG_RUNTIME_DIR for a broker started without -s (its default socket). */
void juno_test_broker_start (JunoTestBroker *broker, gboolean tcp, const char *runtime_dir);
void juno_test_broker_wait_notify (JunoTestBroker *broker, const char *line);
void juno_test_broker_stop (JunoTestBroker *broker);
void juno_test_broker_free (JunoTestBroker *broker);

/* Runs the thread-default main context until *@done is set; fails the test
 * after ten seconds. */
void juno_test_wait_flag (const gboolean *done);
void juno_test_wait_result (GAsyncResult **result);
void juno_test_on_result (GObject *source, GAsyncResult *result, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoTestBroker, juno_test_broker_free)

G_END_DECLS
