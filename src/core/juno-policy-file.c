/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-policy-file.c: policy files and the built-in defaults
 *
 * The format is the key-file format of GLib (and of systemd units), read
 * line by line here so that every mistake is reported as "file:line":
 *
 *   # comment
 *   [Allow NAME] or [Deny NAME]      one rule
 *   User=root;alice;1000             subject keys: lists, any item matches
 *   Group=juno
 *   Unit=juno-module@*.service
 *   Transport=unix;tcp;dbus;nats
 *   Own=auth;auth-*                  action keys: lists of globs (* and ?)
 *   Call=auth.*
 *   Listen=auth.changed
 *   Trigger=%i.*                     %i: the instance of the peer's unit
 *
 * A rule needs at least one action key. User and group names are resolved
 * when the file is read; a rule naming only users or groups this host does
 * not have matches nobody. Files are read in the order of their names; a
 * file in a later directory (/etc) replaces one of the same name in an
 * earlier one (/usr/share). See juno.policy(5).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "juno-names.h"
#include "juno-policy-private.h"

#define MAX_FILE_SIZE (1024 * 1024)

G_DEFINE_QUARK (juno-policy-error-quark, juno_policy_error)

static const char *const action_keys[JUNO_POLICY_N_ACTIONS] = {
  [JUNO_POLICY_OWN] = "Own",
  [JUNO_POLICY_CALL] = "Call",
  [JUNO_POLICY_LISTEN] = "Listen",
  [JUNO_POLICY_TRIGGER] = "Trigger",
};

void
juno_policy_rule_free (JunoPolicyRule *rule)
{
  g_free (rule->name);
  g_free (rule->origin);
  g_clear_pointer (&rule->uids, g_array_unref);
  g_clear_pointer (&rule->gids, g_array_unref);
  g_strfreev (rule->units);
  for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
    g_strfreev (rule->patterns[a]);
  g_free (rule);
}

JunoPolicy *
juno_policy_new (void)
{
  JunoPolicy *self = g_new0 (JunoPolicy, 1);

  self->ref_count = 1;
  self->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) juno_policy_rule_free);
  self->files = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->files, NULL);
  return self;
}

JunoPolicy *
juno_policy_ref (JunoPolicy *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
juno_policy_unref (JunoPolicy *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_ptr_array_unref (self->rules);
  g_ptr_array_unref (self->files);
  g_free (self);
}

guint
juno_policy_get_n_rules (JunoPolicy *self)
{
  return self->rules->len;
}

const char *const *
juno_policy_get_files (JunoPolicy *self)
{
  return (const char *const *) self->files->pdata;
}

/* Parsing */

typedef struct
{
  const char *origin;
  guint line;
  gboolean quiet;     /* built-in text: no messages about missing users */
  GPtrArray *rules;   /* parsed so far, moved into the policy on success */
  JunoPolicyRule *rule;
  guint seen;         /* keys seen in the current rule, one bit each */
} Parser;

static gboolean G_GNUC_PRINTF (3, 4)
fail (Parser *p, GError **error, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_SYNTAX, "%s:%u: %s", p->origin, p->line, message);
  return FALSE;
}

static GStrv
split_list (const char *value)
{
  g_auto(GStrv) items = g_strsplit (value, ";", -1);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; items[i] != NULL; i++)
    {
      g_strstrip (items[i]);
      if (items[i][0] != '\0')
        g_strv_builder_add (builder, items[i]);
    }
  return g_strv_builder_end (builder);
}

/* Globs over names: printable ASCII but spaces, backslashes and ';'. */
static gboolean
glob_is_valid (const char *glob)
{
  for (const char *c = glob; *c; c++)
    if ((guchar) *c <= ' ' || (guchar) *c >= 0x7f || *c == '\\')
      return FALSE;
  return TRUE;
}

static gboolean
parse_id (const char *item, guint *out)
{
  guint64 n;

  if (!g_ascii_isdigit (item[0]) || !g_ascii_string_to_unsigned (item, 10, 0, G_MAXUINT32 - 1, &n, NULL))
    return FALSE;
  *out = (guint) n;
  return TRUE;
}

