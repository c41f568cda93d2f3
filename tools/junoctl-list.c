/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-list.c: `junoctl list`, the modules the broker knows
 *
 * junoctl asks as an observer, so it is not itself listed; every page of
 * juno.listModules is fetched. --json prints the modules as one array.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"
#include "juno-protocol.h"

/* Asks the broker for every module, following juno.listModules' pages
 * ("next", then {"after": ...}). The observer is in no list. */
JsonNode *
junoctl_list_modules (Junoctl *ctl, GError **error)
{
  g_autoptr(JsonArray) all = json_array_new ();
  g_autofree char *after = NULL;
  JsonNode *result;

  do
    {
      g_autoptr(JsonObject) answer = NULL;
      g_autofree char *arguments = NULL;
      JsonNode *data, *next;

      if (after != NULL)
        {
          g_autoptr(GString) text = g_string_new ("{\"after\":");

          juno_json_append_string (text, after);
          g_string_append_c (text, '}');
          arguments = g_string_free (g_steal_pointer (&text), FALSE);
        }
      answer = junoctl_call_raw (ctl, JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_LIST_MODULES, arguments, error);
      if (answer == NULL)
        return NULL;
      data = json_object_get_member (answer, "data");
      if (data == NULL || !JSON_NODE_HOLDS_ARRAY (data))
        {
          g_set_error_literal (error, JUNO_ERROR, JUNO_ERROR_PROTOCOL, _("the broker's answer is not a list"));
          return NULL;
        }
      for (guint i = 0; i < json_array_get_length (json_node_get_array (data)); i++)
        json_array_add_element (all, json_node_copy (json_array_get_element (json_node_get_array (data), i)));
      next = json_object_get_member (answer, "next");
      g_clear_pointer (&after, g_free);
      /* a page that does not move on would loop: the broker's bug, not ours to repeat */
      if (next != NULL && json_node_get_value_type (next) == G_TYPE_STRING &&
          json_array_get_length (json_node_get_array (data)) > 0)
        after = g_strdup (json_node_get_string (next));
    }
  while (after != NULL);

  result = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (result, all);
  return result;
}

/* TRUE when the broker is federated: its module objects say where they run. */
static gboolean
any_brokers (JsonArray *modules)
{
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *element = json_array_get_element (modules, i);

      if (JSON_NODE_HOLDS_OBJECT (element) && json_object_has_member (json_node_get_object (element), "brokers"))
        return TRUE;
    }
  return FALSE;
}

static void
print_modules (Junoctl *ctl, JsonArray *modules)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  gboolean brokers = any_brokers (modules);
  guint n_columns = brokers ? 8 : 7;
  GPtrArray *header = g_ptr_array_new ();

  g_ptr_array_add (header, g_strdup (_("MODULE")));
  g_ptr_array_add (header, g_strdup (_("VERSION")));
  g_ptr_array_add (header, g_strdup (_("CONN")));
  /* where the module runs: the brokers of the federation */
  if (brokers)
    g_ptr_array_add (header, g_strdup (_("BROKER")));
  g_ptr_array_add (header, g_strdup (_("ACTIVE")));
  g_ptr_array_add (header, g_strdup (_("FUNCTIONS")));
  g_ptr_array_add (header, g_strdup (_("HOOKS")));
  g_ptr_array_add (header, g_strdup (_("DEPENDENCIES")));
  g_ptr_array_add (header, NULL);
  g_ptr_array_add (rows, g_ptr_array_free (header, FALSE));
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *element = json_array_get_element (modules, i);
      JsonObject *module;
      char **row;
      guint c = 0;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      module = json_node_get_object (element);
      row = g_new0 (char *, n_columns + 1);
      row[c++] = g_strdup (junoctl_module_string (module, "moduleId"));
      row[c++] = g_strdup (junoctl_module_string (module, "version"));
      row[c++] = g_strdup (junoctl_module_string (module, "connectionId"));
      if (brokers)
        row[c++] = junoctl_module_join (module, "brokers", ",");
      row[c++] = g_strdup (junoctl_module_active (module) ? _("yes") : _("no"));
      row[c++] = junoctl_module_join (module, "declaredFunctions", ",");
      row[c++] = junoctl_module_join (module, "registeredHooks", ",");
      row[c++] = junoctl_module_join (module, "dependencies", ",");
      /* the lists (and BROKER): "-" when empty */
      for (c = 3; c < n_columns; c++)
        if (row[c][0] == '\0')
          {
            g_free (row[c]);
            row[c] = g_strdup ("-");
          }
      g_ptr_array_add (rows, row);
    }
  junoctl_print_table (ctl, rows, n_columns);
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

  if (!junoctl_observe (ctl, &error) ||
      (modules = junoctl_list_modules (ctl, &error)) == NULL)
    return junoctl_fail (ctl, NULL, error);

  if (ctl->json)
    junoctl_print_json (ctl, modules);
  else
    print_modules (ctl, json_node_get_array (modules));
  return JUNOCTL_EXIT_OK;
}
