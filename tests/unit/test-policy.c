/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-policy.c: the access policy's parser and matcher
 *
 * Table-driven: globs; files that must be refused, with the line named;
 * and verdicts of one policy text for peers described by uid, groups,
 * units and transport, including the precedence rules (most specific level
 * wins, deny beats allow at one level, no rule means deny) and %i.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "juno-policy-private.h"

/* Globs */

typedef struct
{
  const char *pattern;
  const char *text;
  gboolean match;
} GlobCase;

static const GlobCase glob_cases[] = {
  { "*", "", TRUE },
  { "*", "auth", TRUE },
  { "auth", "auth", TRUE },
  { "auth", "auth2", FALSE },
  { "auth*", "auth", TRUE },
  { "auth*", "authd", TRUE },
  { "auth*", "xauth", FALSE },
  { "*.get", "auth.get", TRUE },
  { "*.get", "auth.getx", FALSE },
  { "a?c", "abc", TRUE },
  { "a?c", "ac", FALSE },
  { "a*b*c", "axxbyyc", TRUE },
  { "a*b*c", "axxbyy", FALSE },
  { "juno-module@*.service", "juno-module@auth.service", TRUE },
  { "juno-module@*.service", "juno.service", FALSE },
  { "**", "x", TRUE },
};

static void
test_glob (gconstpointer data)
{
  const GlobCase *c = data;

  g_assert_cmpint (juno_policy_glob_match (c->pattern, c->text), ==, c->match);
}

/* Files refused, with the line of the mistake */

typedef struct
{
  const char *name;
  const char *text;
  const char *message; /* expected substring of the error, "test.conf:N: ..." */
} BadCase;

static const BadCase bad_cases[] = {
  { "key-before-group", "Own=*\n", "test.conf:1: a key before the first" },
  { "unknown-group", "# c\n[Permit x]\nOwn=*\n", "test.conf:2: unknown group [Permit x]" },
  { "no-name", "[Allow ]\nOwn=*\n", "test.conf:1: the rule has no name" },
  { "unclosed", "[Allow x\nOwn=*\n", "test.conf:1: a group header must be" },
  { "unknown-key", "[Allow x]\nOwn=*\nOwner=a\n", "test.conf:3: unknown key 'Owner'" },
  { "twice", "[Allow x]\nOwn=a\nOwn=b\n", "test.conf:3: Own= given twice" },
  { "empty", "[Allow x]\nOwn=\n", "test.conf:2: Own= is empty" },
  { "no-equals", "[Allow x]\nOwn\n", "test.conf:2: expected KEY=VALUE" },
  { "no-action", "[Allow x]\nUser=root\n\n[Allow y]\nOwn=*\n", "test.conf:4: rule 'Allow x' (line 1) names no action" },
  { "no-action-last", "[Allow x]\nUser=root\n", "test.conf:2: rule 'Allow x' (line 1) names no action" },
  { "transport", "[Allow x]\nTransport=udp\nOwn=*\n", "test.conf:2: Transport=: 'udp' is not unix, tcp, dbus or nats" },
  { "user-glob", "[Allow x]\nUser=ro*\nOwn=*\n", "test.conf:2: User=: 'ro*' is not a user name or number" },
  { "space", "[Allow x]\nCall=a b\n", "test.conf:2: Call=: 'a b' holds a space" },
  { "backslash", "[Allow x]\nCall=a\\;b\n", "test.conf:2: Call=: 'a\\' holds" },
};

static void
test_bad_file (gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(JunoPolicy) policy = juno_policy_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (juno_policy_add_text (policy, "test.conf", c->text, strlen (c->text), &error));
  g_assert_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_SYNTAX);
  if (strstr (error->message, c->message) == NULL)
    g_error ("expected '%s' in '%s'", c->message, error->message);
  /* nothing of a refused file is kept */
  g_assert_cmpuint (juno_policy_get_n_rules (policy), ==, 0);
}

/* Verdicts */

