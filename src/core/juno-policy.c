/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-policy.c: the matcher (see juno-policy.h for the precedence)
 *
 * A subject holds the rules whose subject keys match one peer, highest
 * level first, with "%i" in their patterns replaced by the instance of the
 * peer's unit ("auth" for juno-module@auth.service). A check walks those
 * rules once per target; the verdict is then kept in the subject's cache
 * for that target, bounded in size.
 */
#include "config.h"

#include <string.h>

#include "juno-policy-private.h"

#define CACHE_MAX_ENTRIES 4096

typedef struct
{
  const JunoPolicyRule *rule;
  GStrv patterns[JUNO_POLICY_N_ACTIONS]; /* owned copies with %i replaced, or NULL: the rule's */
} SubjectRule;

struct _JunoPolicySubject
{
  JunoPolicy *policy;
  GArray *rules;     /* SubjectRule, highest level first, file order within a level */
  gboolean allow_all[JUNO_POLICY_N_ACTIONS];
  GHashTable *cache[JUNO_POLICY_N_ACTIONS]; /* target (owned) -> tagged rule pointer; NULL until used */
};

static const char *const action_names[JUNO_POLICY_N_ACTIONS] = {
  [JUNO_POLICY_OWN] = "own",
  [JUNO_POLICY_CALL] = "call",
  [JUNO_POLICY_LISTEN] = "listen",
  [JUNO_POLICY_TRIGGER] = "trigger",
};

const char *
juno_policy_action_to_string (JunoPolicyAction action)
{
  g_return_val_if_fail (action < JUNO_POLICY_N_ACTIONS, NULL);
  return action_names[action];
}

guint
juno_policy_transport_from_string (const char *transport)
{
  if (transport == NULL)
    return 0;
  if (strcmp (transport, "unix") == 0)
    return JUNO_POLICY_TRANSPORT_UNIX;
  if (strcmp (transport, "tcp") == 0)
    return JUNO_POLICY_TRANSPORT_TCP;
  if (strcmp (transport, "dbus") == 0)
    return JUNO_POLICY_TRANSPORT_DBUS;
  if (strcmp (transport, "nats") == 0)
    return JUNO_POLICY_TRANSPORT_NATS;
  return 0;
}

gboolean
juno_policy_glob_match (const char *pattern, const char *text)
{
  const char *star = NULL, *resume = NULL;

  while (*text != '\0')
    {
      if (*pattern == '*')
        {
          star = ++pattern;
          resume = text;
        }
      else if (*pattern == '?' || *pattern == *text)
        {
          pattern++;
          text++;
        }
      else if (star != NULL)
        {
          pattern = star;
          text = ++resume;
        }
      else
        return FALSE;
    }
  while (*pattern == '*')
    pattern++;
  return *pattern == '\0';
}

const char *
juno_policy_rule_get_name (const JunoPolicyRule *rule)
{
  return rule->name;
}

const char *
juno_policy_rule_get_origin (const JunoPolicyRule *rule)
{
  return rule->origin;
}

gboolean
juno_policy_rule_is_deny (const JunoPolicyRule *rule)
{
  return rule->deny;
}

/* Subjects */

static gboolean
array_has (GArray *array, guint value)
{
  for (guint i = 0; i < array->len; i++)
    if (g_array_index (array, guint, i) == value)
      return TRUE;
  return FALSE;
}

static gboolean
rule_matches_groups (const JunoPolicyRule *rule, const JunoPolicyPeer *peer)
{
  if (array_has (rule->gids, peer->gid))
    return TRUE;
  for (guint i = 0; i < peer->n_groups; i++)
    if (array_has (rule->gids, peer->groups[i]))
      return TRUE;
  return FALSE;
}

/* The unit of @peer that one of @rule's globs matches, or NULL. */
static const char *
rule_matching_unit (const JunoPolicyRule *rule, const JunoPolicyPeer *peer)
{
  const char *candidates[] = { peer->unit, peer->user_unit };

  for (guint c = 0; c < G_N_ELEMENTS (candidates); c++)
    for (guint i = 0; candidates[c] != NULL && rule->units[i] != NULL; i++)
      if (juno_policy_glob_match (rule->units[i], candidates[c]))
        return candidates[c];
  return NULL;
}

