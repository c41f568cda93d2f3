/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-info.c: `junoctl info MODULE`, one module in detail */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"

static void
print_field (Junoctl *ctl, const char *label, const char *value)
{
  g_print ("%s%-14s%s %s\n", junoctl_color (ctl, "\033[1m"), label,
           junoctl_color (ctl, "\033[0m"), value[0] != '\0' ? value : "-");
}

static void
print_module (Junoctl *ctl, JsonObject *module)
{
  g_autofree char *functions = junoctl_module_join (module, "declaredFunctions", ", ");
  g_autofree char *hooks = junoctl_module_join (module, "registeredHooks", ", ");
  g_autofree char *dependencies = junoctl_module_join (module, "dependencies", ", ");

  print_field (ctl, _("Module:"), junoctl_module_string (module, "moduleId"));
  print_field (ctl, _("Version:"), junoctl_module_string (module, "version"));
  print_field (ctl, _("Connection:"), junoctl_module_string (module, "connectionId"));
  print_field (ctl, _("Active:"), junoctl_module_active (module) ? _("yes") : _("no"));
  print_field (ctl, _("Dependencies:"), dependencies);
  print_field (ctl, _("Functions:"), functions);
  print_field (ctl, _("Hooks:"), hooks);
}

int
junoctl_info (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JsonNode) arguments = NULL;
  g_autoptr(JsonNode) module = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  context = junoctl_option_context_new (ctl, _("MODULE"), _("Show one module."), NULL);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc != 2)
    return junoctl_usage (ctl, argc < 2 ? _("no module given") : _("too many arguments"));

  object = json_object_new ();
  json_object_set_string_member (object, "moduleId", argv[1]);
  arguments = json_node_init_object (json_node_alloc (), object);

  if (junoctl_connect (ctl, NULL, &error) == NULL ||
      (module = junoctl_call (ctl, JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_GET_MODULE_INFO, arguments, &error)) == NULL)
    return junoctl_fail (ctl, NULL, error);
  if (!JSON_NODE_HOLDS_OBJECT (module))
    {
      g_printerr ("junoctl: %s: %s: %s\n", ctl->verb, argv[1], _("no such module"));
      return JUNOCTL_EXIT_FAILURE;
    }

  if (ctl->json)
    junoctl_print_json (ctl, module);
  else
    print_module (ctl, json_node_get_object (module));
  return JUNOCTL_EXIT_OK;
}
