/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-broker.h: the broker core
 *
 * JunoBroker owns the registry of modules, resolves dependencies, routes
 * function calls and fans hooks out. It knows no sockets and no D-Bus: every
 * peer is a JunoEndpoint that the owner (transport, D-Bus layer, tests)
 * creates with a send function. The broker hands each outgoing message to
 * that function as one whole line ending in '\n'.
 *
 * Signals, and the answers to clients' calls (juno_broker_client_call,
 * juno_broker_call_function), never run in the middle of an operation:
 * they are queued and run, in order, when the outermost call into the
 * broker returns. Their handlers may call any function here, remove any
 * endpoint (the one whose line is being handled included: the broker
 * reads nothing of it after the handlers ran) and iterate the main
 * context.
 *
 * Rule for endpoint implementations: send() must never call back into the
 * broker (it is refused with a critical), but for
 * juno_broker_report_cut_off, which only counts and logs; a transport that
 * wants to drop a peer does so later, from its own main loop source. An
 * endpoint is removed only by the code that added it.
 */
#pragma once

#include <glib-object.h>
#include <sys/types.h>

#include "juno-names.h"
#include "juno-policy.h"

G_BEGIN_DECLS

#define JUNO_TYPE_BROKER (juno_broker_get_type ())
G_DECLARE_FINAL_TYPE (JunoBroker, juno_broker, JUNO, BROKER, GObject)

typedef struct _JunoEndpoint JunoEndpoint;
/* A registered module (juno included), owned by the registry: valid until
 * the module leaves, so read it and let it go in the same main-loop turn. */
typedef struct _JunoModule JunoModule;

typedef struct
{
  /* One whole message, '\n' included. Must not re-enter the broker, nor
   * iterate the main context. */
  void (*send) (gpointer user_data, const char *data, gsize len);
} JunoEndpointFuncs;

typedef struct
{
  guint64 connections;        /* open now */
  guint64 connections_total;  /* accepted since start */
  guint64 modules;            /* registered now, juno excluded */
  guint64 active_modules;     /* active now, juno excluded */
  guint64 messages_in;
  guint64 messages_out;
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 calls_routed;
  guint64 calls_failed;       /* routed calls answered with an error: the callee's, 8 or 9 */
  guint64 calls_timed_out;
  guint64 hooks_triggered;
  guint64 hooks_delivered;
  guint64 errors_sent;
  guint64 limits_reached;     /* requests and lines refused with error 12 */
  guint64 connections_cut;    /* connections closed for a backlog or a total */
  guint64 access_denied;      /* requests answered with error 13 */
} JunoStats;

typedef struct
{
  guint64 messages_in;
  guint64 messages_out;
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 calls_made;      /* calls this peer made that were routed */
  guint64 calls_received;  /* calls routed to this peer */
} JunoEndpointStats;

/* The answer to juno_broker_call_function: @result_json is the callee's
 * data as JSON text and @error_code is -1, or @result_json is NULL and
 * @error_code is a JunoProtocolError. */
typedef void (*JunoBrokerCallFunc) (JunoBroker *broker,
                                    const char *result_json,
                                    int error_code,
                                    gpointer user_data);

typedef void (*JunoBrokerNotify) (gpointer user_data);

JunoBroker *juno_broker_new (void);

const JunoStats *juno_broker_get_stats (JunoBroker *self);
const char *juno_broker_get_version (JunoBroker *self);
/* Runs @func once, the next time a counter of juno_broker_get_stats
 * changes (possibly in the middle of an operation: @func must not re-enter
 * the broker), then forgets it: a publisher asks again when it wants to
 * hear of the next change, and so sleeps while nothing happens. NULL
 * cancels. */
void juno_broker_watch_stats (JunoBroker *self, JunoBrokerNotify func, gpointer user_data);

/* Limits (also GObject properties) */
void juno_broker_set_call_timeout (JunoBroker *self, guint64 timeout_usec);
void juno_broker_set_max_calls_in_flight (JunoBroker *self, guint max_calls);
/* What one module may hold: @max_names functions and hooks together, each
 * name (a bare function name or a "module.hook" address) at most
 * @max_name_length bytes. */
void juno_broker_set_name_limits (JunoBroker *self, guint max_names, guint max_name_length);
/* The longest line a peer may send; the broker's discovery answers
 * (juno.listModules, juno.getModuleInfo) stay within it too. */
void juno_broker_set_max_message_size (JunoBroker *self, gsize max_message_size);

/* Per-user quotas (juno-quota.c): connections, calls in flight and queued
 * output bytes of one uid across its connections; 0 for no limit. The
 * broker's own uid is not limited. */
void juno_broker_set_user_quotas (JunoBroker *self, guint max_connections, guint max_calls, gsize max_output);

