/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-call.c: `junoctl call MODULE.FN [JSON]` */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"

int
junoctl_call_verb (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(JsonNode) result = NULL;
  g_autoptr(GError) error = NULL;
  double timeout = JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC;
  int status;
  const GOptionEntry entries[] = {
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout,
      N_("Give up after SECONDS (default 35, a little more than the broker's call timeout; 0 waits forever)"),
      N_("SECONDS") },
    { NULL }
  };

  context = junoctl_option_context_new (ctl, _("MODULE.FUNCTION [JSON]"),
                                        _("Call a function with a JSON object of arguments and print its result."),
                                        entries);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc < 2 || argc > 3)
    return junoctl_usage (ctl, argc < 2 ? _("no function given") : _("too many arguments"));
  if (!juno_function_address_is_valid (argv[1], NULL))
    return junoctl_usage (ctl, _("the function must be given as MODULE.FUNCTION"));
  if (timeout < 0 || timeout > G_MAXINT / 1000)
    return junoctl_usage (ctl, _("--timeout must be a positive number of seconds"));

  /* checked here, before connecting; sent as written */
  if (argc == 3 && !junoctl_check_json_object (argv[2], &error))
    return junoctl_fail (ctl, _("invalid JSON arguments"), error);

  if (junoctl_connect (ctl, NULL, &error) == NULL)
    return junoctl_fail (ctl, NULL, error);
  result = juno_client_call_json_sync (ctl->client, argv[1], argc == 3 ? argv[2] : NULL,
                                       (int) (timeout * 1000), NULL, &error);
  if (result == NULL)
    return junoctl_fail (ctl, argv[1], error);

  junoctl_print_json (ctl, result);
  return JUNOCTL_EXIT_OK;
}
