/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-broker-private.h: the broker's internal structures, shared by the
 * files of the core (juno-broker.c: object, endpoints and dispatch;
 * juno-registry.c: modules, dependencies and hooks; juno-calls.c: the table
 * of calls in flight).
 */
#pragma once

#include "juno-broker.h"
#include "juno-common.h"
#include "juno-policy.h"
#include "juno-protocol.h"
#include "juno-semver.h"

G_BEGIN_DECLS

typedef struct _JunoCall JunoCall;
typedef struct _JunoIdentity JunoIdentity;

/* Who a peer is, apart from its process and its address: shared by every
 * endpoint of the same credentials, groups, units and transport (the
 * connections of one service, of one user's modules), refcounted, and
 * dropped from the broker's set with its last endpoint (juno-identity.c).
 * Read-only once shared: a change makes the endpoint take another one. */
struct _JunoIdentity
{
  guint ref_count;
  guint hash;
  char *transport;
  gboolean has_credentials;
  uid_t uid;
  gid_t gid;
  guint n_groups;
  gid_t *groups;        /* supplementary groups */
  /* NULL when unknown */
  char *user;
  char *group;
  char *unit;
  char *user_unit;
  char *slice;
  /* its access under policy generation subject_generation, built at the
   * first request of one of its endpoints */
  JunoPolicySubject *subject;
  guint subject_generation;
};

struct _JunoEndpoint
{
  JunoBroker *broker;
  guint64 id;
  char id_str[24];
  const JunoEndpointFuncs *funcs;
  gpointer user_data;
  JunoIdentity *identity; /* shared, never NULL (juno-identity.c) */
  JunoModule *module;   /* owned; NULL until registered */
  GQueue calls_out;     /* JunoCall via caller_link: calls this peer made */
  GQueue calls_in;      /* JunoCall via callee_link: calls this peer must answer */
  guint64 *expired;     /* tokens of its calls that timed out, a ring; NULL until one does */
  guint n_expired;
  pid_t pid;            /* when identity->has_credentials */
  JunoEndpointStats stats;
  /* clients only (juno_broker_add_client, and the built-in endpoint) */
  char *caller;            /* the "caller" of its calls; never a moduleId */
  GHashTable *client_calls; /* request id ("d<n>") -> ClientCall */
  guint64 call_timeout_usec; /* 0: the broker's */
  char *address;        /* tcp: the peer's address; dbus: its unique name; NULL when unknown */
  guint16 port;
  JunoUser *user_account; /* the user charged for this peer; NULL for none */
  /* observers (juno-observer.c) */
  GPtrArray *patterns;    /* hook patterns it listens to (owned strings); NULL for none */
  guint refused : 1;      /* over its user's quota of connections */
  guint announced : 1;    /* juno.moduleConnected went out for it */
  /* federation (juno_endpoint_set_yields_name): a proxy of modules that run
   * on other brokers; a local module of its moduleId takes the name over */
  guint yields_name : 1;
};

typedef struct
{
  char *name;
  char *requirement;
  JunoVersionReq *req;
} JunoDependency;

typedef struct
{
  JunoModule *module;
  char *hook;           /* "module.hook"; owned */
  guint index;          /* position in the listener array of its hook */
} JunoListen;

struct _JunoModule
{
  char *id;
  char *version_text;
  JunoVersion version;
  GPtrArray *dependencies; /* JunoDependency; NULL when there are none */
  GHashTable *functions;   /* name -> NULL (a set); NULL until the first declare */
  GHashTable *listens;     /* "module.hook" -> JunoListen; NULL until the first listen */
  JunoEndpoint *endpoint;  /* NULL for the built-in module */
  guint n_names;           /* functions and hooks together */
  gsize info_bytes;        /* an upper bound of the length of its module object */
  gboolean active;
  /* scratch state of the fixed-point computation */
  gboolean candidate;
  guint epoch;
};

struct _JunoCall
{
  guint64 token;
  JunoEndpoint *caller;
  JunoEndpoint *callee;
  gint64 deadline;         /* monotonic µs; 0 when calls never time out */
  GList caller_link;
  GList callee_link;
  GList deadline_link;
  GQueue *deadline_queue;  /* which one of the broker's it is in */
  gboolean pooled;         /* of the standard size: goes back to the spares */
  guint32 caller_request_id_len;
  char caller_request_id[]; /* JSON string literal, quotes included */
};

struct _JunoBroker
{
  GObject parent_instance;

  char *version;
  JunoStats stats;

  GHashTable *endpoints;   /* connection id (guint64 *) -> JunoEndpoint */
  JunoCall *spare_calls[64]; /* finished call records of the standard size, for reuse */
  guint n_spare_calls;
  GHashTable *modules;     /* moduleId -> JunoModule (juno included) */
  GHashTable *dependents;  /* moduleId -> GPtrArray of JunoModule requiring it */
  GHashTable *listeners;   /* "module.hook" (owned) -> GPtrArray of JunoListen */
  GHashTable *calls;       /* token (guint64 *) -> JunoCall */
  GQueue deadlines;        /* JunoCall via deadline_link, earliest first: calls with the broker's timeout */
  GQueue client_deadlines; /* the same for callers with a timeout of their own (clients) */
  GSource *timeout_source;