static gboolean
lookup_user (const char *name, guint *uid)
{
  struct passwd pw, *result = NULL;
  char buf[4096];

  if (parse_id (name, uid))
    return TRUE;
  if (getpwnam_r (name, &pw, buf, sizeof buf, &result) != 0 || result == NULL)
    return FALSE;
  *uid = (guint) pw.pw_uid;
  return TRUE;
}

static gboolean
lookup_group (const char *name, guint *gid)
{
  struct group gr, *result = NULL;
  char buf[16384];

  if (parse_id (name, gid))
    return TRUE;
  if (getgrnam_r (name, &gr, buf, sizeof buf, &result) != 0 || result == NULL)
    return FALSE;
  *gid = (guint) gr.gr_gid;
  return TRUE;
}

/* User= and Group=: names or numbers; unknown names are left out. */
static gboolean
parse_ids (Parser *p, const char *key, GStrv items, gboolean users, GArray **out, GError **error)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint));

  *out = ids;
  for (guint i = 0; items[i] != NULL; i++)
    {
      guint id;

      if (!glob_is_valid (items[i]) || strpbrk (items[i], "*?") != NULL)
        return fail (p, error, "%s=: '%s' is not a %s name or number", key, items[i], users ? "user" : "group");
      if (users ? lookup_user (items[i], &id) : lookup_group (items[i], &id))
        g_array_append_val (ids, id);
      else if (!p->quiet)
        g_message ("%s:%u: no %s '%s' on this host; the rule does not apply to it",
                   p->origin, p->line, users ? "user" : "group", items[i]);
    }
  if (ids->len == 0)
    p->rule->never = TRUE;
  return TRUE;
}

static gboolean
parse_transports (Parser *p, GStrv items, GError **error)
{
  for (guint i = 0; items[i] != NULL; i++)
    {
      guint bit = juno_policy_transport_from_string (items[i]);

      if (bit == 0)
        return fail (p, error, "Transport=: '%s' is not unix, tcp, dbus or nats", items[i]);
      p->rule->transports |= bit;
    }
  return TRUE;
}

static gboolean
parse_globs (Parser *p, const char *key, GStrv items, GError **error)
{
  for (guint i = 0; items[i] != NULL; i++)
    if (!glob_is_valid (items[i]))
      return fail (p, error, "%s=: '%s' holds a space, a control character or a backslash", key, items[i]);
  return TRUE;
}

static gboolean
end_rule (Parser *p, GError **error)
{
  JunoPolicyRule *rule = p->rule;
  gboolean any = FALSE;

  if (rule == NULL)
    return TRUE;
  for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
    any = any || rule->patterns[a] != NULL;
  if (!any)
    {
      g_autofree char *origin = g_strdup (rule->origin);

      return fail (p, error, "rule '%s' (line %s) names no action: give Own=, Call=, Listen= or Trigger=",
                   rule->name, strrchr (origin, ':') + 1);
    }
  if (rule->uids != NULL)
    rule->level = JUNO_POLICY_LEVEL_USER;
  else if (rule->units != NULL)
    rule->level = JUNO_POLICY_LEVEL_UNIT;
  else if (rule->gids != NULL)
    rule->level = JUNO_POLICY_LEVEL_GROUP;
  g_ptr_array_add (p->rules, g_steal_pointer (&p->rule));
  return TRUE;
}

static gboolean
begin_rule (Parser *p, const char *line, GError **error)
{
  const char *end = strchr (line, ']');
  g_autofree char *header = NULL;
  const char *name;
  gboolean deny;

  if (end == NULL || end[1] != '\0')
    return fail (p, error, "a group header must be [Allow NAME] or [Deny NAME]");
  header = g_strndup (line + 1, (gsize) (end - line - 1));
  if (g_str_has_prefix (header, "Allow "))
    deny = FALSE, name = header + 6;
  else if (g_str_has_prefix (header, "Deny "))
    deny = TRUE, name = header + 5;
  else
    return fail (p, error, "unknown group [%s]: a rule is [Allow NAME] or [Deny NAME]", header);
  while (*name == ' ')
    name++;
  if (*name == '\0')
    return fail (p, error, "the rule has no name: [%s NAME]", deny ? "Deny" : "Allow");
  if (!end_rule (p, error))
    return FALSE;

  p->rule = g_new0 (JunoPolicyRule, 1);
  p->rule->deny = deny;
  p->rule->name = g_strdup_printf ("%s %s", deny ? "Deny" : "Allow", name);
  p->rule->origin = g_strdup_printf ("%s:%u", p->origin, p->line);
  p->seen = 0;
  return TRUE;
}

