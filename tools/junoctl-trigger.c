/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-trigger.c: `junoctl trigger [--as MODULE] [MODULE.]HOOK [JSON]`
 *
 * A hook fires as "module.hook". junoctl triggers it as an observer, naming
 * the module (docs/protocol.md, "Observers"): that works whether or not the
 * module is connected, and needs the policy's Trigger grant for
 * module.hook; the hooks of juno can never be triggered.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"
#include "juno-protocol.h"

int
junoctl_trigger (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(GString) members = g_string_new ("\"hook\":");
  g_autofree char *address = NULL;
  g_autofree char *as = NULL;
  g_autofree char *data = NULL;
  const char *dot;
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
  if (dot != NULL && as != NULL && (strlen (as) != (gsize) (dot - argv[1]) || strncmp (as, argv[1], strlen (as)) != 0))
    return junoctl_usage (ctl, _("--as contradicts the module in MODULE.HOOK"));
  address = dot != NULL ? g_strdup (argv[1]) : g_strconcat (as != NULL ? as : "junoctl", ".", argv[1], NULL);
  if (!juno_hook_address_is_valid (address, NULL))
    return junoctl_usage (ctl, _("the hook must be given as HOOK or MODULE.HOOK"));

  /* checked here, before connecting; sent as written */
  if (argc == 3 && (data = junoctl_compact_json_object (argv[2], &error)) == NULL)
    return junoctl_fail (ctl, _("invalid JSON data"), error);

  juno_json_append_string (members, address);
  g_string_append (members, ",\"data\":");
  g_string_append (members, data != NULL ? data : "{}");
  if (!junoctl_observe (ctl, &error))
    return junoctl_fail (ctl, NULL, error);
  answer = junoctl_observer_request (ctl->observer, JUNO_MSG_TRIGGER_HOOK, members->str,
                                     JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC, &error);
  if (answer == NULL)
    return junoctl_fail (ctl, address, error);
  return JUNOCTL_EXIT_OK;
}
