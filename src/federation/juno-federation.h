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

#define JUNO_TYPE_FEDERATION (juno_federation_get_type ())
G_DECLARE_FINAL_TYPE (JunoFederation, juno_federation, JUNO, FEDERATION, GObject)

/* TRUE when this build can federate (cnats was found). */
gboolean juno_federation_supported (void);
/* The host name as a broker name: characters outside [A-Za-z0-9_-]
 * become '-'; "broker" when nothing is left. */
char *juno_federation_default_broker_name (void);
/* Checks @options (names, timings, servers): FALSE with @error otherwise. */
gboolean juno_federation_options_check (const JunoFederationOptions *options, GError **error);

/* Creates the federation of @broker and starts connecting; a server that
 * cannot be reached now is retried in the background. Fails only on
 * options cnats refuses (unreadable credentials or certificates, bad URLs).
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
