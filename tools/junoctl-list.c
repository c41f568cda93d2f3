/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-list.c: `junoctl list`, the modules the broker knows
 *
 * junoctl's own connection is left out; --json prints juno.listModules'
 * answer as it came, minus that entry.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"

static JsonNode *
without_self (Junoctl *ctl, JsonNode *modules)
{
  const char *self_id = juno_client_get_module_id (ctl->client);
  JsonArray *in = json_node_get_array (modules);
  g_autoptr(JsonArray) out = json_array_new ();
  JsonNode *result = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < json_array_get_length (in); i++)
    {
      JsonNode *element = json_array_get_element (in, i);

      if (JSON_NODE_HOLDS_OBJECT (element) &&
          g_str_equal (junoctl_module_string (json_node_get_object (element), "moduleId"), self_id))
        continue;
      json_array_add_element (out, json_node_copy (element));
    }
  json_node_set_array (result, out);
  return result;
}

/* Asks the broker for its modules, without junoctl's own connection. */
JsonNode *
junoctl_list_modules (Junoctl *ctl, GError **error)
{
  g_autoptr(JsonNode) modules = NULL;

  modules = junoctl_call (ctl, JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_LIST_MODULES, NULL, error);
  if (modules == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (modules))
    {
      g_set_error_literal (error, JUNO_ERROR, JUNO_ERROR_PROTOCOL,
                           _("the broker's answer is not a list"));
      return NULL;
    }
  return without_self (ctl, modules);
}

static void
print_modules (Junoctl *ctl, JsonArray *modules)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  g_ptr_array_add (rows, g_strdupv ((char *[]) { _("MODULE"), _("VERSION"), _("CONN"), _("ACTIVE"),
                                                  _("FUNCTIONS"), _("HOOKS"), _("DEPENDENCIES"), NULL }));
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *element = json_array_get_element (modules, i);
      JsonObject *module;
      char **row;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      module = json_node_get_object (element);
      row = g_new0 (char *, 8);
      row[0] = g_strdup (junoctl_module_string (module, "moduleId"));
      row[1] = g_strdup (junoctl_module_string (module, "version"));
      row[2] = g_strdup (junoctl_module_string (module, "connectionId"));
      row[3] = g_strdup (junoctl_module_active (module) ? _("yes") : _("no"));
      row[4] = junoctl_module_join (module, "declaredFunctions", ",");
      row[5] = junoctl_module_join (module, "registeredHooks", ",");
      row[6] = junoctl_module_join (module, "dependencies", ",");
      for (guint c = 4; c < 7; c++)
        if (row[c][0] == '\0')
          {
            g_free (row[c]);
            row[c] = g_strdup ("-");
          }
      g_ptr_array_add (rows, row);
    }
  junoctl_print_table (ctl, rows, 7);
}

int
junoctl_list (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JsonNode) modules = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  context = junoctl_option_context_new (ctl, NULL, _("List the modules connected to the broker."), NULL);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc > 1)
    return junoctl_usage (ctl, _("too many arguments"));

  if (junoctl_connect (ctl, NULL, &error) == NULL ||
      (modules = junoctl_list_modules (ctl, &error)) == NULL)
    return junoctl_fail (ctl, NULL, error);

  if (ctl->json)
    junoctl_print_json (ctl, modules);
  else
    print_modules (ctl, json_node_get_array (modules));
  return JUNOCTL_EXIT_OK;
}
