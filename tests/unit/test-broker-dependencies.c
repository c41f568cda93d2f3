/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-dependencies.c: the broker core through fake endpoints: dependency resolution against a model
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

/* ------------------------------------------------------------------ */
/* Dependencies                                                        */
/* ------------------------------------------------------------------ */

#define MAX_DEP_MODULES 4

typedef struct
{
  const char *id;
  const char *version;
  const char *deps; /* JSON, single quotes; NULL for none */
  gboolean active;  /* once every module of the scenario is registered */
} DepModule;

static const struct DepScenario
{
  const char *name;
  DepModule modules[MAX_DEP_MODULES + 1];
  /* "+x" registers x, "+x@2.0.0" with that version, "-x" removes it;
   * NULL: every order of registering all, then removing in that order */
  const char *ops;
} dep_scenarios[] = {
  { "chain",
    { { "a", "1.0.0", "{'b':'^1.0.0'}", TRUE }, { "b", "1.2.0", "{'c':'~2.1'}", TRUE }, { "c", "2.1.5", NULL, TRUE } },
    NULL },
  { "long-chain",
    { { "a", "1.0.0", "{'b':'1'}", TRUE }, { "b", "1.0.0", "{'c':'1'}", TRUE }, { "c", "1.0.0", "{'d':'1'}", TRUE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  { "mutual",
    { { "a", "1.0.0", "{'b':'^1'}", TRUE }, { "b", "1.0.0", "{'a':'^1'}", TRUE } },
    NULL },
  { "cycle-of-three",
    { { "a", "1.0.0", "{'b':'*'}", TRUE }, { "b", "1.0.0", "{'c':'*'}", TRUE }, { "c", "1.0.0", "{'a':'*'}", TRUE } },
    NULL },
  { "cycle-with-tail",
    { { "a", "1.0.0", "{'b':'*'}", TRUE }, { "b", "1.0.0", "{'a':'*','c':'*'}", TRUE }, { "c", "1.0.0", "{'d':'*'}", TRUE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  { "self", { { "a", "1.0.0", "{'a':'^1.0.0'}", TRUE }, { "b", "1.0.0", "{'a':'1'}", TRUE } }, NULL },
  { "self-mismatch", { { "a", "1.0.0", "{'a':'^2.0.0'}", FALSE }, { "b", "1.0.0", "{'a':'*'}", FALSE } }, NULL },
  { "mutual-mismatch",
    { { "a", "1.0.0", "{'b':'^1'}", FALSE }, { "b", "1.0.0", "{'a':'^2'}", FALSE }, { "c", "1.0.0", "{'b':'*'}", FALSE } },
    NULL },
  { "cycle-needs-missing",
    { { "a", "1.0.0", "{'b':'*'}", FALSE }, { "b", "1.0.0", "{'a':'*','missing':'*'}", FALSE } },
    NULL },
  { "diamond",
    { { "a", "1.0.0", "{'b':'1','c':'1'}", TRUE }, { "b", "1.0.0", "{'d':'1'}", TRUE }, { "c", "1.0.0", "{'d':'1'}", TRUE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  { "diamond-one-side-mismatch",
    { { "a", "1.0.0", "{'b':'1','c':'1'}", FALSE }, { "b", "1.0.0", "{'d':'1'}", TRUE }, { "c", "1.0.0", "{'d':'2'}", FALSE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  /* the original broker aborts here: a requires a version b does not have
   * while b is itself inactive */
  { "mismatch-on-inactive",
    { { "a", "1.0.0", "{'b':'^2.0.0'}", FALSE }, { "b", "1.0.0", "{'c':'*'}", TRUE }, { "c", "1.0.0", NULL, TRUE } },
    NULL },
  { "mismatch-on-inactive-forever",
    { { "a", "1.0.0", "{'b':'^2.0.0'}", FALSE }, { "b", "1.0.0", "{'missing':'*'}", FALSE }, { "c", "1.0.0", "{'a':'*','b':'*'}", FALSE } },
    NULL },
  { "depends-on-juno",
    { { "a", "1.0.0", "{'juno':'>=0.0.1'}", TRUE }, { "b", "1.0.0", "{'juno':'>=1000.0.0'}", FALSE },
      { "c", "1.0.0", "{'a':'*','juno':'*'}", TRUE } },
    NULL },
  { "prerelease",
    { { "a", "1.0.0", "{'b':'>=1.0.0'}", FALSE }, { "b", "1.1.0-beta", NULL, TRUE }, { "c", "1.0.0", "{'b':'1.1.0-alpha'}", TRUE } },
    NULL },
  { "npm-ranges",
    { { "a", "1.0.0", "{'b':'^1.0.0 || ^2.0.0'}", TRUE }, { "b", "2.3.0", NULL, TRUE },
      { "c", "1.0.0", "{'b':'1.0.0 - 1.5.0'}", FALSE }, { "d", "1.0.0", "{'b':'>=2.0.0 <2.3.0'}", FALSE } },
    NULL },
  { "flap",
    { { "a", "1.0.0", "{'b':'^1'}", TRUE }, { "b", "1.0.0", NULL, TRUE }, { "c", "1.0.0", "{'a':'^1'}", TRUE } },
    "+c +a +b -b +b -b +b -a +a -c +c -b -a -c" },
  { "version-change",
    { { "a", "1.0.0", "{'b':'^1'}", TRUE }, { "b", "1.0.0", NULL, TRUE }, { "c", "1.0.0", "{'a':'*'}", TRUE } },
    "+a +c +b@2.0.0 -b +b@1.9.9 -b +b@0.9.0 -b +b -a +a@2.0.0 -b -a -c" },
  { "cycle-broken-and-mended",
    { { "a", "1.0.0", "{'b':'*'}", TRUE }, { "b", "1.0.0", "{'c':'*'}", TRUE }, { "c", "1.0.0", "{'a':'*'}", TRUE },
      { "d", "1.0.0", "{'a':'*','c':'*'}", TRUE } },
    "+a +b +d +c -b +b -c +c@2.0.0 -a +a -d -a -b -c" },
};

typedef struct
{
  const struct DepScenario *scenario;
  char *ops;
} DepTest;

static void
dep_test_free (gpointer data)
{
  DepTest *test = data;

  g_free (test->ops);
  g_free (test);
}

typedef struct
{
  Fixture *f;
  const struct DepScenario *s;
  guint n;
  FakePeer *watch;
  FakePeer *peers[MAX_DEP_MODULES];   /* NULL while not connected */
  char *versions[MAX_DEP_MODULES];    /* while connected */
  gboolean active[MAX_DEP_MODULES];   /* the model's verdict */
} DepRun;

static int
dep_index (const DepRun *run, const char *id)
{
  for (guint i = 0; i < run->n; i++)
    if (g_str_equal (run->s->modules[i].id, id))
      return (int) i;
  return -1;
}

static gboolean
requirement_met (const char *req_text, const char *version_text)
{
  g_autoptr(JunoVersionReq) req = juno_version_req_parse (req_text, NULL);
  g_auto(JunoVersion) version = { 0 };

  g_assert_nonnull (req);
  g_assert_true (juno_version_parse (version_text, &version, NULL));
  return juno_version_req_matches (req, &version);
}

/* The reference: start from every registered module active and strike out
 * those with an unmet dependency until nothing changes (the greatest fixed
 * point, computed naively over everything). */
static void
model_resolve (DepRun *run, gboolean *active)
{
  gboolean changed = TRUE;

  for (guint i = 0; i < run->n; i++)
    active[i] = run->peers[i] != NULL;
  while (changed)
    {
      changed = FALSE;
      for (guint i = 0; i < run->n; i++)
        {
          g_autoptr(JsonNode) deps = NULL;
          JsonObject *object;
          g_autoptr(GList) names = NULL;

          if (!active[i] || run->s->modules[i].deps == NULL)
            continue;
          deps = parse_json (run->s->modules[i].deps);
          object = json_node_get_object (deps);
          names = json_object_get_members (object);
          for (GList *l = names; l != NULL; l = l->next)
            {
              const char *name = l->data;
              const char *req = json_object_get_string_member (object, name);
              int target = dep_index (run, name);
              gboolean met;

              if (g_str_equal (name, "juno"))
                met = requirement_met (req, juno_broker_get_version (run->f->broker));
              else
                met = target >= 0 && active[target] && requirement_met (req, run->versions[target]);
              if (!met)
                {
                  active[i] = FALSE;
                  changed = TRUE;
                  break;
                }
            }
        }
    }
}

static void
dep_step (DepRun *run, const char *op)
{
  Fixture *f = run->f;
  gboolean before[MAX_DEP_MODULES] = { FALSE }, after[MAX_DEP_MODULES] = { FALSE };
  guint activated[MAX_DEP_MODULES] = { 0 }, deactivated[MAX_DEP_MODULES] = { 0 };
  guint events_before = f->events->len;
  g_auto(GStrv) parts = g_strsplit (op + 1, "@", 2);
  int i = dep_index (run, parts[0]);
  guint n_active = 1; /* watch */

  g_test_message ("step %s", op);
  g_assert_cmpint (i, >=, 0);
  memcpy (before, run->active, sizeof before);
  if (op[0] == '+')
    {
      const DepModule *m = &run->s->modules[i];

      g_assert_null (run->peers[i]);
      run->peers[i] = peer_new (f);
      run->versions[i] = g_strdup (parts[1] ? parts[1] : m->version);
      register_module (run->peers[i], m->id, run->versions[i], m->deps);
    }
  else
    {
      g_assert_cmpint (op[0], ==, '-');
      g_assert_nonnull (run->peers[i]);
      peer_remove (run->peers[i]);
      run->peers[i] = NULL;
      g_clear_pointer (&run->versions[i], g_free);
    }
  model_resolve (run, after);
  memcpy (run->active, after, sizeof after);

  /* each module still here hears of its own transition, once */
  for (guint j = 0; j < run->n; j++)
    {
      if (run->peers[j] == NULL)
        continue;
      if (!before[j] && after[j])
        pop_hook (run->peers[j], "juno.activated", "{}");
      else if (before[j] && !after[j])
        pop_hook (run->peers[j], "juno.deactivated", "{}");
      assert_no_output (run->peers[j]);
      g_assert_cmpint (module_is_active (f, run->s->modules[j].id), ==, after[j]);
      if (after[j])
        n_active++;
    }

  /* the broadcasts and signals: exactly one per real transition */
  while (pending (run->watch) > 0)
    {
      g_autoptr(JsonObject) object = pop_message (run->watch, 8, NULL);
      const char *hook = get_str (object, "hook");
      JsonObject *hook_data = json_object_get_object_member (object, "data");
      int k;

      g_assert_nonnull (hook_data);
      k = dep_index (run, get_str (hook_data, "moduleId"));
      g_assert_cmpint (k, >=, 0);
      if (g_str_equal (hook, "juno.moduleActivated"))
        activated[k]++;
      else if (g_str_equal (hook, "juno.moduleDeactivated"))
        deactivated[k]++;
      else
        g_assert_not_reached ();
    }
  for (guint j = 0; j < run->n; j++)
    {
      g_autofree char *on = g_strdup_printf ("activated %s", run->s->modules[j].id);
      g_autofree char *off = g_strdup_printf ("deactivated %s", run->s->modules[j].id);
      guint on_events = 0, off_events = 0;

      for (guint e = events_before; e < f->events->len; e++)
        {
          on_events += g_str_equal (g_ptr_array_index (f->events, e), on);
          off_events += g_str_equal (g_ptr_array_index (f->events, e), off);
        }
      g_assert_cmpuint (activated[j], ==, !before[j] && after[j]);
      g_assert_cmpuint (deactivated[j], ==, before[j] && !after[j]);
      g_assert_cmpuint (on_events, ==, activated[j]);
      g_assert_cmpuint (off_events, ==, deactivated[j]);
    }
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->active_modules, ==, n_active);
  assert_quiet (f);
}

static void
test_dependencies (gconstpointer data)
{
  const DepTest *test = data;
  Fixture fixture = { 0 };
  DepRun run = { &fixture, test->scenario, 0 };
  g_auto(GStrv) ops = g_strsplit (test->ops, " ", -1);

  fixture_set_up (&fixture, NULL);
  while (run.n < MAX_DEP_MODULES && run.s->modules[run.n].id != NULL)
    run.n++;
  run.watch = add_module (&fixture, "watch");
  listen_hook (run.watch, "juno.moduleActivated");
  listen_hook (run.watch, "juno.moduleDeactivated");

  for (guint k = 0; ops[k] != NULL; k++)
    {
      dep_step (&run, ops[k]);
      /* once everything is registered the scenario's verdict holds */
      if (test->scenario->ops == NULL && k + 1 == run.n)
        for (guint j = 0; j < run.n; j++)
          g_assert_cmpint (run.active[j], ==, run.s->modules[j].active);
    }
  for (guint j = 0; j < run.n; j++)
    {
      g_assert_null (run.peers[j]); /* every sequence ends with all gone */
      g_assert_null (run.versions[j]);
    }
  fixture_tear_down (&fixture, NULL);
}

/* Adds one test per order of registration (removal in the same order). */
static void
add_permutations (const struct DepScenario *s, guint n, guint *order, guint depth, gboolean *used)
{
  if (depth == n)
    {
      DepTest *test = g_new0 (DepTest, 1);
      GString *ops = g_string_new (NULL);
      GString *name = g_string_new (NULL);
      g_autofree char *path = NULL;

      for (guint i = 0; i < n; i++)
        {
          g_string_append_printf (ops, "%s+%s", i ? " " : "", s->modules[order[i]].id);
          g_string_append (name, s->modules[order[i]].id);
        }
      for (guint i = 0; i < n; i++)
        g_string_append_printf (ops, " -%s", s->modules[order[i]].id);
      test->scenario = s;
      test->ops = g_string_free (ops, FALSE);
      path = g_strdup_printf ("/core/broker/deps/%s/%s", s->name, name->str);
      g_string_free (name, TRUE);
      g_test_add_data_func_full (path, test, test_dependencies, dep_test_free);
      return;
    }
  for (guint i = 0; i < n; i++)
    if (!used[i])
      {
        used[i] = TRUE;
        order[depth] = i;
        add_permutations (s, n, order, depth + 1, used);
        used[i] = FALSE;
      }
}

static void
add_dependency_tests (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (dep_scenarios); k++)
    {
      const struct DepScenario *s = &dep_scenarios[k];
      guint n = 0;

      while (n < MAX_DEP_MODULES && s->modules[n].id != NULL)
        n++;
      if (s->ops == NULL)
        {
          guint order[MAX_DEP_MODULES];
          gboolean used[MAX_DEP_MODULES] = { FALSE };

          add_permutations (s, n, order, 0, used);
        }
      else
        {
          DepTest *test = g_new0 (DepTest, 1);
          g_autofree char *path = g_strdup_printf ("/core/broker/deps/%s", s->name);

          test->scenario = s;
          test->ops = g_strdup (s->ops);
          g_test_add_data_func_full (path, test, test_dependencies, dep_test_free);
        }
    }
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  add_dependency_tests ();
  return broker_test_run ();
}