/* The user a peer is charged to; NULL for none (no uid known: TCP, or the
 * broker's own uid). It lives at least as long as the endpoint. A
 * transport asks before it queues @len more bytes of output for a peer
 * whether its user stays within its quota, and reports what it queues and
 * what it writes out or drops. */
typedef struct _JunoUser JunoUser;
JunoUser *juno_endpoint_get_user_account (JunoEndpoint *endpoint);
gboolean juno_user_output_fits (JunoBroker *self, JunoUser *user, gsize len);
void juno_user_charge_output (JunoUser *user, gsize len);
void juno_user_release_output (JunoUser *user, gsize len);
/* FALSE when the endpoint's user had its quota of connections already when
 * its credentials were set: its owner answers error 14 and closes it. */
gboolean juno_endpoint_get_admitted (JunoEndpoint *endpoint);

/* Endpoints */
JunoEndpoint *juno_broker_add_endpoint (JunoBroker *self,
                                        const JunoEndpointFuncs *funcs,
                                        gpointer user_data,
                                        const char *transport);
void juno_broker_remove_endpoint (JunoBroker *self, JunoEndpoint *endpoint);

/* Feeds one line, without its '\n'. The line need not be valid UTF-8. */
void juno_broker_handle_line (JunoBroker *self, JunoEndpoint *endpoint, const char *line, gsize len);
/* The transport dropped a line longer than the limit: answers error 10. */
void juno_broker_report_oversized (JunoBroker *self, JunoEndpoint *endpoint);
/* The transport dropped a line because the total of partial input of all
 * connections is at its limit: answers error 12. */
void juno_broker_report_over_total (JunoBroker *self, JunoEndpoint *endpoint);
/* The transport is cutting @endpoint off (@why, for the log): counted and
 * logged, rate limited. Call before closing it; the broker is not
 * re-entered. */
void juno_broker_report_cut_off (JunoBroker *self, JunoEndpoint *endpoint, const char *why);
/* Calls this peer made that wait for an answer. */
guint juno_endpoint_get_n_calls_waiting (JunoEndpoint *endpoint);

guint64 juno_endpoint_get_id (JunoEndpoint *endpoint);
const char *juno_endpoint_get_module_id (JunoEndpoint *endpoint);
const char *juno_endpoint_get_transport (JunoEndpoint *endpoint);

/* Identity of the peer (juno-identity.c), set by the endpoint's owner right
 * after juno_broker_add_endpoint, before its first line. The credentials
 * also resolve the user and group names; the supplementary groups, the
 * systemd units and the address are optional. */
void juno_endpoint_set_peer_credentials (JunoEndpoint *endpoint, pid_t pid, uid_t uid, gid_t gid);
gboolean juno_endpoint_get_peer_credentials (JunoEndpoint *endpoint, pid_t *pid, uid_t *uid, gid_t *gid);
void juno_endpoint_set_peer_groups (JunoEndpoint *endpoint, const gid_t *groups, guint n_groups);
void juno_endpoint_set_peer_units (JunoEndpoint *endpoint, const char *unit, const char *user_unit,
                                   const char *slice);
/* TCP: the address and port; D-Bus: the unique name, port 0. */
void juno_endpoint_set_peer_address (JunoEndpoint *endpoint, const char *address, guint16 port);
const char *juno_endpoint_get_peer_user (JunoEndpoint *endpoint);
const char *juno_endpoint_get_peer_group (JunoEndpoint *endpoint);
const char *juno_endpoint_get_peer_unit (JunoEndpoint *endpoint);
const char *juno_endpoint_get_peer_user_unit (JunoEndpoint *endpoint);
const char *juno_endpoint_get_peer_slice (JunoEndpoint *endpoint);
const char *juno_endpoint_get_peer_address (JunoEndpoint *endpoint);
guint16 juno_endpoint_get_peer_port (JunoEndpoint *endpoint);

/* The access policy (juno-policy.h): NULL allows everything (the default).
 * Takes a reference. Subjects are recomputed for every endpoint at its next
 * request; what was already granted (modules, listeners) stays. */
void juno_broker_set_policy (JunoBroker *self, JunoPolicy *policy);
/* For owners that check requests themselves (the D-Bus plane): TRUE when
 * @endpoint may @action @target; otherwise logs and counts the denial and
 * returns FALSE with @error set to "denied by rule ..." (JUNO_POLICY_ERROR_DENIED). */
gboolean juno_broker_endpoint_may (JunoBroker *self, JunoEndpoint *endpoint, JunoPolicyAction action,
                                   const char *target, GError **error);

/* Calls "module.fn" on behalf of the built-in module juno (in-process
 * callers). @func runs exactly once, possibly before this returns, and
 * like a signal handler never in the middle of an operation: it may call
 * back into the broker. Arguments that are not a JSON object, or too
 * large, are answered with error 0 or 10. */
