/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-identity.c: who a peer is, and what the policy lets it do
 *
 * The endpoint's owner sets the identity once, before the first line:
 * credentials (uid, gid, pid), supplementary groups, systemd units, the
 * address. User and group names come from NSS once per uid and gid (cached
 * in the broker), so a busy host does not read /etc/passwd per connection.
 *
 * Access checks: the endpoint's policy subject is built at its first
 * request under each policy (juno-policy.c); the broker's own endpoint
 * (in-process callers, who check for themselves) is never checked.
 * Denials answer error 13 and go to the journal through the peer log
 * limiter, naming the peer and the deciding rule.
 */
#include "config.h"

#include <gio/gio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "juno-broker-private.h"
#include "juno-common.h"

/* Shared identities
 *
 * Peers of the same credentials, groups, units and transport share one
 * JunoIdentity and with it its policy subject: 10 000 modules of one user
 * in one unit cost one copy of those strings and one subject. The broker
 * keeps the identities its endpoints hold in a set and drops each with its
 * last endpoint, so a peer can add no more of them than it has
 * connections. A shared identity is never changed: a setter builds a new
 * one (a copy with the change) and the endpoint takes the equal one of the
 * set, or the new one. */

static guint
str_hash0 (const char *s)
{
  return s != NULL ? g_str_hash (s) : 0;
}

static guint
identity_hash (gconstpointer data)
{
  const JunoIdentity *id = data;

  return id->hash;
}

static guint
identity_compute_hash (const JunoIdentity *id)
{
  guint h = str_hash0 (id->transport);

  h = h * 31 + (id->has_credentials ? 1 : 0);
  h = h * 31 + (guint) id->uid;
  h = h * 31 + (guint) id->gid;
  for (guint i = 0; i < id->n_groups; i++)
    h = h * 31 + (guint) id->groups[i];
  h = h * 31 + str_hash0 (id->user);
  h = h * 31 + str_hash0 (id->group);
  h = h * 31 + str_hash0 (id->unit);
  h = h * 31 + str_hash0 (id->user_unit);
  h = h * 31 + str_hash0 (id->slice);
  return h;
}

static gboolean
identity_equal (gconstpointer a, gconstpointer b)
{
  const JunoIdentity *x = a, *y = b;

  return x->hash == y->hash && g_strcmp0 (x->transport, y->transport) == 0 &&
         x->has_credentials == y->has_credentials && x->uid == y->uid && x->gid == y->gid &&
         x->n_groups == y->n_groups &&
         (x->n_groups == 0 || memcmp (x->groups, y->groups, x->n_groups * sizeof (gid_t)) == 0) &&
         g_strcmp0 (x->user, y->user) == 0 && g_strcmp0 (x->group, y->group) == 0 &&
         g_strcmp0 (x->unit, y->unit) == 0 && g_strcmp0 (x->user_unit, y->user_unit) == 0 &&
         g_strcmp0 (x->slice, y->slice) == 0;
}

static void
identity_free (JunoIdentity *id)
{
  g_free (id->transport);
  g_free (id->groups);
  g_free (id->user);
  g_free (id->group);
  g_free (id->unit);
  g_free (id->user_unit);
  g_free (id->slice);
  g_clear_pointer (&id->subject, juno_policy_subject_free);
  g_free (id);
}

/* An unshared copy of @id (all but its subject), to change. */
static JunoIdentity *
identity_copy (const JunoIdentity *id)
{
  JunoIdentity *copy = g_new0 (JunoIdentity, 1);

  copy->ref_count = 1;
  copy->transport = g_strdup (id->transport);
  copy->has_credentials = id->has_credentials;
  copy->uid = id->uid;
  copy->gid = id->gid;
  copy->n_groups = id->n_groups;
  copy->groups = id->n_groups > 0 ? g_memdup2 (id->groups, id->n_groups * sizeof (gid_t)) : NULL;
  copy->user = g_strdup (id->user);
  copy->group = g_strdup (id->group);
  copy->unit = g_strdup (id->unit);
  copy->user_unit = g_strdup (id->user_unit);
  copy->slice = g_strdup (id->slice);
  return copy;
}

