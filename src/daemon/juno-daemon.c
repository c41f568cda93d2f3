/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-daemon.c: see juno-daemon.h
 *
 * Start-up order: the sockets (adopted from systemd, or lock then bind),
 * the D-Bus name (owned or given up), then READY=1. Shutdown on SIGINT or
 * SIGTERM: STOPPING=1, every connection closed through the broker (so the
 * calls in flight, D-Bus ones too, are answered), the D-Bus connection
 * closed, and the socket and lock file removed, only if this broker made
 * them: a socket from systemd is never unlinked.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "juno-broker.h"
#include "juno-common.h"
#include "juno-daemon.h"
#include "juno-dbus-service.h"
#include "juno-listener.h"
#include "juno-systemd.h"

#define DEFAULT_BIND_ADDRESS "127.0.0.1"
#define DEFAULT_CALL_TIMEOUT ((double) JUNO_CALL_TIMEOUT_DEFAULT_SEC)
/* below the 25 s that busctl, gdbus and GDBus proxies wait by default, so
 * that their users see CallTimedOut rather than their own NoReply */
#define DEFAULT_DBUS_CALL_TIMEOUT 20.0
#define DEFAULT_MAX_MESSAGE_SIZE (1024 * 1024)
#define DEFAULT_MAX_CALLS_IN_FLIGHT 1024
#define DEFAULT_MAX_CONNECTIONS 0 /* from the file descriptor limit */
/* descriptors kept for listeners, D-Bus, the journal, epoll and the like */
#define RESERVED_FDS 32
#define DEFAULT_MAX_OUTPUT_BACKLOG (16 * 1024 * 1024)
#define DEFAULT_MAX_NAMES 4096
#define DEFAULT_MAX_NAME_LENGTH 256
/* each of the two totals (output, partial lines) gets this share of RAM */
#define DEFAULT_TOTAL_BUFFER_SHARE 16
#define MIN_DEFAULT_TOTAL_BUFFER (64 * 1024 * 1024)
#define BUS_READY_TIMEOUT_SEC 10
#define STATUS_DELAY_MSEC 250

struct _JunoDaemon
{
  GMainLoop *loop;
  JunoBroker *broker;
  JunoListener *listener;
  char *socket_path;  /* the Unix socket this broker created, or NULL */
  char *lock_path;
  int lock_fd;
  JunoPollHandler signals;  /* a signalfd for SIGINT, SIGTERM, SIGHUP; fd -1 when none */
  JunoPolicyDefaults policy_defaults;
  char **policy_dirs;
  JunoDBusService *dbus;    /* NULL with --bus=none */
  JunoFederation *federation; /* NULL without --nats */
  GBusType bus_type;
  gboolean ready;
  guint bus_timeout_id;
  guint watchdog_id;
  guint status_id;
  char *status;             /* the last STATUS= sent */
};

void
juno_daemon_options_init (JunoDaemonOptions *options)
{
  *options = (JunoDaemonOptions) {
    .port = -1,
    .socket_mode = -1,
    .call_timeout = DEFAULT_CALL_TIMEOUT,
    .dbus_call_timeout = DEFAULT_DBUS_CALL_TIMEOUT,
    .max_message_size = DEFAULT_MAX_MESSAGE_SIZE,
    .max_calls_in_flight = DEFAULT_MAX_CALLS_IN_FLIGHT,
    .max_connections = DEFAULT_MAX_CONNECTIONS,
    .max_connections_per_user = -1,
    .max_calls_per_user = -1,
    .max_output_backlog = DEFAULT_MAX_OUTPUT_BACKLOG,
    .max_output_per_user = -1,
    .max_names = DEFAULT_MAX_NAMES,
    .max_name_length = DEFAULT_MAX_NAME_LENGTH,
  };
}

void
juno_daemon_options_clear (JunoDaemonOptions *options)
{
  g_clear_pointer (&options->socket_path, g_free);
  g_clear_pointer (&options->bind_address, g_free);
  g_clear_pointer (&options->bus, g_free);
  g_clear_pointer (&options->policy, g_free);
  g_clear_pointer (&options->policy_dirs, g_strfreev);
  g_clear_pointer (&options->nats, g_free);
  g_clear_pointer (&options->balance, g_free);
  g_clear_pointer (&options->federation.servers, g_strfreev);
  g_clear_pointer (&options->federation.federation, g_free);
  g_clear_pointer (&options->federation.broker_name, g_free);
  g_clear_pointer (&options->federation.creds_file, g_free);
  g_clear_pointer (&options->federation.user, g_free);
  g_clear_pointer (&options->federation.password, g_free);
  g_clear_pointer (&options->federation.token, g_free);
  g_clear_pointer (&options->federation.tls_ca, g_free);
  g_clear_pointer (&options->federation.tls_cert, g_free);
  g_clear_pointer (&options->federation.tls_key, g_free);
}

