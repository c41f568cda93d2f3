/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-trigger.c: `junoctl trigger [--as MODULE] HOOK [JSON]`
 *
 * A hook fires as "module.hook" of the module that triggers it, so junoctl
 * registers under that module id: the MODULE part of MODULE.HOOK, or --as.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"

int
junoctl_trigger (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *module_id = NULL;
  g_autofree char *as = NULL;
  const char *hook, *dot;
  int status;
  const GOptionEntry entries[] = {
    { "as", 'm', 0, G_OPTION_ARG_STRING, &as,
      N_("Trigger as module MODULE (default: junoctl)"), N_("MODULE") },
    { NULL }
  };

  context = junoctl_option_context_new (ctl, _("[MODULE.]HOOK [JSON]"),
                                        _("Trigger a hook, with a JSON object as its data, as a module."),
                                        entries);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc < 2 || argc > 3)
    return junoctl_usage (ctl, argc < 2 ? _("no hook given") : _("too many arguments"));

  dot = strchr (argv[1], '.');
  if (dot != NULL)
    {
      module_id = g_strndup (argv[1], dot - argv[1]);
      hook = dot + 1;
      if (as != NULL && !g_str_equal (as, module_id))
        return junoctl_usage (ctl, _("--as contradicts the module in MODULE.HOOK"));
    }
  else
    {
      module_id = g_strdup (as != NULL ? as : "junoctl");
      hook = argv[1];
    }
  if (!juno_hook_name_is_valid (hook, -1) || module_id[0] == '\0')
    return junoctl_usage (ctl, _("the hook must be given as HOOK or MODULE.HOOK"));

  /* checked here, before connecting; sent as written */
  if (argc == 3 && !junoctl_check_json_object (argv[2], &error))
    return junoctl_fail (ctl, _("invalid JSON data"), error);

  if (junoctl_connect (ctl, module_id, &error) == NULL ||
      !juno_client_trigger_json_sync (ctl->client, hook, argc == 3 ? argv[2] : NULL, NULL, &error))
    return junoctl_fail (ctl, NULL, error);
  return JUNOCTL_EXIT_OK;
}