  JunoModule *builtin;
  JunoEndpoint *internal;   /* the built-in module's endpoint, for calls made in-process */
  guint64 next_internal_id;  /* of client calls, all clients together */
  guint64 next_connection_id;
  guint64 next_call_token;
  guint64 next_message_id;
  guint64 call_timeout_usec;
  guint max_calls_in_flight;
  guint max_names;
  guint max_name_length;
  gsize max_message_size;
  guint epoch;

  JunoBrokerNotify stats_func; /* juno_broker_watch_stats: runs once, then cleared */
  gpointer stats_data;

  /* Scratch buffers for the message being built and the "module.hook" being
   * looked up. No foreign code runs while one is in use: signals and
   * clients' answers wait in @emissions until the operation is over, and
   * an endpoint's send() may not re-enter (checked with @sending). */
  GString *out;
  GString *key;

  guint depth;             /* operations in progress (nested from handlers) */
  gboolean sending;        /* inside an endpoint's send() or the stats watch */
  gboolean emitting;       /* running @emissions */
  GArray *emissions;       /* JunoEmission, queued until the operation ends */
  guint emissions_head;    /* the next one to run */

  gint64 log_window_start;
  guint log_lines;
  guint log_suppressed;

  JunoPolicy *policy;      /* NULL: everything allowed */
  guint policy_generation;
  GHashTable *user_names;  /* uid -> name (owned), a cache of NSS answers */
  GHashTable *group_names; /* gid -> name (owned) */
  GHashTable *users;       /* uid -> JunoUser (owned), while it has endpoints or calls */
  GHashTable *identities;  /* JunoIdentity (a set, not owned): those endpoints hold */
  guint max_connections_per_user; /* 0: no limit */
  guint max_calls_per_user;
  gsize max_output_per_user;
  GPtrArray *observers;    /* JunoEndpoint with patterns, not owned: observers listening */

  /* federation (src/federation/); all NULL on a broker of one host */
  GHashTable *standby;     /* moduleId -> JunoModule of a yielding endpoint whose name a local module holds */
  char *broker_name;       /* this broker's name: module objects gain "brokers" */
  char **own_brokers;      /* { broker_name, NULL } */
  GHashTable *module_brokers; /* moduleId (owned) -> char ** (owned): where its instances run */
  JunoBrokerRouteFunc route_func;
  gpointer route_data;
  JunoBrokerExtraStatsFunc extra_stats_func;
  gpointer extra_stats_data;
  gboolean relaying;       /* delivering a hook of another broker */
  gboolean emitting_relayed; /* the hook-triggered being emitted came from another broker */
};

enum
{
  SIGNAL_MODULE_CONNECTED,
  SIGNAL_MODULE_REGISTERED,
  SIGNAL_MODULE_ACTIVATED,
  SIGNAL_MODULE_DEACTIVATED,
  SIGNAL_MODULE_DISCONNECTED,
  SIGNAL_FUNCTION_DECLARED,
  SIGNAL_HOOK_REGISTERED,
  SIGNAL_HOOK_TRIGGERED,
  N_SIGNALS
};

/* A client's answer, queued like a signal */
#define JUNO_EMISSION_CALL_ANSWER N_SIGNALS

extern guint juno_broker_signals[N_SIGNALS];

/* juno-broker.c: operations and deferred emissions
 *
 * Every entry point into the core (a line, an endpoint added or removed, a
 * deadline, a client's call or trigger) runs between juno_broker_enter and
 * juno_broker_leave. Signals raised inside are queued and emitted when the
 * outermost operation is over, in order; a handler may call any public
 * function, and what that raises runs after the handler returns. */
void juno_broker_enter (JunoBroker *self);
void juno_broker_leave (JunoBroker *self);
void juno_broker_queue_signal (JunoBroker *self, guint signal, guint64 number, const char *a, const char *b);

/* A counter of self->stats changed (or is about to, in the same turn). */
static inline void
juno_broker_stats_touched (JunoBroker *self)
{
  if (G_UNLIKELY (self->stats_func != NULL))
    {
      JunoBrokerNotify func = self->stats_func;
      gboolean sending = self->sending;

      self->stats_func = NULL;
      /* foreign code in the middle of an operation, like send() */
      self->sending = TRUE;
      func (self->stats_data);
      self->sending = sending;
    }
}