#define POLICY_TEXT \
  "[Allow everyone discovers]\nCall=juno.listModules;juno.getModuleInfo\n\n" \
  "[Allow staff]\nGroup=100\nOwn=staff-*\nCall=auth.*\nListen=auth.*\nTrigger=staff-*\n\n" \
  "[Deny staff secrets]\nGroup=100\nCall=auth.secret*\n\n" \
  "[Allow alice secrets]\nUser=1001\nCall=auth.secret\n\n" \
  "[Allow modules]\nUnit=juno-module@*.service\nOwn=%i\nCall=*\nListen=*\nTrigger=%i.*\n\n" \
  "[Deny tcp owners]\nTransport=tcp\nOwn=*\n\n" \
  "[Allow tcp]\nTransport=tcp\nCall=*\nOwn=tcp-*\n\n" \
  "[Allow root]\nUser=0\nOwn=*\nCall=*\nListen=*\nTrigger=*\n\n" \
  "[Deny root auth]\nUser=0\nOwn=auth\n"

typedef struct
{
  const char *name;
  gboolean has_uid;
  uid_t uid;
  gid_t gid;
  gid_t group;         /* one supplementary group, 0 for none */
  const char *unit;
  const char *user_unit;
  const char *transport;
  JunoPolicyAction action;
  const char *target;
  gboolean allowed;
  const char *rule;    /* the deciding rule's name, NULL for none */
} VerdictCase;

static const VerdictCase verdict_cases[] = {
  /* nobody in particular: discovery only */
  { "anyone-discovers", TRUE, 2000, 2000, 0, NULL, NULL, "unix", JUNO_POLICY_CALL, "juno.listModules", TRUE, "Allow everyone discovers" },
  { "anyone-no-call", TRUE, 2000, 2000, 0, NULL, NULL, "unix", JUNO_POLICY_CALL, "auth.login", FALSE, NULL },
  { "anyone-no-own", TRUE, 2000, 2000, 0, NULL, NULL, "unix", JUNO_POLICY_OWN, "auth", FALSE, NULL },
  { "anyone-no-listen", TRUE, 2000, 2000, 0, NULL, NULL, "unix", JUNO_POLICY_LISTEN, "auth.changed", FALSE, NULL },
  { "no-uid-no-own", FALSE, 0, 0, 0, NULL, NULL, "unix", JUNO_POLICY_OWN, "x", FALSE, NULL },
  /* a group, primary or supplementary */
  { "staff-primary-own", TRUE, 2000, 100, 0, NULL, NULL, "unix", JUNO_POLICY_OWN, "staff-web", TRUE, "Allow staff" },
  { "staff-supplementary-own", TRUE, 2000, 2000, 100, NULL, NULL, "unix", JUNO_POLICY_OWN, "staff-web", TRUE, "Allow staff" },
  { "staff-not-other", TRUE, 2000, 100, 0, NULL, NULL, "unix", JUNO_POLICY_OWN, "web", FALSE, NULL },
  { "staff-call", TRUE, 2000, 100, 0, NULL, NULL, "unix", JUNO_POLICY_CALL, "auth.login", TRUE, "Allow staff" },
  /* deny beats allow at the same level */
  { "staff-secret-denied", TRUE, 2000, 100, 0, NULL, NULL, "unix", JUNO_POLICY_CALL, "auth.secret", FALSE, "Deny staff secrets" },
  /* a user rule is more specific than a group rule */
  { "alice-secret", TRUE, 1001, 100, 0, NULL, NULL, "unix", JUNO_POLICY_CALL, "auth.secret", TRUE, "Allow alice secrets" },
  { "alice-secret2-denied", TRUE, 1001, 100, 0, NULL, NULL, "unix", JUNO_POLICY_CALL, "auth.secret2", FALSE, "Deny staff secrets" },
  { "staff-trigger", TRUE, 2000, 100, 0, NULL, NULL, "unix", JUNO_POLICY_TRIGGER, "staff-web.x", TRUE, "Allow staff" },
  /* units: %i is the instance */
  { "unit-own-self", TRUE, 61000, 61000, 0, "juno-module@auth.service", NULL, "unix", JUNO_POLICY_OWN, "auth", TRUE, "Allow modules" },
  { "unit-own-other", TRUE, 61000, 61000, 0, "juno-module@auth.service", NULL, "unix", JUNO_POLICY_OWN, "db", FALSE, NULL },
  { "unit-own-prefix", TRUE, 61000, 61000, 0, "juno-module@auth.service", NULL, "unix", JUNO_POLICY_OWN, "auth2", FALSE, NULL },
  { "unit-call", TRUE, 61000, 61000, 0, "juno-module@auth.service", NULL, "unix", JUNO_POLICY_CALL, "db.query", TRUE, "Allow modules" },
  { "unit-trigger-self", TRUE, 61000, 61000, 0, "juno-module@auth.service", NULL, "unix", JUNO_POLICY_TRIGGER, "auth.changed", TRUE, "Allow modules" },
  { "unit-trigger-other", TRUE, 61000, 61000, 0, "juno-module@auth.service", NULL, "unix", JUNO_POLICY_TRIGGER, "db.changed", FALSE, NULL },
  { "user-unit", TRUE, 1000, 1000, 0, "user@1000.service", "juno-module@notes.service", "unix", JUNO_POLICY_OWN, "notes", TRUE, "Allow modules" },
  { "other-unit", TRUE, 2000, 2000, 0, "cron.service", NULL, "unix", JUNO_POLICY_OWN, "cron", FALSE, NULL },
  /* transports: deny beats allow at level 0 */
  { "tcp-own-denied", FALSE, 0, 0, 0, NULL, NULL, "tcp", JUNO_POLICY_OWN, "tcp-x", FALSE, "Deny tcp owners" },
  { "tcp-call", FALSE, 0, 0, 0, NULL, NULL, "tcp", JUNO_POLICY_CALL, "auth.login", TRUE, "Allow tcp" },
  { "unix-not-tcp-rule", TRUE, 2000, 2000, 0, NULL, NULL, "unix", JUNO_POLICY_CALL, "auth.login", FALSE, NULL },
  /* root: everything but what a root-level deny takes away */
  { "root-own", TRUE, 0, 0, 0, NULL, NULL, "unix", JUNO_POLICY_OWN, "db", TRUE, "Allow root" },
  { "root-own-auth", TRUE, 0, 0, 0, NULL, NULL, "unix", JUNO_POLICY_OWN, "auth", FALSE, "Deny root auth" },
  { "root-over-tcp-deny", TRUE, 0, 0, 0, NULL, NULL, "dbus", JUNO_POLICY_LISTEN, "a.b", TRUE, "Allow root" },
};

