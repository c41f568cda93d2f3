/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-test-broker.c: start, watch and stop the real broker for C tests
 * (see juno-test-broker.h) */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "juno-test-broker.h"

#define WAIT_SECONDS 10
/* A runtime directory that does not exist: no $XDG_RUNTIME_DIR/bus by accident. */
#define NO_RUNTIME_DIR "/nonexistent-juno-test"

/* What the caller's environment must not pass on to a test broker. */
static const char *const foreign_env[] = {
  "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC",
  "WATCHDOG_PID", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS",
};

/* Reads the notify socket as long as the broker object lives. */
static gpointer
read_notify (gpointer data)
{
  JunoTestBroker *broker = data;

  for (;;)
    {
      char buffer[4096];
      gssize n;

      g_mutex_lock (&broker->lock);
      if (broker->closing)
        {
          g_mutex_unlock (&broker->lock);
          return NULL;
        }
      g_mutex_unlock (&broker->lock);
      if (!g_socket_condition_timed_wait (broker->notify, G_IO_IN, 100 * 1000, NULL, NULL))
        continue;
      n = g_socket_receive (broker->notify, buffer, sizeof buffer, NULL, NULL);
      if (n <= 0)
        continue;
      g_mutex_lock (&broker->lock);
      g_string_append_len (broker->notifications, buffer, n);
      g_string_append_c (broker->notifications, '\n');
      g_cond_broadcast (&broker->cond);
      g_mutex_unlock (&broker->lock);
    }
}

JunoTestBroker *
juno_test_broker_new (void)
{
  JunoTestBroker *broker = g_new0 (JunoTestBroker, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  broker->dir = g_dir_make_tmp ("juno-client-XXXXXX", &error);
  g_assert_no_error (error);
  broker->socket_path = g_build_filename (broker->dir, "juno.sock", NULL);
  broker->notify_path = g_build_filename (broker->dir, "notify", NULL);
  broker->log_path = g_build_filename (broker->dir, "broker.log", NULL);

  broker->notify = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (broker->notify_path);
  g_socket_bind (broker->notify, address, FALSE, &error);
  g_assert_no_error (error);
  g_mutex_init (&broker->lock);
  g_cond_init (&broker->cond);
  broker->notifications = g_string_new (NULL);
  broker->notify_thread = g_thread_new ("juno-test-notify", read_notify, broker);
  return broker;
}

/* Waits until the broker has sent the notification @line (e.g. "READY=1"). */
void
juno_test_broker_wait_notify (JunoTestBroker *broker, const char *line)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  g_autofree char *wanted = g_strconcat ("\n", line, "\n", NULL);

  g_mutex_lock (&broker->lock);
  while (strstr (broker->notifications->str, wanted) == NULL)
    if (!g_cond_wait_until (&broker->cond, &broker->lock, deadline))
      g_error ("The broker did not send %s within %d s", line, WAIT_SECONDS);
  g_mutex_unlock (&broker->lock);
}

static guint16
find_port (JunoTestBroker *broker)
{
  g_autofree char *log = NULL;
  const char *line;
  const char *colon;

  g_assert_true (g_file_get_contents (broker->log_path, &log, NULL, NULL));
  line = strstr (log, "Listening on tcp:");
  g_assert_nonnull (line);
  colon = strchr (line + strlen ("Listening on tcp:"), ':');
  g_assert_nonnull (colon);
  return (guint16) g_ascii_strtoull (colon + 1, NULL, 10);
}

void
juno_test_broker_start (JunoTestBroker *broker, gboolean tcp, const char *runtime_dir)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *path = g_getenv ("JUNO_BROKER");

  g_assert_nonnull (path);
  g_assert_null (broker->process);
  g_ptr_array_add (argv, (char *) path);
  if (runtime_dir == NULL)
    {
      g_ptr_array_add (argv, "-s");
      g_ptr_array_add (argv, broker->socket_path);
    }
  if (tcp)
    {
      g_ptr_array_add (argv, "-p");
      g_ptr_array_add (argv, "0");
      g_ptr_array_add (argv, "--bind-addr");
      g_ptr_array_add (argv, "127.0.0.1");
    }
  g_ptr_array_add (argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (foreign_env); i++)
    g_subprocess_launcher_unsetenv (launcher, foreign_env[i]);
  g_subprocess_launcher_setenv (launcher, "NOTIFY_SOCKET", broker->notify_path, TRUE);
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime_dir != NULL ? runtime_dir : NO_RUNTIME_DIR, TRUE);
  /* a restart waits for its own READY=1 */
  g_mutex_lock (&broker->lock);
  g_string_assign (broker->notifications, "\n");
  g_mutex_unlock (&broker->lock);
  g_subprocess_launcher_set_stdout_file_path (launcher, broker->log_path);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDERR_MERGE);
  broker->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  juno_test_broker_wait_notify (broker, "READY=1");
  if (tcp)
    broker->port = find_port (broker);
}

void
juno_test_broker_stop (JunoTestBroker *broker)
{
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (broker->process);
  g_subprocess_send_signal (broker->process, SIGTERM);
  g_subprocess_wait (broker->process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (broker->process));
  g_assert_cmpint (g_subprocess_get_exit_status (broker->process), ==, 0);
  g_clear_object (&broker->process);
}

static gboolean
log_is_clean (const char *log)
{
  static const char *const bad[] = { "Sanitizer", "runtime error", "CRITICAL" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    if (strstr (log, bad[i]) != NULL)
      return FALSE;
  return TRUE;
}

void
juno_test_broker_free (JunoTestBroker *broker)
{
  g_autofree char *log = NULL;

  if (broker->process != NULL)
    juno_test_broker_stop (broker);
  g_mutex_lock (&broker->lock);
  broker->closing = TRUE;
  g_mutex_unlock (&broker->lock);
  g_thread_join (broker->notify_thread);
  if (!g_file_get_contents (broker->log_path, &log, NULL, NULL))
    log = g_strdup ("");
  if (g_test_failed () || !log_is_clean (log))
    g_printerr ("--- broker log ---\n%s--- end ---\n", log);
  g_assert_true (log_is_clean (log));
  g_unlink (broker->log_path);
  g_unlink (broker->notify_path);
  g_unlink (broker->socket_path);
  g_rmdir (broker->dir);
  g_clear_object (&broker->notify);
  g_string_free (broker->notifications, TRUE);
  g_mutex_clear (&broker->lock);
  g_cond_clear (&broker->cond);
  g_free (broker->dir);
  g_free (broker->socket_path);
  g_free (broker->notify_path);
  g_free (broker->log_path);
  g_free (broker);
}

static gboolean
on_wake (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates until *@pointer is non-zero (a gboolean or a pointer). */
static void
iterate_until (const void *pointer, gboolean is_flag)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_SECONDS * G_USEC_PER_SEC;
  GSource *wake = g_timeout_source_new (50);

  g_source_set_callback (wake, on_wake, NULL, NULL);
  g_source_attach (wake, g_main_context_get_thread_default ());
  while (is_flag ? !*(const gboolean *) pointer : *(gpointer const *) pointer == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Timed out waiting in the main loop");
      g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
    }
  g_source_destroy (wake);
  g_source_unref (wake);
}

void
juno_test_wait_flag (const gboolean *done)
{
  iterate_until (done, TRUE);
}

void
juno_test_on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

void
juno_test_wait_result (GAsyncResult **result)
{
  iterate_until (result, FALSE);
}
