/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-listen.c: `junoctl listen HOOK…`, print hooks as they fire
 *
 * Each hook is one line: "module.hook {data}", or with --json an object
 * {"hook": ..., "data": ...}. Runs until interrupted, --count hooks, or the
 * broker goes away (an error).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "junoctl.h"

typedef struct
{
  Junoctl *ctl;
  char **hooks;
  int count;
  int seen;
} Listen;

static void
on_hook_triggered (JunoClient *client, const char *hook, JsonNode *data, gpointer user_data)
{
  Listen *listen = user_data;
  Junoctl *ctl = listen->ctl;

  if (!g_strv_contains ((const char * const *) listen->hooks, hook))
    return;

  if (ctl->json)
    {
      g_autoptr(JsonObject) object = json_object_new ();
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;

      json_object_set_string_member (object, "hook", hook);
      json_object_set_member (object, "data", json_node_copy (data));
      node = json_node_init_object (json_node_alloc (), object);
      text = json_to_string (node, FALSE);
      g_print ("%s\n", text);
    }
  else
    {
      g_autofree char *text = json_to_string (data, FALSE);

      g_print ("%s%s%s %s\n", junoctl_color (ctl, "\033[1m"), hook,
               junoctl_color (ctl, "\033[0m"), text);
    }
  fflush (stdout);

  if (listen->count > 0 && ++listen->seen >= listen->count)
    junoctl_quit (ctl, JUNOCTL_EXIT_OK);
}

int
junoctl_listen (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Listen listen = { .ctl = ctl };
  int status;
  const GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &listen.count,
      N_("Exit after N hooks"), N_("N") },
    { NULL }
  };

  context = junoctl_option_context_new (ctl, _("MODULE.HOOK…"),
                                        _("Print each of the given hooks as it fires."), entries);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc < 2)
    return junoctl_usage (ctl, _("no hook given"));
  if (listen.count < 0)
    return junoctl_usage (ctl, _("--count must not be negative"));

  listen.hooks = argv + 1;
  if (junoctl_connect (ctl, NULL, &error) == NULL)
    return junoctl_fail (ctl, NULL, error);
  /* Before listening: a hook may come while the roundtrip runs. */
  g_signal_connect (ctl->client, "hook-triggered", G_CALLBACK (on_hook_triggered), &listen);
  junoctl_watch_connection (ctl);
  for (int i = 1; i < argc; i++)
    if (!juno_client_listen (ctl->client, argv[i], &error))
      return junoctl_fail (ctl, NULL, error);
  if (!juno_client_roundtrip_sync (ctl->client, NULL, &error))
    return junoctl_fail (ctl, NULL, error);

  junoctl_run (ctl);
  return ctl->status;
}
