/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-daemon.h: the broker process as one context object
 *
 * Holds the options, the broker, the listener (bound, or adopted from
 * systemd), the lock beside the Unix socket, the D-Bus control plane and
 * the main loop. main() creates one; tests could create two.
 */
#pragma once

#include <glib.h>

#include "juno-federation.h"

G_BEGIN_DECLS

typedef struct
{
  char *socket_path;        /* NULL: default path, unless only TCP is asked */
  gboolean socket_given;
  int socket_mode;          /* permission bits of the socket file; -1: 0666 for the system broker, else 0600 */
  int port;                 /* -1: no TCP */
  char *bind_address;       /* NULL: 127.0.0.1 */
  int verbosity;
  double call_timeout;      /* seconds; 0 = never */
  double dbus_call_timeout; /* seconds, for D-Bus callers; 0 = call_timeout */
  gint64 max_message_size;
  int max_calls_in_flight;
  int max_connections;
  int max_connections_per_user; /* -1: a quarter of max_connections, at least 64; 0: none */
  int max_calls_per_user;       /* -1: 4 * max_calls_in_flight; 0: none */
  gint64 max_output_backlog;
  gint64 max_output_per_user;   /* -1: a quarter of max_total_buffer, at least max_output_backlog; 0: none */
  gint64 max_total_buffer;  /* 0: a sixteenth of physical memory */
  int max_names;
  int max_name_length;
  int busy_poll;            /* µs of polling before sleeping after a busy turn; 0: none */
  char *bus;                /* "session", "system", "none"; NULL: session if reachable */
  char *policy;             /* "user", "system"; NULL: system with --bus=system, else user */
  char **policy_dirs;       /* NULL: the directories of juno.policy(5) */
  /* federation over NATS (docs/federation.md) */
  char *nats;               /* --nats: URLs, comma-separated; NULL: no federation */
  char *balance;            /* --federation-balance: "local" or "spread"; NULL: local */
  JunoFederationOptions federation; /* servers filled from nats */
} JunoDaemonOptions;

typedef struct _JunoDaemon JunoDaemon;

void juno_daemon_options_init (JunoDaemonOptions *options);
void juno_daemon_options_clear (JunoDaemonOptions *options);
gboolean juno_daemon_bus_name_valid (const char *bus);
gboolean juno_daemon_policy_name_valid (const char *policy);

JunoDaemon *juno_daemon_new (const JunoDaemonOptions *options, GError **error);
void juno_daemon_run (JunoDaemon *self);
/* Reads the policy files again; on a mistake the policy in force stays and
 * @error says where ("file:line: what"). */
gboolean juno_daemon_reload_policy (JunoDaemon *self, GError **error);
void juno_daemon_free (JunoDaemon *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoDaemon, juno_daemon_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JunoDaemonOptions, juno_daemon_options_clear)

G_END_DECLS
