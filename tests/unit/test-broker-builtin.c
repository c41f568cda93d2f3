/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker-builtin.c: the broker core through fake endpoints: the built-in module and the module accessors
 * (the fixture is in broker-fixture.c) */
#include "broker-fixture.h"

/* ------------------------------------------------------------------ */
/* The built-in module                                                 */
/* ------------------------------------------------------------------ */

static gboolean
string_array_equals_set (JsonArray *array, const char *const *want)
{
  guint n = g_strv_length ((char **) want);

  if (json_array_get_length (array) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < n; j++)
        if (g_strcmp0 (json_array_get_string_element (array, j), want[i]) == 0)
          found = TRUE;
      if (!found)
        return FALSE;
    }
  return TRUE;
}

static void
assert_module_object (JsonObject *object, const char *id, const char *connection_id, const char *version,
                      const char *deps, gboolean active, const char *const *functions, const char *const *hooks)
{
  JsonNode *registered;

  /* a module on a connection also says who is at its other end */
  if (g_str_equal (connection_id, "0"))
    assert_members (object, "moduleId,connectionId,version,dependencies,registered,declaredFunctions,registeredHooks");
  else
    {
      assert_members (object, "moduleId,connectionId,version,dependencies,registered,declaredFunctions,registeredHooks,peer");
      assert_member_json (object, "peer", "{\"transport\":\"fake\"}");
    }
  g_assert_cmpstr (get_str (object, "moduleId"), ==, id);
  g_assert_cmpstr (get_str (object, "connectionId"), ==, connection_id);
  g_assert_cmpstr (get_str (object, "version"), ==, version);
  assert_member_json (object, "dependencies", deps);
  registered = get_member (object, "registered");
  g_assert_cmpint (json_node_get_value_type (registered), ==, G_TYPE_BOOLEAN);
  g_assert_cmpint (json_node_get_boolean (registered), ==, active);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (get_member (object, "declaredFunctions")));
  g_assert_true (string_array_equals_set (json_object_get_array_member (object, "declaredFunctions"), functions));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (get_member (object, "registeredHooks")));
  g_assert_true (string_array_equals_set (json_object_get_array_member (object, "registeredHooks"), hooks));
}

static void
assert_known_module (Fixture *f, JsonObject *object, FakePeer *svc, FakePeer *idle, FakePeer *caller)
{
  static const char *const none[] = { NULL };
  static const char *const juno_functions[] = { "listModules", "getModuleInfo", "getStats", NULL };
  static const char *const svc_functions[] = { "f", "g", NULL };
  static const char *const svc_hooks[] = { "juno.moduleConnected", "svc.ev", NULL };
  const char *id = get_str (object, "moduleId");
  g_autofree char *svc_id = peer_id_string (svc);
  g_autofree char *idle_id = peer_id_string (idle);
  g_autofree char *caller_id = peer_id_string (caller);

  if (g_str_equal (id, "juno"))
    assert_module_object (object, "juno", "0", juno_broker_get_version (f->broker), "{}", TRUE, juno_functions, none);
  else if (g_str_equal (id, "svc"))
    assert_module_object (object, "svc", svc_id, "1.2.3", "{'juno':'>=0.0.1'}", TRUE, svc_functions, svc_hooks);
  else if (g_str_equal (id, "idle"))
    assert_module_object (object, "idle", idle_id, "2.0.0-beta.1", "{'missing':'^1','svc':'*'}", FALSE, none, none);
  else if (g_str_equal (id, "caller"))
    assert_module_object (object, "caller", caller_id, "1.0.0", "{}", TRUE, none, none);
  else
    g_assert_not_reached ();
}