gboolean
juno_daemon_policy_name_valid (const char *policy)
{
  return policy == NULL || g_str_equal (policy, "user") || g_str_equal (policy, "system");
}

gboolean
juno_daemon_bus_name_valid (const char *bus)
{
  return bus == NULL || g_str_equal (bus, "session") || g_str_equal (bus, "system") || g_str_equal (bus, "none");
}

/* The default --bus: the session bus when one is there to talk to. */
static gboolean
session_bus_reachable (void)
{
  const char *address = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  const char *runtime_dir = juno_get_runtime_dir ();
  g_autofree char *path = NULL;
  GStatBuf st;

  if (address != NULL && address[0] != '\0')
    return TRUE;
  if (runtime_dir == NULL)
    return FALSE;
  path = g_build_filename (runtime_dir, "bus", NULL);
  return g_stat (path, &st) == 0 && S_ISSOCK (st.st_mode);
}

/* Whether a broker answers on the Unix socket @path. */
static gboolean
socket_is_live (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;
  gboolean live;

  if (strlen (path) >= sizeof addr.sun_path)
    return FALSE;
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  live = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0 || errno == EAGAIN;
  close (fd);
  return live;
}

/* Takes <socket>.lock, a regular file of ours (never through a symbolic
 * link) in a directory that no other user owns. The lock alone does not
 * prove that no broker serves the socket (its lock file may have been
 * deleted), so a socket file is replaced only when nothing answers on it. */
static gboolean
take_lock (JunoDaemon *self, const char *socket_path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (socket_path);
  GStatBuf st;
  struct stat lock_st;
  gboolean locked, live;

  if (g_stat (dir, &st) == 0 && st.st_uid != geteuid () && st.st_uid != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("%s belongs to another user: put the socket in a directory of your own"), dir);
      return FALSE;
    }
  self->lock_path = g_strconcat (socket_path, ".lock", NULL);
  self->lock_fd = open (self->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (self->lock_fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot open lock file %s: %s"),
                   self->lock_path, g_strerror (saved));
      g_clear_pointer (&self->lock_path, g_free);
      return FALSE;
    }
  if (fstat (self->lock_fd, &lock_st) < 0 || !S_ISREG (lock_st.st_mode) || lock_st.st_uid != geteuid () ||
      lock_st.st_nlink != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("lock file %s is not a regular file of this user"), self->lock_path);
      close (self->lock_fd);
      self->lock_fd = -1;
      g_clear_pointer (&self->lock_path, g_free);
      return FALSE;
    }
  locked = flock (self->lock_fd, LOCK_EX | LOCK_NB) == 0;
  live = socket_is_live (socket_path);
  if (!locked || live)
    {
      /* another broker only when one is there: its lock held and it answers */
      if (!locked && live)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("another broker is running on %s"), socket_path);
      else if (live)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     _("%s is in use: a process answers on it but holds no lock %s (a broker whose lock file "
                       "was removed, or another program)"), socket_path, self->lock_path);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     _("%s is locked by another process (a broker starting or stopping?) but nothing answers "
                       "on %s; try again, or stop that process"), self->lock_path, socket_path);
      close (self->lock_fd);
      self->lock_fd = -1;
      g_clear_pointer (&self->lock_path, g_free);
      return FALSE;
    }

  if (g_lstat (socket_path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("%s exists and is not a socket"), socket_path);
          return FALSE;
        }
      g_message ("Replacing the stale socket %s: no broker holds its lock and nothing answers on it",
                 socket_path);
      g_unlink (socket_path);
    }
  return TRUE;
}

/* The default --socket-mode. A per-user broker's socket is its user's
 * alone (0600; its runtime directory is private anyway). The system broker
 * (the system policy's defaults, or the socket /run/juno/juno.sock) lets
 * every local user connect (0666): its access policy decides what each
 * may do, as for juno.socket's SocketMode=0666. */
