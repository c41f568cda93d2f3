/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-federation.h: brokers on many hosts, federated over NATS
 *
 * A JunoFederation attaches one broker to a NATS server or cluster
 * (docs/federation.md). It announces the broker's active modules, learns
 * those of the other brokers of its federation and registers each remote
 * moduleId in the local broker through a proxy endpoint (transport
 * "nats"), so that dependencies, calls, the access policy and every
 * juno.* hook work as for local modules. Calls to a proxy travel as NATS
 * requests on a queue group (one service, several instances); hooks a
 * local module triggers go to the brokers whose modules listen.
 *
 * The NATS side lives in a loadable module, juno-federation.so
 * (juno-federation-nats.c, with libnats and through it OpenSSL), which the
 * daemon loads only for --nats: a broker that is not federated does not
 * map those libraries, nor pay for their private data. What needs no NATS
 * (the option checks, the default broker name) is here, in the daemon,
 * and the module calls it. JunoFederation is a GObject whose type the
 * module registers: the daemon reads it with g_object_get and notify.
 *
 * cnats runs its I/O on threads of its own; every message and connection
 * event is handed to the main context through a bounded queue, so the
 * broker is only ever touched from the main thread.
 */
#pragma once

#include <glib-object.h>

#include "juno-broker.h"
#include "juno-poller.h"

G_BEGIN_DECLS

typedef struct
{
  char **servers;       /* NATS URLs; at least one */
  char *federation;     /* NULL: JUNO_FEDERATION_DEFAULT_NAME */
  char *broker_name;    /* NULL: from the host name */
  char *creds_file;     /* NATS credentials (JWT and seed) */
  char *user;
  char *password;
  char *token;
  char *tls_ca;
  char *tls_cert;
  char *tls_key;
  double heartbeat;     /* seconds; 0: JUNO_FEDERATION_HEARTBEAT_DEFAULT_SEC */
  double timeout;       /* seconds; 0: JUNO_FEDERATION_TIMEOUT_DEFAULT_SEC */
  gboolean spread;      /* balance a local instance's calls over every instance */
} JunoFederationOptions;

#define JUNO_FEDERATION_DEFAULT_NAME "juno"
#define JUNO_FEDERATION_HEARTBEAT_DEFAULT_SEC 2.0
#define JUNO_FEDERATION_TIMEOUT_DEFAULT_SEC 6.0
#define JUNO_FEDERATION_HEARTBEAT_MIN_SEC 0.1

typedef struct _JunoFederation JunoFederation;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoFederation, g_object_unref)

/* The environment variable naming the directory of the module instead of
 * the installed one (for a build tree, like GIO_MODULE_DIR) */
#define JUNO_MODULE_DIR_VARIABLE "JUNO_MODULE_DIR"

/* TRUE when this build can federate: cnats was found and the module
 * juno-federation.so built. Whether it loads is juno_federation_load's. */
gboolean juno_federation_supported (void);
/* The path of the module: in $JUNO_MODULE_DIR when set and not empty (and
 * the process is not set-id: secure_getenv), else in the installed
 * directory. Free with g_free. */
char *juno_federation_module_path (void);
/* Loads the module once and keeps it (g_module_make_resident), all its
 * symbols bound now: FALSE with @error (naming the path) when it is
 * missing, does not load, or belongs to another build of juno. */
gboolean juno_federation_load (GError **error);
/* The host name as a broker name: characters outside [A-Za-z0-9_-]
 * become '-'; "broker" when nothing is left. */
char *juno_federation_default_broker_name (void);
/* Checks @options (names, timings, servers): FALSE with @error otherwise. */
gboolean juno_federation_options_check (const JunoFederationOptions *options, GError **error);

/* Creates the federation of @broker (loading the module first if need be)
 * and starts connecting; a server that cannot be reached now is retried in
 * the background. Fails only on a module that does not load and on options
 * cnats refuses (unreadable credentials or certificates, bad URLs).
 * Names the broker (juno_broker_set_broker_name): create it before any
 * module registers. The NATS socket joins @poller, the broker's epoll set. */
JunoFederation *juno_federation_new (JunoBroker *broker, JunoPoller *poller, const JunoFederationOptions *options,
                                     GError **error);
/* Says goodbye to the other brokers, closes the connection, removes the
 * proxies (their callers get error 8). Called before the broker goes. */
void juno_federation_stop (JunoFederation *self);

/* Properties (read-only, with notify): "broker-name" (string), "state"
 * (string: connecting, connected, reconnecting, closed) and "brokers"
 * (GStrv: names of the other brokers seen, sorted). */
const char *juno_federation_get_state (JunoFederation *self);

G_END_DECLS