static void
identity_unref (JunoBroker *broker, JunoIdentity *id)
{
  if (--id->ref_count > 0)
    return;
  if (broker->identities != NULL)
    g_hash_table_remove (broker->identities, id);
  identity_free (id);
}

/* @fresh (unshared, consumed) becomes @ep's identity, or the equal one
 * another endpoint already holds. */
static void
endpoint_take_identity (JunoEndpoint *ep, JunoIdentity *fresh)
{
  JunoBroker *broker = ep->broker;
  JunoIdentity *shared;

  fresh->hash = identity_compute_hash (fresh);
  if (broker->identities == NULL)
    broker->identities = g_hash_table_new (identity_hash, identity_equal);
  shared = g_hash_table_lookup (broker->identities, fresh);
  if (shared != NULL)
    {
      identity_free (fresh);
      shared->ref_count++;
    }
  else
    {
      shared = fresh;
      g_hash_table_add (broker->identities, shared);
    }
  if (ep->identity != NULL)
    identity_unref (broker, ep->identity);
  ep->identity = shared;
}

void
juno_endpoint_init_identity (JunoEndpoint *ep, const char *transport)
{
  JunoIdentity *fresh = g_new0 (JunoIdentity, 1);

  fresh->ref_count = 1;
  fresh->transport = g_strdup (transport);
  endpoint_take_identity (ep, fresh);
}

void
juno_endpoint_clear_identity (JunoEndpoint *ep)
{
  g_clear_pointer (&ep->address, g_free);
  if (ep->identity != NULL)
    identity_unref (ep->broker, g_steal_pointer (&ep->identity));
}

static const char *
lookup_name (GHashTable **cache, guint id, gboolean user)
{
  char buf[16384];
  char *name = NULL;

  if (*cache == NULL)
    *cache = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  if (g_hash_table_lookup_extended (*cache, GUINT_TO_POINTER (id), NULL, (gpointer *) &name))
    return name;
  if (user)
    {
      struct passwd pw, *result = NULL;

      if (getpwuid_r ((uid_t) id, &pw, buf, sizeof buf, &result) == 0 && result != NULL)
        name = g_strdup (pw.pw_name);
    }
  else
    {
      struct group gr, *result = NULL;

      if (getgrgid_r ((gid_t) id, &gr, buf, sizeof buf, &result) == 0 && result != NULL)
        name = g_strdup (gr.gr_name);
    }
  /* an unknown id is cached as NULL too */
  g_hash_table_insert (*cache, GUINT_TO_POINTER (id), name);
  return name;
}

/* For a peer known by its uid alone (a D-Bus caller): its primary group
 * and supplementary groups from the user database, as dbus-daemon takes
 * them for its own group rules. */
static void
user_groups (JunoIdentity *id)
{
  struct passwd pw, *result = NULL;
  char buf[16384];
  gid_t groups[256];
  int n = G_N_ELEMENTS (groups);

  if (getpwuid_r (id->uid, &pw, buf, sizeof buf, &result) != 0 || result == NULL)
    return;
  id->gid = pw.pw_gid;
  if (getgrouplist (pw.pw_name, pw.pw_gid, groups, &n) < 0)
    n = G_N_ELEMENTS (groups); /* the first ones */
  g_free (id->groups);
  id->groups = n > 0 ? g_memdup2 (groups, (gsize) n * sizeof (gid_t)) : NULL;
  id->n_groups = (guint) n;
}