/* Does the rule's subject describe @peer? @unit gets the matched unit. */
static gboolean
rule_matches_peer (const JunoPolicyRule *rule, const JunoPolicyPeer *peer, const char **unit)
{
  *unit = peer->unit != NULL ? peer->unit : peer->user_unit;
  if (rule->never)
    return FALSE;
  if (rule->transports != 0 && !(rule->transports & peer->transport))
    return FALSE;
  if (rule->uids != NULL && (!peer->has_uid || !array_has (rule->uids, peer->uid)))
    return FALSE;
  if (rule->gids != NULL && (!peer->has_uid || !rule_matches_groups (rule, peer)))
    return FALSE;
  if (rule->units != NULL && (*unit = rule_matching_unit (rule, peer)) == NULL)
    return FALSE;
  return TRUE;
}

/* "auth" from "juno-module@auth.service"; NULL for a unit that is not an
 * instance. */
static char *
unit_instance (const char *unit)
{
  const char *at = unit ? strchr (unit, '@') : NULL;
  const char *dot = at ? strrchr (at, '.') : NULL;

  if (at == NULL || dot == NULL || dot == at + 1)
    return NULL;
  return g_strndup (at + 1, (gsize) (dot - at - 1));
}

/* A copy of @patterns with %i replaced by @instance; a pattern with %i
 * and no instance to put there is left out (it matches nothing). */
static GStrv
expand_patterns (GStrv patterns, const char *instance)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; patterns[i] != NULL; i++)
    {
      g_auto(GStrv) parts = NULL;
      g_autofree char *joined = NULL;

      if (strstr (patterns[i], "%i") == NULL)
        {
          g_strv_builder_add (builder, patterns[i]);
          continue;
        }
      if (instance == NULL)
        continue;
      parts = g_strsplit (patterns[i], "%i", -1);
      joined = g_strjoinv (instance, parts);
      g_strv_builder_add (builder, joined);
    }
  return g_strv_builder_end (builder);
}

static gboolean
patterns_have_instance (GStrv patterns)
{
  for (guint i = 0; patterns && patterns[i] != NULL; i++)
    if (strstr (patterns[i], "%i") != NULL)
      return TRUE;
  return FALSE;
}

static GStrv
subject_rule_patterns (const SubjectRule *sr, JunoPolicyAction action)
{
  return sr->patterns[action] ? sr->patterns[action] : sr->rule->patterns[action];
}

static gboolean
patterns_have_star (GStrv patterns)
{
  for (guint i = 0; patterns && patterns[i] != NULL; i++)
    if (strcmp (patterns[i], "*") == 0)
      return TRUE;
  return FALSE;
}

/* Allowed on every target: an allow "*" at some level, and no deny for
 * the action at that level or above. */
static gboolean
compute_allow_all (JunoPolicySubject *self, JunoPolicyAction action)
{
  for (guint i = 0; i < self->rules->len; i++)
    {
      const SubjectRule *sr = &g_array_index (self->rules, SubjectRule, i);
      GStrv patterns = subject_rule_patterns (sr, action);

      if (patterns == NULL || patterns[0] == NULL)
        continue;
      if (sr->rule->deny)
        return FALSE;
      if (patterns_have_star (patterns))
        {
          /* any deny at the same level still counts */
          for (guint j = i + 1; j < self->rules->len; j++)
            {
              const SubjectRule *other = &g_array_index (self->rules, SubjectRule, j);
              GStrv other_patterns = subject_rule_patterns (other, action);

              if (other->rule->level != sr->rule->level)
                break;
              if (other->rule->deny && other_patterns != NULL && other_patterns[0] != NULL)
                return FALSE;
            }
          return TRUE;
        }
    }
  return FALSE;
}

static gint
compare_levels (gconstpointer a, gconstpointer b)
{
  const SubjectRule *ra = a, *rb = b;

  return (gint) rb->rule->level - (gint) ra->rule->level;
}