static JunoPolicy *
verdict_policy (void)
{
  JunoPolicy *policy = juno_policy_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (juno_policy_add_text (policy, "verdicts.conf", POLICY_TEXT, strlen (POLICY_TEXT), &error));
  g_assert_no_error (error);
  return policy;
}

static void
test_verdict (gconstpointer data)
{
  const VerdictCase *c = data;
  g_autoptr(JunoPolicy) policy = verdict_policy ();
  g_autoptr(JunoPolicySubject) subject = NULL;
  gid_t groups[1] = { c->group };
  JunoPolicyPeer peer = {
    .has_uid = c->has_uid,
    .uid = c->uid,
    .gid = c->gid,
    .groups = groups,
    .n_groups = c->group ? 1 : 0,
    .unit = c->unit,
    .user_unit = c->user_unit,
    .transport = juno_policy_transport_from_string (c->transport),
  };
  const JunoPolicyRule *rule = NULL;

  subject = juno_policy_subject_new (policy, &peer);
  /* twice: the second answer comes from the cache */
  for (int round = 0; round < 2; round++)
    {
      rule = NULL;
      g_assert_cmpint (juno_policy_subject_check (subject, c->action, c->target, &rule), ==, c->allowed);
      g_assert_cmpstr (rule ? juno_policy_rule_get_name (rule) : NULL, ==, c->rule);
    }
  if (rule != NULL)
    g_assert_true (g_str_has_prefix (juno_policy_rule_get_origin (rule), "verdicts.conf:"));
}