void
juno_endpoint_set_peer_credentials (JunoEndpoint *endpoint, pid_t pid, uid_t uid, gid_t gid)
{
  JunoBroker *broker = endpoint->broker;
  JunoIdentity *fresh;

  g_return_if_fail (!endpoint->identity->has_credentials);
  fresh = identity_copy (endpoint->identity);
  fresh->has_credentials = TRUE;
  endpoint->pid = pid;
  fresh->uid = uid;
  fresh->gid = gid;
  g_free (fresh->user);
  g_free (fresh->group);
  fresh->user = g_strdup (lookup_name (&broker->user_names, uid, TRUE));
  if (gid == (gid_t) -1)
    user_groups (fresh);
  fresh->group = g_strdup (lookup_name (&broker->group_names, fresh->gid, FALSE));
  endpoint_take_identity (endpoint, fresh);
  endpoint->refused = !juno_quota_charge_connection (broker, endpoint);
  if (endpoint->refused)
    juno_broker_log_peer (broker, endpoint, G_LOG_LEVEL_WARNING,
                          "Refused: uid %u (%s) already has %u connections, its quota (--max-connections-per-user)",
                          (unsigned) uid, endpoint->identity->user ? endpoint->identity->user : "?",
                          broker->max_connections_per_user);
}

gboolean
juno_endpoint_get_admitted (JunoEndpoint *endpoint)
{
  return !endpoint->refused;
}

gboolean
juno_endpoint_get_peer_credentials (JunoEndpoint *endpoint, pid_t *pid, uid_t *uid, gid_t *gid)
{
  if (!endpoint->identity->has_credentials)
    return FALSE;
  if (pid)
    *pid = endpoint->pid;
  if (uid)
    *uid = endpoint->identity->uid;
  if (gid)
    *gid = endpoint->identity->gid;
  return TRUE;
}

void
juno_endpoint_set_peer_groups (JunoEndpoint *endpoint, const gid_t *groups, guint n_groups)
{
  JunoIdentity *fresh = identity_copy (endpoint->identity);

  g_free (fresh->groups);
  fresh->groups = n_groups > 0 ? g_memdup2 (groups, n_groups * sizeof (gid_t)) : NULL;
  fresh->n_groups = n_groups;
  endpoint_take_identity (endpoint, fresh);
}

static void
set_string (char **field, const char *value)
{
  g_free (*field);
  *field = value != NULL && *value != '\0' ? g_strdup (value) : NULL;
}

void
juno_endpoint_set_peer_units (JunoEndpoint *endpoint, const char *unit, const char *user_unit, const char *slice)
{
  JunoIdentity *fresh = identity_copy (endpoint->identity);

  set_string (&fresh->unit, unit);
  set_string (&fresh->user_unit, user_unit);
  set_string (&fresh->slice, slice);
  endpoint_take_identity (endpoint, fresh);
}

void
juno_endpoint_set_peer_address (JunoEndpoint *endpoint, const char *address, guint16 port)
{
  set_string (&endpoint->address, address);
  endpoint->port = port;
}

const char *
juno_endpoint_get_peer_user (JunoEndpoint *endpoint)
{
  return endpoint->identity->user;
}

const char *
juno_endpoint_get_peer_group (JunoEndpoint *endpoint)
{
  return endpoint->identity->group;
}

const char *
juno_endpoint_get_peer_unit (JunoEndpoint *endpoint)
{
  return endpoint->identity->unit;
}

const char *
juno_endpoint_get_peer_user_unit (JunoEndpoint *endpoint)
{
  return endpoint->identity->user_unit;
}

const char *
juno_endpoint_get_peer_slice (JunoEndpoint *endpoint)
{
  return endpoint->identity->slice;
}

const char *
juno_endpoint_get_peer_address (JunoEndpoint *endpoint)
{
  return endpoint->address;
}

guint16
juno_endpoint_get_peer_port (JunoEndpoint *endpoint)
{
  return endpoint->port;
}

static void
append_key_string (GString *out, const char *key, const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (out, ",\"%s\":", key);
  juno_json_append_string (out, value);
}