static void
test_builtin_functions (Fixture *f, gconstpointer data)
{
  FakePeer *svc = peer_new (f);
  FakePeer *idle = peer_new (f);
  FakePeer *caller;
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  gboolean seen[4] = { FALSE };
  static const char *const ids[] = { "juno", "svc", "idle", "caller" };

  register_module (svc, "svc", "1.2.3", "{'juno':'>=0.0.1'}");
  pop_hook (svc, "juno.activated", "{}");
  declare (svc, "f");
  declare (svc, "g");
  listen_hook (svc, "juno.moduleConnected");
  listen_hook (svc, "svc.ev");
  register_module (idle, "idle", "2.0.0-beta.1", "{'missing':'^1','svc':'*'}");
  {
    g_autofree char *idle_id = peer_id_string (idle);
    g_autofree char *data_json = g_strdup_printf ("{'connectionId':'%s'}", idle_id);

    /* announced when it registers */
    pop_hook (svc, "juno.moduleConnected", data_json);
  }
  caller = add_module (f, "caller");
  {
    g_autofree char *caller_id = peer_id_string (caller);
    g_autofree char *data_json = g_strdup_printf ("{'connectionId':'%s'}", caller_id);

    pop_hook (svc, "juno.moduleConnected", data_json);
  }
  assert_quiet (f);

  feed (caller, "{'requestId':'l1','type':3,'function':'juno.listModules'}");
  {
    g_autoptr(JsonObject) reply = pop_message (caller, 4, "l1");
    g_autofree char *direct = juno_broker_dup_modules_json (f->broker);
    g_autoptr(JsonNode) direct_node = parse_json (direct);
    JsonArray *modules;

    assert_members (reply, "requestId,type,data");
    g_assert_true (JSON_NODE_HOLDS_ARRAY (get_member (reply, "data")));
    g_assert_true (json_node_equal (get_member (reply, "data"), direct_node));
    modules = json_object_get_array_member (reply, "data");
    g_assert_cmpuint (json_array_get_length (modules), ==, 4);
    for (guint i = 0; i < 4; i++)
      {
        JsonNode *node = json_array_get_element (modules, i);

        g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
        assert_known_module (f, json_node_get_object (node), svc, idle, caller);
        for (guint j = 0; j < 4; j++)
          if (g_str_equal (get_str (json_node_get_object (node), "moduleId"), ids[j]))
            {
              g_assert_false (seen[j]);
              seen[j] = TRUE;
            }
      }
    /* juno first, then by moduleId; names sorted inside each module */
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 0), "moduleId"), ==, "juno");
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 1), "moduleId"), ==, "caller");
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 2), "moduleId"), ==, "idle");
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 3), "moduleId"), ==, "svc");
    g_assert_true (strstr (direct, "\"declaredFunctions\":[\"getModuleInfo\",\"getStats\",\"listModules\"]") != NULL);
    g_assert_true (strstr (direct, "\"declaredFunctions\":[\"f\",\"g\"]") != NULL);
    g_assert_true (strstr (direct, "\"registeredHooks\":[\"juno.moduleConnected\",\"svc.ev\"]") != NULL);
  }

  for (guint j = 0; j < 4; j++)
    {
      g_autofree char *rid = g_strdup_printf ("info-%s", ids[j]);
      g_autoptr(JsonObject) reply = NULL;
      g_autofree char *direct = juno_broker_dup_module_json (f->broker, ids[j]);
      g_autoptr(JsonNode) direct_node = parse_json (direct);

      feedf (caller, "{'requestId':'%s','type':3,'function':'juno.getModuleInfo','arguments':{'moduleId':'%s'}}",
             rid, ids[j]);
      reply = pop_message (caller, 4, rid);
      assert_members (reply, "requestId,type,data");
      g_assert_true (JSON_NODE_HOLDS_OBJECT (get_member (reply, "data")));
      g_assert_true (json_node_equal (get_member (reply, "data"), direct_node));
      assert_known_module (f, json_object_get_object_member (reply, "data"), svc, idle, caller);
      g_assert_cmpstr (get_str (json_object_get_object_member (reply, "data"), "moduleId"), ==, ids[j]);
    }

  /* null for an unknown module or unusable arguments */
  feed (caller, "{'requestId':'n1','type':3,'function':'juno.getModuleInfo','arguments':{'moduleId':'nobody'}}");
  pop_response (caller, "n1", "null");
  feed (caller, "{'requestId':'n2','type':3,'function':'juno.getModuleInfo'}");
  pop_response (caller, "n2", "null");
  feed (caller, "{'requestId':'n3','type':3,'function':'juno.getModuleInfo','arguments':{'moduleId':5}}");
  pop_response (caller, "n3", "null");
  feed (caller, "{'requestId':'n4','type':3,'function':'juno.getModuleInfo','arguments':['svc']}");
  pop_response (caller, "n4", "null");
  feed (caller, "{'requestId':'n5','type':3,'function':'juno.getModuleInfo','arguments':{'x':{'moduleId':'svc'}}}");
  pop_response (caller, "n5", "null");
  g_assert_null (juno_broker_dup_module_json (f->broker, "nobody"));
  g_assert_cmpuint (stats->calls_routed, ==, 10);
  g_assert_cmpuint (stats->calls_failed, ==, 0);
  assert_quiet (f);
}

/* The accessors the D-Bus control plane reads modules with: the same
 * facts as the module JSON, read in place. */
