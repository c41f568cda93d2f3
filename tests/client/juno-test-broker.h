/* juno-test-broker.h: the real broker in a private directory, for tests
 *
 * The broker's path comes from $JUNO_BROKER. Readiness is READY=1 on a
 * notify socket the test owns; no sleeps. The broker's log goes to a file
 * that is printed when a test fails.
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
} JunoTestBroker;

JunoTestBroker *juno_test_broker_new (void);
void juno_test_broker_start (JunoTestBroker *broker, gboolean tcp, const char *runtime_dir);
void juno_test_broker_stop (JunoTestBroker *broker);
void juno_test_broker_free (JunoTestBroker *broker);

/* Runs the thread-default main context until *@done is set; fails the test
 * after ten seconds. */
void juno_test_wait_flag (const gboolean *done);
void juno_test_wait_result (GAsyncResult **result);
void juno_test_on_result (GObject *source, GAsyncResult *result, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoTestBroker, juno_test_broker_free)

G_END_DECLS
