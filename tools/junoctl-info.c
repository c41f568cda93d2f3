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

/* "unix, pid 42, uid 1000 (alice), unit foo.service" or "tcp 127.0.0.1:5000":
 * who is at the other end of the module's connection; "" for juno itself. */
static char *
describe_peer (JsonObject *module)
{
  JsonObject *peer = json_object_has_member (module, "peer") ? json_object_get_object_member (module, "peer") : NULL;
  GString *out = g_string_new (NULL);
  const char *keys[] = { "unit", "userUnit", "slice" };

  if (peer == NULL)
    return g_string_free (out, FALSE);
  g_string_append (out, junoctl_module_string (peer, "transport"));
  if (json_object_has_member (peer, "address"))
    g_string_append_printf (out, " %s:%" G_GINT64_FORMAT, junoctl_module_string (peer, "address"),
                            json_object_get_int_member (peer, "port"));
  if (json_object_has_member (peer, "busName"))
    g_string_append_printf (out, " %s", junoctl_module_string (peer, "busName"));
  if (json_object_has_member (peer, "uid"))
    g_string_append_printf (out, ", pid %" G_GINT64_FORMAT ", uid %" G_GINT64_FORMAT " (%s)",
                            json_object_get_int_member (peer, "pid"), json_object_get_int_member (peer, "uid"),
                            json_object_has_member (peer, "user") ? junoctl_module_string (peer, "user") : "?");
  if (json_object_has_member (peer, "gid"))
    g_string_append_printf (out, ", gid %" G_GINT64_FORMAT " (%s)", json_object_get_int_member (peer, "gid"),
                            json_object_has_member (peer, "group") ? junoctl_module_string (peer, "group") : "?");
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (json_object_has_member (peer, keys[i]))
      g_string_append_printf (out, ", %s %s", keys[i], junoctl_module_string (peer, keys[i]));
  return g_string_free (out, FALSE);
}

static void
print_module (Junoctl *ctl, JsonObject *module)
{
  g_autofree char *peer = describe_peer (module);
  g_autofree char *functions = junoctl_module_join (module, "declaredFunctions", ", ");
  g_autofree char *hooks = junoctl_module_join (module, "registeredHooks", ", ");
  g_autofree char *dependencies = junoctl_module_join (module, "dependencies", ", ");
  g_autofree char *brokers = junoctl_module_join (module, "brokers", ", ");

  print_field (ctl, _("Module:"), junoctl_module_string (module, "moduleId"));
  print_field (ctl, _("Version:"), junoctl_module_string (module, "version"));
  print_field (ctl, _("Connection:"), junoctl_module_string (module, "connectionId"));
  print_field (ctl, _("Active:"), junoctl_module_active (module) ? _("yes") : _("no"));
  /* a federated broker's module objects say where the module runs */
  if (json_object_has_member (module, "brokers"))
    print_field (ctl, _("Brokers:"), brokers);
  print_field (ctl, _("Dependencies:"), dependencies);
  print_field (ctl, _("Functions:"), functions);
  print_field (ctl, _("Hooks:"), hooks);
  print_field (ctl, _("Peer:"), peer);
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

  if (!junoctl_observe (ctl, &error) ||
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
