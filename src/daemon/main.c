/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: juno, the broker daemon
 *
 * Options (compatible with the original Juno broker's, plus juno's limits),
 * logging, then one JunoDaemon on one main loop. Exit status: 0 after a
 * clean shutdown, 1 when the broker cannot start (the federation module
 * --nats needs included), 2 for bad usage.
 */
#include "config.h"

#include <locale.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "juno-common.h"
#include "juno-config.h"
#include "juno-daemon.h"
#include "juno-poller.h"

#define EXIT_USAGE 2

static int verbosity;
static int port = -1;

static gboolean
on_port (const char *name, const char *value, gpointer data, GError **error)
{
  guint64 parsed;

  if (!g_ascii_string_to_unsigned (value, 10, 0, 65535, &parsed, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("%s must be a port number between 0 and 65535, not '%s'"), name, value);
      return FALSE;
    }
  port = (int) parsed;
  return TRUE;
}

static int socket_mode = -1;

static gboolean
on_socket_mode (const char *name, const char *value, gpointer data, GError **error)
{
  guint64 parsed;

  if (!g_ascii_string_to_unsigned (value, 8, 0, 0777, &parsed, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("%s must be octal permission bits between 0 and 0777, not '%s'"), name, value);
      return FALSE;
    }
  socket_mode = (int) parsed;
  return TRUE;
}

static gboolean
on_verbose (const char *name, const char *value, gpointer data, GError **error)
{
  verbosity++;
  return TRUE;
}

/* The journal: every entry with SYSLOG_IDENTIFIER=juno (GLib's journald
 * writer sets none), so `journalctl -t juno` finds them. */
static GLogWriterOutput
write_journal (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  g_autofree GLogField *all = g_new (GLogField, n_fields + 1);
  gsize n = 0;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "SYSLOG_IDENTIFIER") != 0)
      all[n++] = fields[i];
  all[n++] = (GLogField) { "SYSLOG_IDENTIFIER", JUNO_SYSLOG_IDENTIFIER, -1 };
  return g_log_writer_journald (level, all, n, data);
}

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  g_autofree char *line = NULL;

  if ((level & G_LOG_LEVEL_DEBUG) && verbosity < 2)
    return G_LOG_WRITER_HANDLED;
  if ((level & G_LOG_LEVEL_INFO) && verbosity < 1)
    return G_LOG_WRITER_HANDLED;
  if (g_log_writer_is_journald (fileno (stderr)) &&
      write_journal (level, fields, n_fields, data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;

  line = g_log_writer_format_fields (level, fields, n_fields, g_log_writer_supports_color (fileno (stderr)));
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) < 0)
        g_debug ("Could not raise the file descriptor limit");
    }
}