static mode_t
default_socket_mode (JunoDaemon *self, const char *path)
{
  if (self->policy_defaults == JUNO_POLICY_DEFAULTS_SYSTEM || g_str_equal (path, JUNO_SYSTEM_SOCKET_PATH))
    return 0666;
  return 0600;
}

static gboolean
listen_unix (JunoDaemon *self, const char *path, int socket_mode, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  mode_t mode = socket_mode >= 0 ? (mode_t) socket_mode : default_socket_mode (self, path);
  mode_t old_umask;
  gboolean bound;

  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot create %s: %s"), dir,
                   g_strerror (saved));
      return FALSE;
    }
  if (!take_lock (self, path, error))
    return FALSE;
  /* created with @mode (bind() applies the umask), so no other mode is
   * ever visible; chmod() then sets what the umask cannot (group or other
   * bits the umask of the caller masks out) */
  old_umask = umask (~mode & 0777);
  bound = juno_listener_listen_unix (self->listener, path, error);
  umask (old_umask);
  if (!bound)
    return FALSE;
  self->socket_path = g_strdup (path);
  if (g_chmod (path, mode) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot set the mode of %s: %s"), path,
                   g_strerror (saved));
      return FALSE;
    }
  g_info ("Socket %s, mode %04o", path, (unsigned) mode);
  return TRUE;
}

static void
log_policy (JunoDaemon *self, JunoPolicy *policy, const char *verb)
{
  const char *const *files = juno_policy_get_files (policy);
  g_autofree char *joined = g_strjoinv (" ", (char **) files);
  g_autofree char *message = g_strdup_printf ("Access policy %s: %u rules (%s defaults%s%s)", verb,
                                              juno_policy_get_n_rules (policy),
                                              self->policy_defaults == JUNO_POLICY_DEFAULTS_SYSTEM ? "system" : "user",
                                              files[0] ? ", " : "", joined);
  /* a reload is the operator's doing: say it without --verbose */
  gboolean reload = g_str_equal (verb, "reloaded");
  const GLogField fields[] = {
    { "MESSAGE", message, -1 },
    { "MESSAGE_ID", JUNO_MESSAGE_ID_POLICY_LOADED, -1 },
    { "PRIORITY", reload ? "5" : "6", -1 },
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
  };

  g_log_structured_array (reload ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_INFO, fields, G_N_ELEMENTS (fields));
}

static JunoPolicy *
load_policy (JunoDaemon *self, GError **error)
{
  return juno_policy_load (self->policy_defaults, geteuid (), (const char *const *) self->policy_dirs, error);
}

gboolean
juno_daemon_reload_policy (JunoDaemon *self, GError **error)
{
  g_autoptr(JunoPolicy) policy = load_policy (self, error);

  if (policy == NULL)
    {
      g_warning ("Access policy not reloaded, the old one stays in force: %s", (*error)->message);
      return FALSE;
    }
  juno_broker_set_policy (self->broker, policy);
  log_policy (self, policy, "reloaded");
  return TRUE;
}

static void
on_sighup (JunoDaemon *self)
{
  g_autoptr(GError) error = NULL;

  juno_daemon_reload_policy (self, &error);
}

static gboolean
setup_policy (JunoDaemon *self, const JunoDaemonOptions *options, GError **error)
{
  g_autoptr(JunoPolicy) policy = NULL;
  gboolean system = options->policy != NULL ? g_str_equal (options->policy, "system")
                                            : g_strcmp0 (options->bus, "system") == 0;

  self->policy_defaults = system ? JUNO_POLICY_DEFAULTS_SYSTEM : JUNO_POLICY_DEFAULTS_USER;
  self->policy_dirs = options->policy_dirs ? g_strdupv (options->policy_dirs)
                                           : juno_policy_default_dirs (self->policy_defaults);
  policy = load_policy (self, error);
  if (policy == NULL)
    return FALSE;
  juno_broker_set_policy (self->broker, policy);
  log_policy (self, policy, "loaded");
  return TRUE;
}

static void
on_quit_signal (JunoDaemon *self)
{
  g_message ("Shutting down");
  g_main_loop_quit (self->loop);
}

/* SIGINT, SIGTERM and SIGHUP come from a signalfd in the connections' epoll
 * set, not as three g_unix_signal_add() sources: every GSource of the
 * context is prepared and checked on every main-loop iteration, and three
 * of them cost about 900 instructions per call at one call in flight
 * (docs/performance.md, "The access policy"; docs/design.md). The signals
 * are blocked in every thread (before any is started), so they only ever
 * arrive here. */