static void
subject_rule_clear (gpointer data)
{
  SubjectRule *sr = data;

  for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
    g_strfreev (sr->patterns[a]);
}

JunoPolicySubject *
juno_policy_subject_new (JunoPolicy *policy, const JunoPolicyPeer *peer)
{
  JunoPolicySubject *self = g_new0 (JunoPolicySubject, 1);

  self->policy = juno_policy_ref (policy);
  self->rules = g_array_new (FALSE, TRUE, sizeof (SubjectRule));
  g_array_set_clear_func (self->rules, subject_rule_clear);
  for (guint i = 0; i < policy->rules->len; i++)
    {
      const JunoPolicyRule *rule = g_ptr_array_index (policy->rules, i);
      SubjectRule sr = { .rule = rule };
      const char *unit;

      if (!rule_matches_peer (rule, peer, &unit))
        continue;
      for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
        if (patterns_have_instance (rule->patterns[a]))
          {
            g_autofree char *instance = unit_instance (unit);

            sr.patterns[a] = expand_patterns (rule->patterns[a], instance);
          }
      g_array_append_val (self->rules, sr);
    }
  /* g_array_sort is not stable; file order within a level matters only
   * for which rule a log line names, so any order of equals will do */
  g_array_sort (self->rules, compare_levels);
  for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
    self->allow_all[a] = compute_allow_all (self, a);
  return self;
}

void
juno_policy_subject_free (JunoPolicySubject *self)
{
  if (self == NULL)
    return;
  for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
    g_clear_pointer (&self->cache[a], g_hash_table_unref);
  g_array_unref (self->rules);
  juno_policy_unref (self->policy);
  g_free (self);
}

gboolean
juno_policy_subject_allows_all (JunoPolicySubject *self, JunoPolicyAction action)
{
  return self->allow_all[action];
}

static gboolean
patterns_match (GStrv patterns, const char *target)
{
  for (guint i = 0; patterns && patterns[i] != NULL; i++)
    if (juno_policy_glob_match (patterns[i], target))
      return TRUE;
  return FALSE;
}

/* The rule that decides, walking the levels from the top. */
static gboolean
evaluate (JunoPolicySubject *self, JunoPolicyAction action, const char *target, const JunoPolicyRule **decider)
{
  const JunoPolicyRule *allow = NULL;
  guint level = 0;

  for (guint i = 0; i < self->rules->len; i++)
    {
      const SubjectRule *sr = &g_array_index (self->rules, SubjectRule, i);

      if (allow != NULL && sr->rule->level != level)
        break;
      if (!patterns_match (subject_rule_patterns (sr, action), target))
        continue;
      if (sr->rule->deny)
        {
          *decider = sr->rule;
          return FALSE;
        }
      if (allow == NULL)
        {
          allow = sr->rule;
          level = sr->rule->level;
        }
    }
  *decider = allow;
  return allow != NULL;
}

gboolean
juno_policy_subject_check (JunoPolicySubject *self,
                           JunoPolicyAction action,
                           const char *target,
                           const JunoPolicyRule **rule)
{
  const JunoPolicyRule *decider = NULL;
  gpointer cached;
  gboolean allowed;

  g_return_val_if_fail (self != NULL && action < JUNO_POLICY_N_ACTIONS, FALSE);

  if (self->allow_all[action] && rule == NULL)
    return TRUE;
  if (self->cache[action] == NULL)
    self->cache[action] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_lookup_extended (self->cache[action], target, NULL, &cached))
    {
      /* the rule pointer, its low bit set when allowed */
      if (rule != NULL)
        *rule = (const JunoPolicyRule *) ((guintptr) cached & ~(guintptr) 1);
      return ((guintptr) cached & 1) != 0;
    }

  allowed = evaluate (self, action, target, &decider);
  if (g_hash_table_size (self->cache[action]) >= CACHE_MAX_ENTRIES)
    g_hash_table_remove_all (self->cache[action]);
  g_hash_table_insert (self->cache[action], g_strdup (target),
                       (gpointer) ((guintptr) decider | (allowed ? 1 : 0)));
  if (rule != NULL)
    *rule = decider;
  return allowed;
}