static int
key_index (const char *key)
{
  static const char *const subject_keys[] = { "User", "Group", "Unit", "Transport" };

  for (guint i = 0; i < G_N_ELEMENTS (subject_keys); i++)
    if (strcmp (key, subject_keys[i]) == 0)
      return (int) i;
  for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
    if (strcmp (key, action_keys[a]) == 0)
      return (int) (G_N_ELEMENTS (subject_keys) + a);
  return -1;
}

static gboolean
parse_assignment (Parser *p, const char *line, GError **error)
{
  const char *eq = strchr (line, '=');
  g_autofree char *key = NULL;
  g_auto(GStrv) items = NULL;
  JunoPolicyRule *rule = p->rule;
  int index;

  if (eq == NULL)
    return fail (p, error, "expected KEY=VALUE, a [group] or a # comment");
  if (rule == NULL)
    return fail (p, error, "a key before the first [Allow NAME] or [Deny NAME]");
  key = g_strstrip (g_strndup (line, (gsize) (eq - line)));
  index = key_index (key);
  if (index < 0)
    return fail (p, error, "unknown key '%s'", key);
  if (p->seen & (1u << index))
    return fail (p, error, "%s= given twice in rule '%s'", key, rule->name);
  p->seen |= 1u << index;
  items = split_list (eq + 1);
  if (items[0] == NULL)
    return fail (p, error, "%s= is empty", key);

  switch (index)
    {
    case 0:
      return parse_ids (p, key, items, TRUE, &rule->uids, error);
    case 1:
      return parse_ids (p, key, items, FALSE, &rule->gids, error);
    case 2:
      if (!parse_globs (p, key, items, error))
        return FALSE;
      rule->units = g_steal_pointer (&items);
      return TRUE;
    case 3:
      return parse_transports (p, items, error);
    default:
      if (!parse_globs (p, key, items, error))
        return FALSE;
      rule->patterns[index - 4] = g_steal_pointer (&items);
      return TRUE;
    }
}

gboolean
juno_policy_add_text (JunoPolicy *self, const char *origin, const char *text, gsize len, GError **error)
{
  Parser p = { .origin = origin, .quiet = g_str_equal (origin, "built-in") };
  g_autoptr(GPtrArray) rules = g_ptr_array_new_with_free_func ((GDestroyNotify) juno_policy_rule_free);
  const char *end = text + len;
  gboolean ok = TRUE;

  p.rules = rules;
  if (!g_utf8_validate (text, (gssize) len, NULL))
    {
      g_set_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_SYNTAX, "%s: not UTF-8 text", origin);
      return FALSE;
    }
  for (const char *line = text; ok && line < end;)
    {
      const char *nl = memchr (line, '\n', (gsize) (end - line));
      g_autofree char *copy = g_strndup (line, (gsize) ((nl ? nl : end) - line));

      p.line++;
      g_strstrip (copy);
      if (copy[0] == '\0' || copy[0] == '#' || copy[0] == ';')
        ;
      else if (copy[0] == '[')
        ok = begin_rule (&p, copy, error);
      else
        ok = parse_assignment (&p, copy, error);
      line = nl ? nl + 1 : end;
    }
  if (ok)
    ok = end_rule (&p, error);
  g_clear_pointer (&p.rule, juno_policy_rule_free);
  if (!ok)
    return FALSE;

  /* moved into the policy */
  g_ptr_array_set_free_func (rules, NULL);
  g_ptr_array_extend_and_steal (self->rules, g_steal_pointer (&rules));
  return TRUE;
}

/* Defaults */

#define ALL_ACTIONS "Own=*\nCall=*\nListen=*\nTrigger=*\n"
/* The brokers of a federation vouch for their modules: NATS's
 * authentication is the door (docs/federation.md, docs/security.md). */