static void
on_signals (JunoPollHandler *handler, guint32 events)
{
  JunoDaemon *self = G_STRUCT_MEMBER_P (handler, -G_STRUCT_OFFSET (JunoDaemon, signals));
  struct signalfd_siginfo info;

  (void) events;
  while (read (handler->fd, &info, sizeof info) == sizeof info)
    {
      if (info.ssi_signo == SIGHUP)
        on_sighup (self);
      else
        on_quit_signal (self);
    }
}

static gboolean
watch_signals (JunoDaemon *self, GError **error)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  self->signals.func = on_signals;
  self->signals.fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (self->signals.fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "signalfd: %s", g_strerror (saved));
      return FALSE;
    }
  return juno_poller_add (juno_listener_get_poller (self->listener), &self->signals, EPOLLIN, error);
}

/* With @ready, READY=1 goes in the same datagram: readers that take only
 * the first datagram still see it. */
static void
send_status (JunoDaemon *self, gboolean ready)
{
  const JunoStats *stats = juno_broker_get_stats (self->broker);
  g_autofree char *status = g_strdup_printf ("%" G_GUINT64_FORMAT " modules (%" G_GUINT64_FORMAT
                                             " active), %" G_GUINT64_FORMAT " connections",
                                             stats->modules, stats->active_modules, stats->connections);

  if (!ready && g_strcmp0 (status, self->status) == 0)
    return;
  juno_sd_notifyf ("%sSTATUS=%s", ready ? "READY=1\n" : "", status);
  g_free (self->status);
  self->status = g_steal_pointer (&status);
}

static gboolean
on_status_timeout (gpointer data)
{
  JunoDaemon *self = data;

  self->status_id = 0;
  send_status (self, FALSE);
  return G_SOURCE_REMOVE;
}

/* Lifecycle changes: STATUS= follows them, at most every STATUS_DELAY_MSEC. */
static void
schedule_status (JunoDaemon *self)
{
  if (self->status_id == 0 && self->ready)
    self->status_id = g_timeout_add (STATUS_DELAY_MSEC, on_status_timeout, self);
}

static void
on_broker_lifecycle (JunoDaemon *self)
{
  schedule_status (self);
}

static void
log_ready (JunoDaemon *self)
{
  g_auto(GStrv) addresses = juno_listener_dup_addresses (self->listener);
  g_autofree char *joined = g_strjoinv (" ", addresses);
  g_autofree char *message = g_strdup_printf ("juno %s ready on %s", juno_broker_get_version (self->broker),
                                              joined);
  const GLogField fields[] = {
    { "MESSAGE", message, -1 },
    { "MESSAGE_ID", JUNO_MESSAGE_ID_READY, -1 },
    { "PRIORITY", "6", -1 },
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    { "JUNO_ADDRESSES", joined, -1 },
  };

  g_log_structured_array (G_LOG_LEVEL_INFO, fields, G_N_ELEMENTS (fields));
}

static void
become_ready (JunoDaemon *self)
{
  if (self->ready)
    return;
  self->ready = TRUE;
  log_ready (self);
  g_clear_handle_id (&self->bus_timeout_id, g_source_remove);
  send_status (self, TRUE);
}

static void
on_dbus_ready (JunoDBusService *service, gboolean owned, gpointer data)
{
  become_ready (data);
}

static gboolean
on_bus_timeout (gpointer data)
{
  JunoDaemon *self = data;

  self->bus_timeout_id = 0;
  g_warning ("No answer from the D-Bus bus within %d s; serving the sockets without waiting for it",
             BUS_READY_TIMEOUT_SEC);
  become_ready (self);
  return G_SOURCE_REMOVE;
}