static gboolean
check_options (JunoDaemonOptions *options, GError **error)
{
  const char *bad = NULL;

  if (options->call_timeout < 0 || options->call_timeout > 365.0 * 24 * 3600)
    bad = _("--call-timeout must be a number of seconds, 0 for none");
  else if (options->dbus_call_timeout < 0 || options->dbus_call_timeout > 365.0 * 24 * 3600)
    bad = _("--dbus-call-timeout must be a number of seconds, 0 for that of --call-timeout");
  else if (options->max_message_size < 64)
    bad = _("--max-message-size must be at least 64 bytes");
  else if (options->max_calls_in_flight < 1)
    bad = _("--max-calls-in-flight must be at least 1");
  else if (options->max_connections < 0)
    bad = _("--max-connections must be a number of connections, 0 for as many as the file descriptor limit allows");
  else if (options->max_connections_per_user < -1 || options->max_calls_per_user < -1)
    bad = _("--max-connections-per-user and --max-calls-per-user must be a number, 0 for no limit");
  else if (options->max_output_backlog < 4096)
    bad = _("--max-output-backlog must be at least 4096 bytes");
  else if (options->max_total_buffer < 0 ||
           (options->max_total_buffer != 0 && options->max_total_buffer < options->max_output_backlog))
    bad = _("--max-total-buffer must be 0 (a share of memory) or at least --max-output-backlog");
  else if (options->max_output_per_user < -1 ||
           (options->max_output_per_user > 0 && options->max_output_per_user < 4096))
    bad = _("--max-output-per-user must be 0 (no limit) or at least 4096 bytes");
  else if (options->max_names < 0)
    bad = _("--max-names must be a number of names");
  else if (options->busy_poll < 0 || options->busy_poll > JUNO_POLLER_BUSY_POLL_MAX)
    bad = _("--busy-poll must be a number of microseconds from 0 to 1000");
  else if (options->max_name_length < 1)
    bad = _("--max-name-length must be at least 1 byte");
  else if (options->socket_path != NULL && options->socket_path[0] == '\0')
    bad = _("--socket-location must not be empty");
  else if (!juno_daemon_bus_name_valid (options->bus))
    bad = _("--bus must be session, system or none");
  else if (!juno_daemon_policy_name_valid (options->policy))
    bad = _("--policy must be user or system");
  else if (options->balance != NULL && !g_str_equal (options->balance, "local") && !g_str_equal (options->balance, "spread"))
    bad = _("--federation-balance must be local or spread");
  else if (options->nats == NULL &&
           (options->federation.federation != NULL || options->federation.broker_name != NULL ||
            options->federation.creds_file != NULL || options->federation.user != NULL ||
            options->federation.password != NULL || options->federation.token != NULL ||
            options->federation.tls_ca != NULL || options->federation.tls_cert != NULL ||
            options->federation.tls_key != NULL || options->federation.heartbeat != 0 ||
            options->federation.timeout != 0 || options->balance != NULL))
    bad = _("the federation options need --nats");
  else if (options->nats != NULL && !juno_federation_supported ())
    bad = _("juno was built without NATS support: --nats is not available");

  if (bad != NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, bad);
      return FALSE;
    }
  if (options->nats != NULL)
    {
      g_auto(GStrv) urls = g_strsplit (options->nats, ",", -1);
      g_autoptr(GPtrArray) servers = g_ptr_array_new ();

      for (guint i = 0; urls[i] != NULL; i++)
        {
          g_strstrip (urls[i]);
          if (urls[i][0] != '\0')
            g_ptr_array_add (servers, g_strdup (urls[i]));
        }
      g_ptr_array_add (servers, NULL);
      options->federation.servers = (char **) g_ptr_array_free (g_steal_pointer (&servers), FALSE);
      options->federation.spread = g_strcmp0 (options->balance, "spread") == 0;
      if (!juno_federation_options_check (&options->federation, error))
        return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_auto(JunoDaemonOptions) options;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JunoDaemon) daemon = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *default_path = NULL;
  g_autofree char *summary = NULL;
  gboolean version = FALSE;
  g_autofree char *config_option = NULL;
  g_autofree char *config_path = NULL;
  g_auto(GStrv) config_args = NULL;
  gboolean config_given;

  g_set_prgname (JUNO_SYSLOG_IDENTIFIER);
  juno_i18n_init ();

  juno_daemon_options_init (&options);
  {
    const GOptionEntry entries[] = {
      { "socket-location", 's', 0, G_OPTION_ARG_FILENAME, &options.socket_path,
        N_("Listen on the Unix socket FILE"), N_("FILE") },
      { "socket-mode", 0, 0, G_OPTION_ARG_CALLBACK, on_socket_mode,
        N_("Permission bits of the Unix socket, in octal (default 0600; 0666 for the system broker, "
           "whose access policy decides; a socket from systemd keeps its unit's SocketMode=)"), N_("MODE") },
      { "port", 'p', 0, G_OPTION_ARG_CALLBACK, on_port,
        N_("Listen on TCP port PORT (0 picks a free port); without -s, TCP only"), N_("PORT") },
      { "bind-addr", 0, 0, G_OPTION_ARG_STRING, &options.bind_address,
        N_("Address the TCP listener binds to (default 127.0.0.1)"), N_("ADDR") },
      { "verbose", 'V', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, on_verbose,
        N_("Log more; repeat for debug output"), NULL },
      { "version", 'v', 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
      { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_option,
        N_("Read settings from FILE (default: juno.conf in the user's configuration directory, "
           "or /etc/juno for the system broker); the command line overrides them; see juno.conf(5)"),
        N_("FILE") },
      { "call-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.call_timeout,
        N_("Answer a call with error 9 after SECONDS (default 30, 0 for never)"), N_("SECONDS") },
      { "dbus-call-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.dbus_call_timeout,
        N_("Answer a D-Bus CallFunction with CallTimedOut after SECONDS, or after --call-timeout if shorter "
           "(default 20, 0 for --call-timeout)"), N_("SECONDS") },
      { "max-message-size", 0, 0, G_OPTION_ARG_INT64, &options.max_message_size,
        N_("Longest message accepted, in bytes (default 1048576)"), N_("BYTES") },
      { "max-calls-in-flight", 0, 0, G_OPTION_ARG_INT, &options.max_calls_in_flight,
        N_("Calls one module may have waiting for answers (default 1024)"), N_("N") },
      { "max-connections", 0, 0, G_OPTION_ARG_INT, &options.max_connections,
        N_("Connections open at once (default 0: the file descriptor limit less 32)"), N_("N") },
      { "max-connections-per-user", 0, 0, G_OPTION_ARG_INT, &options.max_connections_per_user,
        N_("Connections one user (uid) may have open at once, the broker's own user excepted "
           "(default: a quarter of --max-connections, at least 64; 0 for no limit)"), N_("N") },
      { "max-calls-per-user", 0, 0, G_OPTION_ARG_INT, &options.max_calls_per_user,
        N_("Calls one user (uid) may have waiting for answers across its connections "
           "(default: 4 times --max-calls-in-flight; 0 for no limit)"), N_("N") },
      { "max-output-backlog", 0, 0, G_OPTION_ARG_INT64, &options.max_output_backlog,
        N_("Unread output after which a connection is cut off, in bytes (default 16777216)"), N_("BYTES") },
      { "max-output-per-user", 0, 0, G_OPTION_ARG_INT64, &options.max_output_per_user,
        N_("Unread output one user (uid) may have queued across its connections, in bytes, the broker's own "
           "user excepted (default: a quarter of --max-total-buffer, at least --max-output-backlog; 0 for no limit)"),
        N_("BYTES") },
      { "max-total-buffer", 0, 0, G_OPTION_ARG_INT64, &options.max_total_buffer,
        N_("Output queued for all connections, and partial lines held for all connections, in bytes each "
           "(default 0: a sixteenth of physical memory)"), N_("BYTES") },
      { "max-names", 0, 0, G_OPTION_ARG_INT, &options.max_names,
        N_("Functions a module may declare and hooks it may listen for, together (default 4096)"), N_("N") },
      { "max-name-length", 0, 0, G_OPTION_ARG_INT, &options.max_name_length,
        N_("Longest function name or hook address a module may declare or listen for, in bytes (default 256)"),
        N_("BYTES") },
      { "busy-poll", 0, 0, G_OPTION_ARG_INT, &options.busy_poll,
        N_("After a turn with messages, poll for up to USEC microseconds before sleeping: lower latency "
           "for the CPU time spent polling; never on one CPU (default 0, at most 1000)"),
        N_("USEC") },
      { "bus", 0, 0, G_OPTION_ARG_STRING, &options.bus,
        N_("D-Bus control plane on the session bus, the system bus, or none (default: session if reachable)"),
        N_("session|system|none") },
      { "policy", 0, 0, G_OPTION_ARG_STRING, &options.policy,
        N_("Built-in access rules and policy directories of a per-user or the system broker "
           "(default: system with --bus=system, else user); see juno.policy(5)"),
        N_("user|system") },
      { "nats", 0, 0, G_OPTION_ARG_STRING, &options.nats,
        N_("Join a federation of brokers through these NATS servers (comma-separated URLs); see "
           "docs/federation.md"), N_("URL[,URL...]") },
      { "federation", 0, 0, G_OPTION_ARG_STRING, &options.federation.federation,
        N_("Name of the federation to join: brokers of other federations on the same NATS are not seen "
           "(default juno)"), N_("NAME") },
      { "broker-name", 0, 0, G_OPTION_ARG_STRING, &options.federation.broker_name,
        N_("This broker's name in the federation (default: the host name)"), N_("NAME") },
      { "nats-creds", 0, 0, G_OPTION_ARG_FILENAME, &options.federation.creds_file,
        N_("NATS credentials file (user JWT and seed)"), N_("FILE") },
      { "nats-user", 0, 0, G_OPTION_ARG_STRING, &options.federation.user,
        N_("NATS user name"), N_("USER") },
      { "nats-password", 0, 0, G_OPTION_ARG_STRING, &options.federation.password,
        N_("NATS password (better in juno.conf, readable by the broker only)"), N_("PASSWORD") },
      { "nats-token", 0, 0, G_OPTION_ARG_STRING, &options.federation.token,
        N_("NATS authentication token (better in juno.conf, readable by the broker only)"), N_("TOKEN") },
      { "nats-tls-ca", 0, 0, G_OPTION_ARG_FILENAME, &options.federation.tls_ca,
        N_("Connect to NATS over TLS, trusting the CA certificates in FILE"), N_("FILE") },
      { "nats-tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &options.federation.tls_cert,
        N_("Client certificate for NATS over TLS (with --nats-tls-key)"), N_("FILE") },
      { "nats-tls-key", 0, 0, G_OPTION_ARG_FILENAME, &options.federation.tls_key,
        N_("Private key of --nats-tls-cert"), N_("FILE") },
      { "federation-heartbeat", 0, 0, G_OPTION_ARG_DOUBLE, &options.federation.heartbeat,
        N_("Seconds between this broker's heartbeats (default 2)"), N_("SECONDS") },
      { "federation-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.federation.timeout,
        N_("A broker not heard from for SECONDS is gone, and its modules with it (default 6)"), N_("SECONDS") },
      { "federation-balance", 0, 0, G_OPTION_ARG_STRING, &options.balance,
        N_("Calls to a module with a local instance go to it (local), or are spread over all its instances "
           "(spread) (default local)"), N_("local|spread") },
      { "policy-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &options.policy_dirs,
        N_("Read the policy files from DIR instead of the default directories; repeat for more, "
           "a later one's file replacing an earlier one's of the same name"), N_("DIR") },
      { NULL }
    };

    default_path = juno_default_socket_path ();
    summary = g_strdup_printf (_("A message broker for modules that speak the Juno protocol.\n"
                                 "Default socket: %s"), default_path);
    context = g_option_context_new (NULL);
    g_option_context_set_summary (context, summary);
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
    g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
    config_path = g_strdup (juno_config_find_arg (argc, argv, &config_given));
    if (config_path == NULL)
      config_path = juno_config_default_path ();
    config_args = juno_config_load (config_path, config_given, entries, &error);
    if (config_args == NULL)
      {
        g_printerr ("juno: %s\n", error->message);
        return EXIT_USAGE;
      }
    if (!juno_config_parse (context, entries, config_args, config_path, &argc, &argv, &error))
      {
        g_printerr ("juno: %s\n", error->message);
        g_printerr (_("Run 'juno --help' to see the options.\n"));
        return EXIT_USAGE;
      }
  }

  if (version)
    {
      g_print ("juno %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (argc > 1)
    {
      g_printerr (_("juno: unexpected argument '%s'\n"), argv[1]);
      return EXIT_USAGE;
    }
  options.socket_given = options.socket_path != NULL;
  options.port = port;
  options.socket_mode = socket_mode;
  if (!check_options (&options, &error))
    {
      g_printerr ("juno: %s\n", error->message);
      return EXIT_USAGE;
    }

  /* before any socket or bus name: a broker that cannot federate does not start */
  if (options.nats != NULL && !juno_federation_load (&error))
    {
      g_printerr ("juno: %s\n", error->message);
      return EXIT_FAILURE;
    }

  g_log_set_writer_func (log_writer, NULL, NULL);
  raise_fd_limit ();

  daemon = juno_daemon_new (&options, &error);
  if (daemon == NULL)
    {
      g_printerr ("juno: %s\n", error->message);
      return EXIT_FAILURE;
    }
  juno_daemon_run (daemon);
  return EXIT_SUCCESS;
}