/* ,"peer":{...} for a module object: only the fields that are known. */
void
juno_identity_append_json (JunoEndpoint *ep, GString *out)
{
  g_string_append (out, ",\"peer\":{\"transport\":");
  juno_json_append_string (out, ep->identity->transport);
  if (ep->identity->has_credentials)
    g_string_append_printf (out, ",\"pid\":%d,\"uid\":%u,\"gid\":%u", (int) ep->pid, (unsigned) ep->identity->uid,
                            (unsigned) ep->identity->gid);
  append_key_string (out, "user", ep->identity->user);
  append_key_string (out, "group", ep->identity->group);
  append_key_string (out, "unit", ep->identity->unit);
  append_key_string (out, "userUnit", ep->identity->user_unit);
  append_key_string (out, "slice", ep->identity->slice);
  if (ep->address != NULL && ep->port != 0)
    {
      append_key_string (out, "address", ep->address);
      g_string_append_printf (out, ",\"port\":%u", (unsigned) ep->port);
    }
  else
    append_key_string (out, "busName", ep->address);
  g_string_append_c (out, '}');
}

/* Access */

void
juno_broker_set_policy (JunoBroker *self, JunoPolicy *policy)
{
  g_return_if_fail (JUNO_IS_BROKER (self));

  if (policy != NULL)
    juno_policy_ref (policy);
  g_clear_pointer (&self->policy, juno_policy_unref);
  self->policy = policy;
  /* every subject is stale now; each is rebuilt at its next request */
  self->policy_generation++;
  g_clear_pointer (&self->user_names, g_hash_table_unref);
  g_clear_pointer (&self->group_names, g_hash_table_unref);
}

static JunoPolicySubject *
endpoint_subject (JunoBroker *self, JunoEndpoint *ep)
{
  if (ep->identity->subject == NULL || ep->identity->subject_generation != self->policy_generation)
    {
      JunoPolicyPeer peer = {
        .has_uid = ep->identity->has_credentials,
        .uid = ep->identity->uid,
        .gid = ep->identity->gid,
        .groups = ep->identity->groups,
        .n_groups = ep->identity->n_groups,
        .unit = ep->identity->unit,
        .user_unit = ep->identity->user_unit,
        .transport = juno_policy_transport_from_string (ep->identity->transport),
      };

      g_clear_pointer (&ep->identity->subject, juno_policy_subject_free);
      ep->identity->subject = juno_policy_subject_new (self->policy, &peer);
      ep->identity->subject_generation = self->policy_generation;
    }
  return ep->identity->subject;
}

static char *
describe_peer (JunoEndpoint *ep)
{
  GString *s = g_string_new (ep->identity->transport);

  if (ep->identity->has_credentials)
    g_string_append_printf (s, " uid %u (%s) pid %d", (unsigned) ep->identity->uid, ep->identity->user ? ep->identity->user : "?", (int) ep->pid);
  if (ep->identity->unit != NULL)
    g_string_append_printf (s, " unit %s", ep->identity->unit);
  if (ep->identity->user_unit != NULL)
    g_string_append_printf (s, " user unit %s", ep->identity->user_unit);
  if (ep->address != NULL)
    g_string_append_printf (s, " %s", ep->address);
  if (ep->port != 0)
    g_string_append_printf (s, ":%u", (unsigned) ep->port);
  return g_string_free (s, FALSE);
}

static void
log_denial (JunoBroker *self, JunoEndpoint *ep, JunoPolicyAction action, const char *target,
            const JunoPolicyRule *rule)
{
  g_autofree char *peer = NULL;
  g_autofree char *rule_text = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *pid = NULL;

  if (!juno_broker_peer_log_allowed (self))
    return;
  peer = describe_peer (ep);
  rule_text = rule ? g_strdup_printf ("[%s] at %s", juno_policy_rule_get_name (rule), juno_policy_rule_get_origin (rule))
                   : g_strdup ("no rule grants it");
  uid = ep->identity->has_credentials ? g_strdup_printf ("%u", (unsigned) ep->identity->uid) : NULL;
  pid = ep->identity->has_credentials ? g_strdup_printf ("%d", (int) ep->pid) : NULL;
  {
    g_autofree char *message = g_strdup_printf ("Connection %s (%s): access denied: %s '%s' (%s)", ep->id_str, peer,
                                                juno_policy_action_to_string (action), target, rule_text);
    const char *module_id = ep->module ? ep->module->id : NULL;
    GLogField fields[12] = {
      { "PRIORITY", "5", -1 },
      { "MESSAGE", message, -1 },
      { "MESSAGE_ID", JUNO_MESSAGE_ID_ACCESS_DENIED, -1 },
      { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
      { JUNO_LOG_FIELD_CONNECTION_ID, ep->id_str, -1 },
      { JUNO_LOG_FIELD_TRANSPORT, ep->identity->transport, -1 },
      { JUNO_LOG_FIELD_POLICY_RULE, rule_text, -1 },
    };
    gsize n = 7;

    if (module_id != NULL)
      fields[n++] = (GLogField) { JUNO_LOG_FIELD_MODULE_ID, module_id, -1 };
    if (uid != NULL)
      {
        fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_UID, uid, -1 };
        fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_PID, pid, -1 };
      }
    if (ep->identity->unit != NULL || ep->identity->user_unit != NULL)
      fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_UNIT, ep->identity->unit ? ep->identity->unit : ep->identity->user_unit, -1 };
    if (ep->address != NULL)
      fields[n++] = (GLogField) { JUNO_LOG_FIELD_PEER_ADDRESS, ep->address, -1 };
    g_log_structured_array (G_LOG_LEVEL_MESSAGE, fields, n);
  }
}