void juno_broker_call_function (JunoBroker *self,
                                const char *function,
                                const char *arguments_json,
                                JunoBrokerCallFunc func,
                                gpointer user_data);
/* Delivers @hook ("module.hook") with @data_json (a JSON object, NULL for
 * {}) to its active listeners as if that module had triggered it; any
 * hook, juno's included (in-process callers are trusted). */
gboolean juno_broker_trigger_hook (JunoBroker *self,
                                   const char *hook,
                                   const char *data_json,
                                   guint *n_delivered,
                                   GError **error);

/* Clients: peers of another plane (each caller of the D-Bus control plane)
 * that call functions and trigger hooks through the typed calls below,
 * never as protocol text. A client is an endpoint of its own (its own
 * calls-in-flight quota, statistics and peer credentials) but no module:
 * it never registers, fires no lifecycle hook and is not counted among
 * the connections. Its calls reach the callee with @caller as their
 * "caller", which must not be a valid moduleId (say "dbus::1.42"), so no
 * module can be mistaken for it. Remove it with
 * juno_broker_remove_endpoint: every call of it still waiting for an
 * answer then completes, once, with JUNO_BROKER_CALL_DROPPED. */
#define JUNO_BROKER_CALL_DROPPED (-2)

JunoEndpoint *juno_broker_add_client (JunoBroker *self, const char *transport, const char *caller);
/* The "caller" of a client's calls; NULL for a module's endpoint. */
const char *juno_endpoint_get_caller (JunoEndpoint *endpoint);
/* Calls made by @endpoint from now on time out after @timeout_usec, or
 * after the broker's call timeout if that is shorter; 0: the broker's. */
void juno_endpoint_set_call_timeout (JunoEndpoint *endpoint, guint64 timeout_usec);

/* The limit of juno_broker_set_max_message_size, which also holds the
 * lines built for clients (the forwarded call, the delivered hook). */
gsize juno_broker_get_max_message_size (JunoBroker *self);

/* Calls "module.fn" as @client. @arguments_json (@len bytes, -1 for
 * NUL-terminated; NULL or empty for {}) is checked with the protocol's one
 * JSON grammar (juno_json_normalize) and forwarded in compact form, so
 * whatever its layout it stays one value inside one message.
 * Returns FALSE with G_IO_ERROR_INVALID_DATA (not a JSON object, or not
 * UTF-8) or G_IO_ERROR_MESSAGE_TOO_LARGE (the forwarded call would pass
 * the size limit), and then @func never runs. Otherwise @func runs exactly
 * once, possibly before this returns: with the answer, a protocol error
 * (routing, quota, timeout) or JUNO_BROKER_CALL_DROPPED; like a signal
 * handler it runs between operations and may call back into the broker. */
gboolean juno_broker_client_call (JunoBroker *self,
                                  JunoEndpoint *client,
                                  const char *function,
                                  const char *arguments_json,
                                  gssize len,
                                  JunoBrokerCallFunc func,
                                  gpointer user_data,
                                  GError **error);
/* Delivers @hook ("module.hook") with @data_json (as for
 * juno_broker_client_call) to its active listeners, as if that module had
 * triggered it, whether or not it is connected. The hooks of juno (the
 * broker's lifecycle hooks) are refused with G_IO_ERROR_PERMISSION_DENIED;
 * a bad address or data with G_IO_ERROR_INVALID_ARGUMENT or
 * G_IO_ERROR_INVALID_DATA, an oversized one with
 * G_IO_ERROR_MESSAGE_TOO_LARGE. */
gboolean juno_broker_client_trigger (JunoBroker *self,
                                     JunoEndpoint *client,
                                     const char *hook,
                                     const char *data_json,
                                     gssize len,
                                     guint *n_delivered,
                                     GError **error);

JunoEndpoint *juno_broker_lookup_endpoint (JunoBroker *self, guint64 connection_id);
/* The endpoint of a registered module; NULL for juno itself or unknown ids. */
JunoEndpoint *juno_broker_lookup_module_endpoint (JunoBroker *self, const char *module_id);
const JunoEndpointStats *juno_endpoint_get_stats (JunoEndpoint *endpoint);

/* Registered modules, read in place rather than through their JSON (the
 * D-Bus control plane reads them so). */

/* The module registered as @module_id, juno included; NULL when none is. */
JunoModule *juno_broker_lookup_module (JunoBroker *self, const char *module_id);
/* Every registered module but juno, sorted by moduleId, NULL-terminated;
 * @n_modules (optional) gets the count. Free the array with g_free, not the
 * modules. */
JunoModule **juno_broker_dup_modules (JunoBroker *self, guint *n_modules);

