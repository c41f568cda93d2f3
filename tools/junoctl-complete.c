/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-complete.c: `junoctl __complete WHAT`, words for shell completion
 *
 * Not a command for people (left out of --help): prints, one per line, the
 * moduleIds ("modules"), MODULE.FUNCTION addresses ("functions") or hooks
 * listened to ("hooks") the broker knows, asked as an observer, so that a
 * TAB press fires no hook and logs nothing. Prints nothing, and exits 0,
 * when there is no broker.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"

static void
print_words (JsonArray *modules, const char *what)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *element = json_array_get_element (modules, i);
      JsonObject *module;
      const char *id;
      JsonNode *names;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      module = json_node_get_object (element);
      id = junoctl_module_string (module, "moduleId");
      if (g_str_equal (what, "modules"))
        {
          g_print ("%s\n", id);
          continue;
        }
      names = json_object_get_member (module, g_str_equal (what, "functions") ? "declaredFunctions" : "registeredHooks");
      if (names == NULL || !JSON_NODE_HOLDS_ARRAY (names))
        continue;
      for (guint j = 0; j < json_array_get_length (json_node_get_array (names)); j++)
        {
          JsonNode *name = json_array_get_element (json_node_get_array (names), j);
          char *word;

          if (json_node_get_value_type (name) != G_TYPE_STRING)
            continue;
          word = g_str_equal (what, "functions") ? g_strconcat (id, ".", json_node_get_string (name), NULL)
                                                 : g_strdup (json_node_get_string (name));
          if (g_hash_table_add (seen, word))
            g_print ("%s\n", word);
        }
    }
}

int
junoctl_complete (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JsonNode) modules = NULL;
  int status;

  context = junoctl_option_context_new (ctl, "modules|functions|hooks", NULL, NULL);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc != 2 || !(g_str_equal (argv[1], "modules") || g_str_equal (argv[1], "functions") ||
                     g_str_equal (argv[1], "hooks")))
    return junoctl_usage (ctl, _("expected one of modules, functions, hooks"));
  if (!junoctl_observe (ctl, NULL) || (modules = junoctl_list_modules (ctl, NULL)) == NULL)
    return JUNOCTL_EXIT_OK;
  print_words (json_node_get_array (modules), argv[1]);
  return JUNOCTL_EXIT_OK;
}