/* The allow-all flag: set only when no deny can apply */
static void
test_allows_all (void)
{
  g_autoptr(JunoPolicy) policy = verdict_policy ();
  JunoPolicyPeer root = { .has_uid = TRUE, .uid = 0, .transport = JUNO_POLICY_TRANSPORT_UNIX };
  JunoPolicyPeer staff = { .has_uid = TRUE, .uid = 2000, .gid = 100, .transport = JUNO_POLICY_TRANSPORT_UNIX };
  g_autoptr(JunoPolicySubject) s_root = juno_policy_subject_new (policy, &root);
  g_autoptr(JunoPolicySubject) s_staff = juno_policy_subject_new (policy, &staff);

  g_assert_true (juno_policy_subject_allows_all (s_root, JUNO_POLICY_CALL));
  g_assert_true (juno_policy_subject_allows_all (s_root, JUNO_POLICY_LISTEN));
  /* [Deny root auth] is at root's level */
  g_assert_false (juno_policy_subject_allows_all (s_root, JUNO_POLICY_OWN));
  g_assert_false (juno_policy_subject_allows_all (s_staff, JUNO_POLICY_CALL));
}

/* The built-in defaults parse, and say what the documentation says. */
static void
test_defaults (void)
{
  g_autofree char *user_text = juno_policy_defaults_text (JUNO_POLICY_DEFAULTS_USER, 1234);
  g_autofree char *system_text = juno_policy_defaults_text (JUNO_POLICY_DEFAULTS_SYSTEM, 0);
  g_autoptr(JunoPolicy) user = juno_policy_new ();
  g_autoptr(JunoPolicy) system = juno_policy_new ();
  JunoPolicyPeer owner = { .has_uid = TRUE, .uid = 1234, .transport = JUNO_POLICY_TRANSPORT_UNIX };
  JunoPolicyPeer other = { .has_uid = TRUE, .uid = 4321, .transport = JUNO_POLICY_TRANSPORT_UNIX };
  JunoPolicyPeer tcp = { .transport = JUNO_POLICY_TRANSPORT_TCP };
  JunoPolicyPeer module = { .has_uid = TRUE, .uid = 61000, .unit = "juno-module@auth.service",
                            .transport = JUNO_POLICY_TRANSPORT_UNIX };
  JunoPolicyPeer root = { .has_uid = TRUE, .uid = 0, .transport = JUNO_POLICY_TRANSPORT_DBUS };

  g_assert_true (juno_policy_add_text (user, "built-in", user_text, strlen (user_text), NULL));
  g_assert_true (juno_policy_add_text (system, "built-in", system_text, strlen (system_text), NULL));

  {
    g_autoptr(JunoPolicySubject) s = juno_policy_subject_new (user, &owner);
    for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
      g_assert_true (juno_policy_subject_allows_all (s, a));
  }
  {
    g_autoptr(JunoPolicySubject) s = juno_policy_subject_new (user, &tcp);
    g_assert_true (juno_policy_subject_allows_all (s, JUNO_POLICY_OWN));
  }
  {
    g_autoptr(JunoPolicySubject) s = juno_policy_subject_new (user, &other);
    g_assert_false (juno_policy_subject_check (s, JUNO_POLICY_OWN, "x", NULL));
    g_assert_true (juno_policy_subject_check (s, JUNO_POLICY_CALL, "juno.getModuleInfo", NULL));
  }
  {
    g_autoptr(JunoPolicySubject) s = juno_policy_subject_new (system, &other);
    g_assert_false (juno_policy_subject_check (s, JUNO_POLICY_OWN, "x", NULL));
    g_assert_false (juno_policy_subject_check (s, JUNO_POLICY_CALL, "auth.login", NULL));
    g_assert_false (juno_policy_subject_check (s, JUNO_POLICY_LISTEN, "auth.changed", NULL));
    g_assert_true (juno_policy_subject_check (s, JUNO_POLICY_CALL, "juno.listModules", NULL));
  }
  {
    g_autoptr(JunoPolicySubject) s = juno_policy_subject_new (system, &tcp);
    g_assert_false (juno_policy_subject_check (s, JUNO_POLICY_OWN, "x", NULL));
  }
  {
    g_autoptr(JunoPolicySubject) s = juno_policy_subject_new (system, &module);
    g_assert_true (juno_policy_subject_check (s, JUNO_POLICY_OWN, "auth", NULL));
    g_assert_false (juno_policy_subject_check (s, JUNO_POLICY_OWN, "db", NULL));
    g_assert_true (juno_policy_subject_check (s, JUNO_POLICY_CALL, "db.query", NULL));
    g_assert_true (juno_policy_subject_check (s, JUNO_POLICY_LISTEN, "db.changed", NULL));
  }
  {
    g_autoptr(JunoPolicySubject) s = juno_policy_subject_new (system, &root);
    for (guint a = 0; a < JUNO_POLICY_N_ACTIONS; a++)
      g_assert_true (juno_policy_subject_allows_all (s, a));
  }
}