#define FEDERATION "[Allow federation]\nTransport=nats\n" ALL_ACTIONS "\n"
#define DISCOVERY \
  "[Allow discovery]\n" \
  "Call=" JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_LIST_MODULES ";" \
  JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_GET_MODULE_INFO ";" \
  JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_GET_STATS "\n"

char *
juno_policy_defaults_text (JunoPolicyDefaults defaults, uid_t owner)
{
  if (defaults == JUNO_POLICY_DEFAULTS_USER)
    return g_strdup_printf ("[Allow owner]\nUser=%u\n" ALL_ACTIONS "\n"
                            "[Allow tcp]\nTransport=tcp\n" ALL_ACTIONS "\n"
                            FEDERATION
                            DISCOVERY,
                            (unsigned) owner);
  return g_strdup ("[Allow root]\nUser=0\n" ALL_ACTIONS "\n"
                   "[Allow juno group]\nGroup=juno\n" ALL_ACTIONS "\n"
                   "[Allow juno-module units]\nUnit=juno-module@*.service\n"
                   "Own=%i\nCall=*\nListen=*\nTrigger=%i.*\n\n"
                   FEDERATION
                   DISCOVERY);
}

GStrv
juno_policy_default_dirs (JunoPolicyDefaults defaults)
{
  if (defaults == JUNO_POLICY_DEFAULTS_SYSTEM)
    {
      GStrv dirs = g_new0 (char *, 3);

      dirs[0] = g_build_filename (JUNO_DATADIR, "juno", "policy.d", NULL);
      dirs[1] = g_build_filename (JUNO_SYSCONFDIR, "juno", "policy.d", NULL);
      return dirs;
    }
  else
    {
      GStrv dirs = g_new0 (char *, 2);

      dirs[0] = g_build_filename (g_get_user_config_dir (), "juno", "policy.d", NULL);
      return dirs;
    }
}

/* "*.conf" in @dirs by file name, a later directory's replacing an earlier's:
 * name -> path */
static GHashTable *
collect_files (const char *const *dirs, GError **error)
{
  g_autoptr(GHashTable) files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; dirs && dirs[i] != NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GDir) dir = g_dir_open (dirs[i], 0, &local_error);
      const char *name;

      if (dir == NULL)
        {
          if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            continue;
          g_set_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_IO, "%s", local_error->message);
          return NULL;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, ".conf") && name[0] != '.')
          g_hash_table_insert (files, g_strdup (name), g_build_filename (dirs[i], name, NULL));
    }
  return g_steal_pointer (&files);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

JunoPolicy *
juno_policy_load (JunoPolicyDefaults defaults, uid_t owner, const char *const *dirs, GError **error)
{
  g_autoptr(JunoPolicy) self = juno_policy_new ();
  g_autofree char *builtin = juno_policy_defaults_text (defaults, owner);
  g_autoptr(GHashTable) files = NULL;
  g_autofree const char **names = NULL;
  guint n;

  if (!juno_policy_add_text (self, "built-in", builtin, strlen (builtin), error))
    return NULL;
  files = collect_files (dirs, error);
  if (files == NULL)
    return NULL;
  names = (const char **) g_hash_table_get_keys_as_array (files, &n);
  qsort (names, n, sizeof *names, compare_names);
  for (guint i = 0; i < n; i++)
    {
      const char *path = g_hash_table_lookup (files, names[i]);
      g_autoptr(GError) local_error = NULL;
      g_autofree char *text = NULL;
      gsize len;

      if (!g_file_get_contents (path, &text, &len, &local_error))
        {
          g_set_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_IO, "%s", local_error->message);
          return NULL;
        }
      if (len > MAX_FILE_SIZE)
        {
          g_set_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_IO, "%s: larger than %d bytes", path,
                       MAX_FILE_SIZE);
          return NULL;
        }
      if (!juno_policy_add_text (self, path, text, len, error))
        return NULL;
      g_ptr_array_insert (self->files, (gint) self->files->len - 1, g_strdup (path));
    }
  return g_steal_pointer (&self);
}