static void
test_module_accessors (Fixture *f, gconstpointer data)
{
  FakePeer *svc = peer_new (f);
  FakePeer *user = peer_new (f);
  JunoModule *juno = juno_broker_lookup_module (f->broker, "juno");
  JunoModule *module;
  g_autofree JunoModule **modules = NULL;
  g_autofree const char **names = NULL;
  const char *name, *requirement;
  gboolean seen_svc = FALSE, seen_juno = FALSE;
  guint n;

  /* juno: no connection, never listed */
  g_assert_nonnull (juno);
  g_assert_cmpstr (juno_module_get_id (juno), ==, "juno");
  g_assert_cmpstr (juno_module_get_version (juno), ==, juno_broker_get_version (f->broker));
  g_assert_true (juno_module_get_active (juno));
  g_assert_null (juno_module_get_endpoint (juno));
  g_assert_cmpuint (juno_module_get_n_dependencies (juno), ==, 0);
  names = juno_module_dup_functions (juno, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (names[0], ==, "getModuleInfo");
  g_assert_cmpstr (names[1], ==, "getStats");
  g_assert_cmpstr (names[2], ==, "listModules");
  g_assert_null (names[3]);
  g_clear_pointer (&names, g_free);
  names = juno_module_dup_hooks (juno, NULL);
  g_assert_null (names[0]);
  g_clear_pointer (&names, g_free);
  modules = juno_broker_dup_modules (f->broker, &n);
  g_assert_cmpuint (n, ==, 0);
  g_assert_null (modules[0]);
  g_clear_pointer (&modules, g_free);
  g_assert_null (juno_broker_lookup_module (f->broker, "nobody"));

  /* read in place by the scanner: escapes decoded, a repeated name keeps
   * its last requirement */
  register_module (user, "user", "0.3.0", "{'svc':'one','\\u006auno':'*', 'svc' : '^1.2'}");
  register_module (svc, "svc", "1.2.3", NULL);
  pop_hook (svc, "juno.activated", "{}");
  pop_hook (user, "juno.activated", "{}");
  declare (user, "zeta");
  declare (user, "alpha");
  declare (user, "zeta");
  listen_hook (user, "svc.b");
  listen_hook (user, "svc.a");

  module = juno_broker_lookup_module (f->broker, "user");
  g_assert_nonnull (module);
  g_assert_cmpstr (juno_module_get_id (module), ==, "user");
  g_assert_cmpstr (juno_module_get_version (module), ==, "0.3.0");
  g_assert_true (juno_module_get_active (module));
  g_assert_true (juno_module_get_endpoint (module) == user->ep);
  g_assert_true (juno_broker_lookup_module_endpoint (f->broker, "user") == user->ep);
  g_assert_cmpuint (juno_module_get_n_dependencies (module), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      juno_module_get_dependency (module, i, &name, &requirement);
      if (g_str_equal (name, "svc"))
        {
          g_assert_cmpstr (requirement, ==, "^1.2");
          seen_svc = TRUE;
        }
      else
        {
          g_assert_cmpstr (name, ==, "juno");
          g_assert_cmpstr (requirement, ==, "*");
          seen_juno = TRUE;
        }
    }
  g_assert_true (seen_svc && seen_juno);
  names = juno_module_dup_functions (module, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (names[0], ==, "alpha");
  g_assert_cmpstr (names[1], ==, "zeta");
  g_assert_null (names[2]);
  g_clear_pointer (&names, g_free);
  names = juno_module_dup_hooks (module, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (names[0], ==, "svc.a");
  g_assert_cmpstr (names[1], ==, "svc.b");
  g_clear_pointer (&names, g_free);

  /* every module but juno, sorted */
  modules = juno_broker_dup_modules (f->broker, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (juno_module_get_id (modules[0]), ==, "svc");
  g_assert_cmpstr (juno_module_get_id (modules[1]), ==, "user");
  g_assert_null (modules[2]);
  g_clear_pointer (&modules, g_free);

  peer_remove (svc);
  pop_hook (user, "juno.deactivated", "{}");
  g_assert_null (juno_broker_lookup_module (f->broker, "svc"));
  g_assert_false (juno_module_get_active (juno_broker_lookup_module (f->broker, "user")));
  modules = juno_broker_dup_modules (f->broker, NULL);
  g_assert_cmpstr (juno_module_get_id (modules[0]), ==, "user");
  g_assert_null (modules[1]);
}

int
main (int argc, char *argv[])
{
  broker_test_init (&argc, &argv);
  ADD ("/core/broker/builtin/functions", test_builtin_functions);
  ADD ("/core/broker/module-accessors", test_module_accessors);
  return broker_test_run ();
}