/* Files by name, the later directory's replacing the earlier's */
static void
test_load_dirs (void)
{
  g_autofree char *base = g_dir_make_tmp ("juno-policy-XXXXXX", NULL);
  g_autofree char *vendor = g_build_filename (base, "vendor", NULL);
  g_autofree char *admin = g_build_filename (base, "admin", NULL);
  const char *const dirs[] = { vendor, admin, NULL };
  g_autoptr(JunoPolicy) policy = NULL;
  g_autoptr(GError) error = NULL;
  const char *const *files;
  struct { const char *dir, *name, *text; } writes[] = {
    { vendor, "10-a.conf", "[Allow a]\nOwn=a\n" },
    { vendor, "20-b.conf", "[Allow b]\nOwn=b\n" },
    { admin, "20-b.conf", "[Allow b2]\nOwn=b2\n[Allow b3]\nOwn=b3\n" },
    { admin, "05-c.conf", "[Allow c]\nOwn=c\n" },
    { admin, "ignored.txt", "garbage" },
  };

  g_assert_cmpint (g_mkdir (vendor, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (admin, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (writes); i++)
    {
      g_autofree char *path = g_build_filename (writes[i].dir, writes[i].name, NULL);
      g_assert_true (g_file_set_contents (path, writes[i].text, -1, NULL));
    }

  policy = juno_policy_load (JUNO_POLICY_DEFAULTS_SYSTEM, 0, dirs, &error);
  g_assert_no_error (error);
  files = juno_policy_get_files (policy);
  g_assert_cmpuint (g_strv_length ((char **) files), ==, 3);
  g_assert_true (g_str_has_suffix (files[0], "admin/05-c.conf"));
  g_assert_true (g_str_has_suffix (files[1], "vendor/10-a.conf"));
  g_assert_true (g_str_has_suffix (files[2], "admin/20-b.conf"));
  /* 5 built-in rules, then c, a, b2, b3 */
  g_assert_cmpuint (juno_policy_get_n_rules (policy), ==, 5 + 4);

  /* a broken file: the whole load fails, naming file and line */
  {
    g_autofree char *path = g_build_filename (admin, "30-bad.conf", NULL);
    g_autoptr(JunoPolicy) broken = NULL;

    g_assert_true (g_file_set_contents (path, "[Allow x]\nOwn=x\nFrobnicate=1\n", -1, NULL));
    broken = juno_policy_load (JUNO_POLICY_DEFAULTS_SYSTEM, 0, dirs, &error);
    g_assert_null (broken);
    g_assert_error (error, JUNO_POLICY_ERROR, JUNO_POLICY_ERROR_SYNTAX);
    g_assert_true (strstr (error->message, "30-bad.conf:3: unknown key 'Frobnicate'") != NULL);
    g_unlink (path);
  }

  for (guint i = 0; i < G_N_ELEMENTS (writes); i++)
    {
      g_autofree char *path = g_build_filename (writes[i].dir, writes[i].name, NULL);
      g_unlink (path);
    }
  g_rmdir (vendor);
  g_rmdir (admin);
  g_rmdir (base);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (glob_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/policy/glob/%u", i);
      g_test_add_data_func (path, &glob_cases[i], test_glob);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/policy/bad-file/%s", bad_cases[i].name);
      g_test_add_data_func (path, &bad_cases[i], test_bad_file);
    }
  for (guint i = 0; i < G_N_ELEMENTS (verdict_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/policy/verdict/%s", verdict_cases[i].name);
      g_test_add_data_func (path, &verdict_cases[i], test_verdict);
    }
  g_test_add_func ("/core/policy/allows-all", test_allows_all);
  g_test_add_func ("/core/policy/defaults", test_defaults);
  g_test_add_func ("/core/policy/load-dirs", test_load_dirs);
  return g_test_run ();
}