static gboolean
setup_sockets (JunoDaemon *self, const JunoDaemonOptions *options, GError **error)
{
  int adopted = juno_sd_adopt_listen_fds (self->listener, error);

  if (adopted < 0)
    return FALSE;
  if (adopted > 0)
    {
      if (options->socket_given || options->port >= 0 || options->socket_mode >= 0)
        g_message ("Serving the %d socket(s) from systemd; --socket-location, --socket-mode and --port are "
                   "ignored (the socket unit's ListenStream= and SocketMode= apply)", adopted);
      return TRUE;
    }

  if (options->socket_given || options->port < 0)
    {
      g_autofree char *path = options->socket_path ? g_strdup (options->socket_path)
                                                   : juno_default_socket_path ();

      if (!listen_unix (self, path, options->socket_mode, error))
        return FALSE;
    }
  if (options->port >= 0)
    {
      const char *address = options->bind_address ? options->bind_address : DEFAULT_BIND_ADDRESS;
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

      if (!juno_listener_listen_tcp (self->listener, address, (guint16) options->port, NULL, error))
        return FALSE;
      if (inet != NULL && !g_inet_address_get_is_loopback (inet))
        g_warning ("The TCP listener on %s can be reached from other hosts, and TCP has no access control: "
                   "anyone who can connect can register modules, call every function and trigger hooks", address);
    }
  return TRUE;
}

static void
setup_dbus (JunoDaemon *self, const JunoDaemonOptions *options)
{
  g_auto(GStrv) addresses = NULL;

  if (options->bus == NULL)
    {
      if (!session_bus_reachable ())
        {
          g_message ("No D-Bus session bus reachable: the D-Bus control plane is off (--bus=session to ask for it)");
          return;
        }
      self->bus_type = G_BUS_TYPE_SESSION;
    }
  else if (g_str_equal (options->bus, "none"))
    return;
  else
    self->bus_type = g_str_equal (options->bus, "system") ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION;

  addresses = juno_listener_dup_addresses (self->listener);
  self->dbus = juno_dbus_service_new (self->broker, (const char *const *) addresses);
  juno_dbus_service_set_call_timeout (self->dbus, (guint64) (options->dbus_call_timeout * G_USEC_PER_SEC));
  juno_dbus_service_set_reload_func (self->dbus, (JunoDBusReloadFunc) juno_daemon_reload_policy, self);
}

/* --max-total-buffer 0: a share of physical memory. */
static gsize
max_total_buffer (const JunoDaemonOptions *options)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);

  if (options->max_total_buffer > 0)
    return (gsize) options->max_total_buffer;
  if (pages <= 0 || page_size <= 0)
    return MIN_DEFAULT_TOTAL_BUFFER;
  return MAX ((gsize) pages / DEFAULT_TOTAL_BUFFER_SHARE * (gsize) page_size, MIN_DEFAULT_TOTAL_BUFFER);
}

/* --max-output-per-user -1: a quarter of all output, and at least what one
 * connection may queue. */
static gsize
max_output_per_user (const JunoDaemonOptions *options, const JunoListenerLimits *limits)
{
  if (options->max_output_per_user >= 0)
    return (gsize) options->max_output_per_user;
  return MAX (limits->max_total_buffer / 4, limits->max_output_backlog);
}

/* --max-connections 0: as many as the descriptor limit leaves room for, so
 * raising the limit (LimitNOFILE=, ulimit -n) is all 100 000 modules need. */
static guint
max_connections (const JunoDaemonOptions *options)
{
  struct rlimit limit;
  rlim_t n;

  if (options->max_connections > 0)
    return (guint) options->max_connections;
  if (getrlimit (RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY)
    return G_MAXINT;
  n = limit.rlim_cur > 2 * RESERVED_FDS ? limit.rlim_cur - RESERVED_FDS : limit.rlim_cur / 2;
  return (guint) MAX (1, MIN (n, (rlim_t) G_MAXINT));
}

/* Before any thread exists (GDBus starts one), so that every thread
 * inherits the mask and the signals wait for the signalfd. */
static void
block_signals (void)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
}

