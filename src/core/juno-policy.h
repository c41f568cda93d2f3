/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-policy.h: the access policy (who may own, call, listen, trigger)
 *
 * A JunoPolicy is a list of rules, each "allow" or "deny", each with a
 * subject (uids, gids, systemd units, transports; any of those left out
 * matches everyone) and, for each action, a list of glob patterns over its
 * targets:
 *
 *   own      moduleId                 (registering a module)
 *   call     "module.function"
 *   listen   "module.hook"            (registering a hook listener)
 *   trigger  "module.hook"            (the module is the trigger's own)
 *
 * Precedence, as dbus-daemon's: a rule's level is its most specific
 * subject key (user 3, unit 2, group 1, none 0). Among the rules whose
 * subject matches a peer and whose patterns match the target, those of the
 * highest level decide; at that level a deny beats an allow. When no rule
 * matches, the answer is deny: the defaults are rules too
 * (juno_policy_defaults_text).
 *
 * A peer's subject (the rules that match its identity) is computed once per
 * connection and policy; its verdicts are cached per target, and an action
 * that a subject allows on every target ("*" at the deciding level, no deny
 * above it) is answered from a flag, without a lookup.
 *
 * The file format is in juno-policy-file.c and juno.policy(5).
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef enum
{
  JUNO_POLICY_OWN,
  JUNO_POLICY_CALL,
  JUNO_POLICY_LISTEN,
  JUNO_POLICY_TRIGGER,
  JUNO_POLICY_N_ACTIONS,
} JunoPolicyAction;

typedef enum
{
  JUNO_POLICY_TRANSPORT_UNIX = 1 << 0,
  JUNO_POLICY_TRANSPORT_TCP = 1 << 1,
  JUNO_POLICY_TRANSPORT_DBUS = 1 << 2,
  /* modules and callers of other brokers of the federation (docs/federation.md) */
  JUNO_POLICY_TRANSPORT_NATS = 1 << 3,
} JunoPolicyTransport;

/* Which built-in rules come first: a per-user broker's or the system's. */
typedef enum
{
  JUNO_POLICY_DEFAULTS_USER,
  JUNO_POLICY_DEFAULTS_SYSTEM,
} JunoPolicyDefaults;

#define JUNO_POLICY_ERROR (juno_policy_error_quark ())
typedef enum
{
  JUNO_POLICY_ERROR_SYNTAX,   /* "file:line: what" */
  JUNO_POLICY_ERROR_IO,
  JUNO_POLICY_ERROR_DENIED,   /* a request the policy refuses (juno_broker_endpoint_may) */
} JunoPolicyError;
GQuark juno_policy_error_quark (void);

/* Who a peer is, as far as the policy cares. Every field may be absent
 * (has_uid FALSE, NULL strings, no groups). */
typedef struct
{
  gboolean has_uid;
  uid_t uid;
  gid_t gid;
  const gid_t *groups;   /* supplementary groups, gid may repeat here */
  guint n_groups;
  const char *unit;      /* system unit, "juno-module@auth.service" */
  const char *user_unit; /* unit of the user's manager */
  guint transport;       /* one JunoPolicyTransport, 0 for unknown */
} JunoPolicyPeer;

typedef struct _JunoPolicyRule JunoPolicyRule;
typedef struct _JunoPolicy JunoPolicy;
typedef struct _JunoPolicySubject JunoPolicySubject;

/* Parsing (juno-policy-file.c) */

/* The built-in rules of @defaults as policy-file text; @owner is the uid a
 * per-user broker serves. */
char *juno_policy_defaults_text (JunoPolicyDefaults defaults, uid_t owner);
/* The directories searched for @defaults, in order (a later directory's
 * file replaces an earlier one of the same name). */
GStrv juno_policy_default_dirs (JunoPolicyDefaults defaults);

JunoPolicy *juno_policy_new (void);
/* Adds the rules of one file's text; @origin names it in messages and in
 * each rule's origin ("origin:line"). FALSE with "origin:line: what" in
 * @error on the first mistake, the policy then unchanged. */
gboolean juno_policy_add_text (JunoPolicy *self, const char *origin, const char *text, gsize len, GError **error);
/* The defaults, then every "*.conf" of @dirs, by file name. */
JunoPolicy *juno_policy_load (JunoPolicyDefaults defaults, uid_t owner, const char *const *dirs, GError **error);
JunoPolicy *juno_policy_ref (JunoPolicy *self);
void juno_policy_unref (JunoPolicy *self);
guint juno_policy_get_n_rules (JunoPolicy *self);
/* Files read by juno_policy_load, in order. */
const char *const *juno_policy_get_files (JunoPolicy *self);

/* Matching (juno-policy.c) */

JunoPolicySubject *juno_policy_subject_new (JunoPolicy *policy, const JunoPolicyPeer *peer);
void juno_policy_subject_free (JunoPolicySubject *subject);
/* TRUE when allowed; @rule (optional) gets the deciding rule, NULL when no
 * rule matched. Verdicts are cached in the subject. */
gboolean juno_policy_subject_check (JunoPolicySubject *subject,
                                    JunoPolicyAction action,
                                    const char *target,
                                    const JunoPolicyRule **rule);
/* TRUE when the subject may @action every target (no lookup needed). */
gboolean juno_policy_subject_allows_all (JunoPolicySubject *subject, JunoPolicyAction action);

/* "[Allow root] /etc/juno/policy.d/10-x.conf:3" style names for logs */
const char *juno_policy_rule_get_name (const JunoPolicyRule *rule);
const char *juno_policy_rule_get_origin (const JunoPolicyRule *rule);
gboolean juno_policy_rule_is_deny (const JunoPolicyRule *rule);

const char *juno_policy_action_to_string (JunoPolicyAction action);
guint juno_policy_transport_from_string (const char *transport);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoPolicy, juno_policy_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoPolicySubject, juno_policy_subject_free)

G_END_DECLS