const char *juno_module_get_id (JunoModule *module);
const char *juno_module_get_version (JunoModule *module);
/* Every dependency is an active module of a matching version. */
gboolean juno_module_get_active (JunoModule *module);
/* Its connection; NULL for juno. */
JunoEndpoint *juno_module_get_endpoint (JunoModule *module);
guint juno_module_get_n_dependencies (JunoModule *module);
/* The @index-th dependency, in registration order: a moduleId and its
 * version requirement as the module wrote it. */
void juno_module_get_dependency (JunoModule *module,
                                 guint index,
                                 const char **module_id,
                                 const char **requirement);
/* The functions it declared (bare names) and the hooks it listens for
 * ("module.hook"), sorted, NULL-terminated; @n (optional) gets the count.
 * The strings belong to the module: free only the array, with g_free. */
const char **juno_module_dup_functions (JunoModule *module, guint *n);
const char **juno_module_dup_hooks (JunoModule *module, guint *n);

/* Federation (src/federation/, docs/federation.md): modules of other
 * brokers are registered here through proxy endpoints. */

/* A proxy's endpoint yields its name: a module of another endpoint that
 * registers the same moduleId takes the name over (the proxy's module
 * stands by, its dependents see no change if the version still matches),
 * and when that module leaves, the proxy's module takes the name back in
 * the same operation. A yielding endpoint that registers a name held by a
 * module stands by at once (its register is answered as usual). Such an
 * endpoint may declare functions while it stands by. Set before it
 * registers. */
void juno_endpoint_set_yields_name (JunoEndpoint *endpoint, gboolean yields);
/* TRUE when its module holds its moduleId (FALSE: none, or standing by). */
gboolean juno_endpoint_holds_name (JunoEndpoint *endpoint);

/* Names this broker in the federation: from now on every module object
 * has "brokers", the names of the brokers its instances run on (set with
 * juno_broker_set_module_brokers; this broker's name otherwise). */
void juno_broker_set_broker_name (JunoBroker *self, const char *name);
/* At most JUNO_BROKER_MAX_MODULE_BROKERS names, each a valid broker name;
 * NULL forgets @module_id's entry. */
#define JUNO_BROKER_MAX_MODULE_BROKERS 16
void juno_broker_set_module_brokers (JunoBroker *self, const char *module_id, const char *const *brokers);
/* What "brokers" of @module_id holds; NULL when the broker has no name. */
const char *const *juno_broker_get_module_brokers (JunoBroker *self, const char *module_id);

/* Delivers @hook, triggered on another broker, to the local listeners as
 * juno_broker_client_trigger would (juno's own hooks refused); the
 * hook-triggered signal it raises is marked: during its emission
 * juno_broker_get_emitting_relayed() is TRUE. */
gboolean juno_broker_relay_hook (JunoBroker *self, const char *hook, const char *data_json, gssize len,
                                 guint *n_delivered, GError **error);
gboolean juno_broker_get_emitting_relayed (JunoBroker *self);

/* Asked for every call a module or client makes to another module: the
 * endpoint to deliver it to instead of the module's own, or NULL. Runs in
 * the middle of an operation: it must not call into the broker. */
typedef JunoEndpoint *(*JunoBrokerRouteFunc) (gpointer user_data, JunoEndpoint *caller, const char *module_id);
void juno_broker_set_route_func (JunoBroker *self, JunoBrokerRouteFunc func, gpointer user_data);

/* juno_broker_client_call with @caller (a moduleId or another client's
 * caller, checked by the owner) as the forwarded call's "caller". */
gboolean juno_broker_client_call_as (JunoBroker *self, JunoEndpoint *client, const char *caller,
                                     const char *function, const char *arguments_json, gssize len,
                                     JunoBrokerCallFunc func, gpointer user_data, GError **error);

/* Answers every call waiting on @callee with @code (a JunoProtocolError)
 * at once; the callee's late answers to them are dropped quietly. For a
 * proxy whose link went down: its answers would be lost. */
guint juno_broker_fail_calls_to (JunoBroker *self, JunoEndpoint *callee, int code);

/* More counters for juno.getStats and D-Bus GetStats: @func returns a
 * floating a{sv} of lowerCamelCase keys with uint64 ("t") or string
 * values, or NULL. */
typedef GVariant *(*JunoBrokerExtraStatsFunc) (gpointer user_data);
void juno_broker_set_extra_stats_func (JunoBroker *self, JunoBrokerExtraStatsFunc func, gpointer user_data);
/* A new reference of the a{sv}, or NULL. */
GVariant *juno_broker_dup_extra_stats (JunoBroker *self);

/* JSON text of the module object (as juno.getModuleInfo returns it), or NULL. */
char *juno_broker_dup_module_json (JunoBroker *self, const char *module_id);
/* JSON array of every module object, juno included (juno.listModules). */
char *juno_broker_dup_modules_json (JunoBroker *self);

G_END_DECLS