JunoDaemon *
juno_daemon_new (const JunoDaemonOptions *options, GError **error)
{
  g_autoptr(JunoDaemon) self = g_new0 (JunoDaemon, 1);
  JunoListenerLimits limits = {
    .max_connections = max_connections (options),
    .max_message_size = (gsize) options->max_message_size,
    .max_output_backlog = (gsize) options->max_output_backlog,
    .max_total_buffer = max_total_buffer (options),
  };

  self->lock_fd = -1;
  self->signals.fd = -1;
  block_signals ();
  self->loop = g_main_loop_new (NULL, FALSE);
  self->broker = juno_broker_new ();
  juno_broker_set_call_timeout (self->broker, (guint64) (options->call_timeout * G_USEC_PER_SEC));
  juno_broker_set_max_calls_in_flight (self->broker, (guint) options->max_calls_in_flight);
  juno_broker_set_name_limits (self->broker, (guint) options->max_names, (guint) options->max_name_length);
  juno_broker_set_max_message_size (self->broker, (gsize) options->max_message_size);
  juno_broker_set_user_quotas (self->broker,
                               options->max_connections_per_user >= 0 ? (guint) options->max_connections_per_user
                                                                      : MAX (64, limits.max_connections / 4),
                               options->max_calls_per_user >= 0 ? (guint) options->max_calls_per_user
                                                                : 4 * (guint) options->max_calls_in_flight,
                               max_output_per_user (options, &limits));
  if (!setup_policy (self, options, error))
    return NULL;
  self->listener = juno_listener_new (self->broker, &limits, error);
  if (self->listener == NULL)
    return NULL;
  if (options->busy_poll > 0)
    {
      juno_poller_set_busy_poll (juno_listener_get_poller (self->listener), (guint) options->busy_poll);
      g_info ("Polling for up to %d µs before sleeping after a busy turn", options->busy_poll);
    }
  g_info ("Serving at most %u connections at once", limits.max_connections);
  g_info ("Buffers of all connections: at most %" G_GSIZE_FORMAT " bytes of output and as much of partial lines",
          limits.max_total_buffer);
  if (!setup_sockets (self, options, error))
    return NULL;
  /* before any module registers: module objects carry where they run */
  if (options->federation.servers != NULL)
    {
      self->federation = juno_federation_new (self->broker, juno_listener_get_poller (self->listener),
                                              &options->federation, error);
      if (self->federation == NULL)
        return NULL;
    }
  setup_dbus (self, options);
  if (self->dbus != NULL && self->federation != NULL)
    juno_dbus_service_set_federation (self->dbus, G_OBJECT (self->federation));

  g_signal_connect_swapped (self->broker, "module-connected", G_CALLBACK (on_broker_lifecycle), self);
  g_signal_connect_swapped (self->broker, "module-registered", G_CALLBACK (on_broker_lifecycle), self);
  g_signal_connect_swapped (self->broker, "module-activated", G_CALLBACK (on_broker_lifecycle), self);
  g_signal_connect_swapped (self->broker, "module-deactivated", G_CALLBACK (on_broker_lifecycle), self);
  g_signal_connect_swapped (self->broker, "module-disconnected", G_CALLBACK (on_broker_lifecycle), self);

  if (!watch_signals (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
juno_daemon_run (JunoDaemon *self)
{
  if (self->dbus != NULL)
    {
      self->bus_timeout_id = g_timeout_add_seconds (BUS_READY_TIMEOUT_SEC, on_bus_timeout, self);
      juno_dbus_service_start (self->dbus, self->bus_type, NULL, on_dbus_ready, self);
    }
  else
    become_ready (self);
  self->watchdog_id = juno_sd_watchdog_start ();
  g_main_loop_run (self->loop);
  juno_sd_notify ("STOPPING=1\nSTATUS=Shutting down");
}

void
juno_daemon_free (JunoDaemon *self)
{
  if (self->signals.fd >= 0)
    {
      if (self->signals.events != 0)
        juno_poller_remove (juno_listener_get_poller (self->listener), &self->signals);
      close (self->signals.fd);
      self->signals.fd = -1;
    }
  g_clear_handle_id (&self->bus_timeout_id, g_source_remove);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_handle_id (&self->status_id, g_source_remove);
  if (self->broker != NULL)
    g_signal_handlers_disconnect_by_data (self->broker, self);
  /* the other brokers hear goodbye; calls waiting on them get error 8 */
  if (self->federation != NULL)
    juno_federation_stop (self->federation);
  g_clear_object (&self->federation);
  /* answers every call in flight, D-Bus callers' too, while the bus is up */
  if (self->listener != NULL)
    juno_listener_close (self->listener);
  if (self->dbus != NULL)
    juno_dbus_service_stop (self->dbus);
  g_clear_object (&self->dbus);
  g_clear_object (&self->listener);
  g_clear_object (&self->broker);
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  if (self->lock_fd >= 0)
    {
      g_unlink (self->lock_path);
      close (self->lock_fd);
    }
  g_free (self->socket_path);
  g_free (self->lock_path);
  g_free (self->status);
  g_strfreev (self->policy_dirs);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_free (self);
}