/* The verdict, with the denial logged and counted. */
static gboolean
decide (JunoBroker *self, JunoEndpoint *ep, JunoPolicyAction action, const char *target,
        const JunoPolicyRule **rule)
{
  JunoPolicySubject *subject;

  if (self->policy == NULL || ep == self->internal)
    return TRUE;
  subject = endpoint_subject (self, ep);
  if (juno_policy_subject_allows_all (subject, action))
    return TRUE;
  if (juno_policy_subject_check (subject, action, target, rule))
    return TRUE;
  self->stats.access_denied++;
  log_denial (self, ep, action, target, *rule);
  return FALSE;
}

gboolean
juno_broker_check_access (JunoBroker *self, JunoEndpoint *ep, JunoPolicyAction action,
                          const char *target, const JunoJsonValue *request_id)
{
  const JunoPolicyRule *rule = NULL;

  if (decide (self, ep, action, target, &rule))
    return TRUE;
  juno_broker_send_error (self, ep, request_id, JUNO_PROTOCOL_ERROR_ACCESS_DENIED);
  return FALSE;
}

/* The verdict alone: nothing logged, nothing counted (an observer's glob
 * meeting a hook it may not see is no request). */
gboolean
juno_broker_endpoint_allowed (JunoBroker *self, JunoEndpoint *ep, JunoPolicyAction action, const char *target)
{
  JunoPolicySubject *subject;
  const JunoPolicyRule *rule = NULL;

  if (self->policy == NULL || ep == self->internal)
    return TRUE;
  subject = endpoint_subject (self, ep);
  return juno_policy_subject_allows_all (subject, action) ||
         juno_policy_subject_check (subject, action, target, &rule);
}

gboolean
juno_broker_endpoint_may (JunoBroker *self, JunoEndpoint *endpoint, JunoPolicyAction action,
                          const char *target, GError **error)
{
  const JunoPolicyRule *rule = NULL;

  g_return_val_if_fail (JUNO_IS_BROKER (self), FALSE);
  g_return_val_if_fail (endpoint != NULL && target != NULL, FALSE);

  if (decide (self, endpoint, action, target, &rule))
    return TRUE;
  /* the text of error 13, then why */
  if (rule != NULL)
    g_set_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_DENIED, "%s (protocol error %d): %s '%s' is denied by rule [%s]",
                 juno_protocol_error_get_text (JUNO_PROTOCOL_ERROR_ACCESS_DENIED), JUNO_PROTOCOL_ERROR_ACCESS_DENIED,
                 juno_policy_action_to_string (action), target, juno_policy_rule_get_name (rule));
  else
    g_set_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_DENIED, "%s (protocol error %d): %s '%s' is granted by no rule",
                 juno_protocol_error_get_text (JUNO_PROTOCOL_ERROR_ACCESS_DENIED), JUNO_PROTOCOL_ERROR_ACCESS_DENIED,
                 juno_policy_action_to_string (action), target);
  return FALSE;
}