/* juno-broker.c: output */
void juno_broker_finish_message (JunoBroker *self);
void juno_broker_send_line (JunoBroker *self, JunoEndpoint *endpoint, const char *line, gsize len);
void juno_broker_send (JunoBroker *self, JunoEndpoint *endpoint);
void juno_broker_send_error (JunoBroker *self, JunoEndpoint *endpoint, const JunoJsonValue *request_id, int code);
void juno_broker_begin_message (JunoBroker *self, const char *request_id_literal, gsize len, JunoMessageType type);
void juno_broker_begin_reply (JunoBroker *self, const JunoJsonValue *request_id, JunoMessageType type);
void juno_broker_begin_broker_message (JunoBroker *self, JunoMessageType type);
void juno_append_uint (GString *out, guint64 value);

gboolean juno_broker_peer_log_allowed (JunoBroker *self);
void juno_broker_log_peer (JunoBroker *self, JunoEndpoint *endpoint, GLogLevelFlags level,
                           const char *format, ...) G_GNUC_PRINTF (4, 5);
void juno_broker_reject (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg, int code, const char *why);
gboolean juno_broker_require_active (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);

/* juno-identity.c */
void juno_endpoint_init_identity (JunoEndpoint *ep, const char *transport);
void juno_endpoint_clear_identity (JunoEndpoint *ep);
void juno_identity_append_json (JunoEndpoint *ep, GString *out);
/* TRUE when @ep may @action @target; otherwise answers error 13 echoing
 * @request_id, logs (rate limited) and counts the denial. */
gboolean juno_broker_check_access (JunoBroker *self, JunoEndpoint *ep, JunoPolicyAction action,
                                   const char *target, const JunoJsonValue *request_id);

/* The hot path's test: TRUE when @ep may @action anything, known without a
 * lookup (no policy, the broker itself, or a subject that allows all). */
static inline gboolean
juno_broker_allows_all (JunoBroker *self, JunoEndpoint *ep, JunoPolicyAction action)
{
  return self->policy == NULL || ep == self->internal ||
         (ep->identity->subject != NULL && ep->identity->subject_generation == self->policy_generation &&
          juno_policy_subject_allows_all (ep->identity->subject, action));
}

/* juno-quota.c */
gboolean juno_quota_charge_connection (JunoBroker *self, JunoEndpoint *ep);
void juno_quota_release_connection (JunoBroker *self, JunoEndpoint *ep);
gboolean juno_quota_may_call (JunoBroker *self, JunoEndpoint *ep);
void juno_quota_charge_call (JunoEndpoint *caller);
void juno_quota_release_call (JunoEndpoint *caller);
guint juno_quota_get_user_calls (JunoEndpoint *ep);

/* juno-registry.c */
JunoModule *juno_registry_add_builtin (JunoBroker *self);
void juno_module_free (JunoModule *module);
void juno_registry_handle_register (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);
void juno_registry_handle_declare (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);
void juno_registry_handle_listen (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);
void juno_registry_handle_trigger (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);
/* TRUE when a module stands by for the name: call
 * juno_registry_promote_standby, in the same operation. */
gboolean juno_registry_remove_module (JunoBroker *self, JunoEndpoint *ep);
void juno_registry_promote_standby (JunoBroker *self, const char *module_id);
void juno_registry_broadcast (JunoBroker *self, const char *hook, const char *data_json);
void juno_registry_append_module_json (JunoBroker *self, GString *out, JunoModule *module);
gboolean juno_module_has_function (JunoModule *module, const char *name);
gsize juno_registry_module_info_budget (JunoBroker *self);
guint juno_registry_deliver_hook (JunoBroker *self, const char *module_id, const char *hook,
                                  const char *data, gsize data_len);

/* juno-observer.c: connections that have not registered (docs/protocol.md,
 * "Observers"). They may call the built-in module's functions, listen to
 * hook patterns and trigger hooks as a module the policy grants them; the
 * broker announces nothing about them. */
#define JUNO_OBSERVER_MAX_PATTERNS 64
static inline gboolean
juno_endpoint_is_observer (JunoBroker *self, JunoEndpoint *ep)
{
  return ep->module == NULL && ep->caller == NULL && ep != self->internal;
}
void juno_broker_announce_endpoint (JunoBroker *self, JunoEndpoint *ep);
void juno_observer_handle_listen (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);
void juno_observer_handle_trigger (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);
guint juno_observer_deliver (JunoBroker *self);
void juno_observer_remove (JunoBroker *self, JunoEndpoint *ep);
gboolean juno_broker_endpoint_allowed (JunoBroker *self, JunoEndpoint *ep, JunoPolicyAction action,
                                       const char *target);

/* juno-calls.c */
void juno_calls_handle_call (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg);
void juno_calls_handle_answer (JunoBroker *self, JunoEndpoint *ep, JunoMessageType type, const JunoMessage *msg);
void juno_calls_drop_endpoint (JunoBroker *self, JunoEndpoint *ep);
guint juno_calls_fail_callee (JunoBroker *self, JunoEndpoint *callee, int code);
void juno_calls_init (JunoBroker *self);
void juno_calls_clear (JunoBroker *self);

G_END_DECLS
