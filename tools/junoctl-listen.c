/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-listen.c: `junoctl listen PATTERN…` or `--all`, print hooks as
 * they fire
 *
 * Listens as an observer to hook patterns (clock.*, *.tick, *): the broker
 * matches them and delivers each hook once, whatever number of patterns
 * match it. Each hook is one line: "module.hook {data}", or with --json an
 * object {"hook": ..., "data": ...}. Runs until interrupted, --count hooks,
 * or the broker goes away (an error).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "junoctl.h"
#include "juno-protocol.h"

typedef struct
{
  Junoctl *ctl;
  int count;
  int seen;
  gboolean all;
} Listen;

static void
on_hook_triggered (const char *data_json, const char *hook, JsonNode *data, gpointer user_data)
{
  Listen *listen = user_data;
  Junoctl *ctl = listen->ctl;

  /* the data as the broker sent it: no number changes its spelling */
  if (ctl->json)
    {
      g_autoptr(GString) line = g_string_new ("{\"hook\":");

      juno_json_append_string (line, hook);
      g_string_append_printf (line, ",\"data\":%s}", data_json);
      g_print ("%s\n", line->str);
    }
  else
    g_print ("%s%s%s %s\n", junoctl_color (ctl, "\033[1m"), hook, junoctl_color (ctl, "\033[0m"), data_json);
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
    { "all", 'a', 0, G_OPTION_ARG_NONE, &listen.all,
      N_("Print every hook (the pattern *)"), NULL },
    { NULL }
  };

  context = junoctl_option_context_new (ctl, _("PATTERN…"),
                                        _("Print each hook matching a pattern as it fires. A pattern is "
                                          "MODULE.HOOK, where * matches any run of characters within "
                                          "either part: clock.*, *.tick."), entries);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc < 2 && !listen.all)
    return junoctl_usage (ctl, _("no hook given"));
  if (argc >= 2 && listen.all)
    return junoctl_usage (ctl, _("--all takes no pattern"));
  if (listen.count < 0)
    return junoctl_usage (ctl, _("--count must not be negative"));
  for (int i = 1; i < argc; i++)
    if (!juno_hook_pattern_is_valid (argv[i]))
      {
        g_autofree char *message = g_strdup_printf (_("'%s' is not a hook pattern (MODULE.HOOK, * for any run of characters)"),
                                                    argv[i]);

        return junoctl_usage (ctl, message);
      }

  if (!junoctl_observe (ctl, &error))
    return junoctl_fail (ctl, NULL, error);
  /* Before listening: a hook may come while the next listen is answered. */
  junoctl_set_hook_func (ctl, on_hook_triggered, &listen);
  junoctl_watch_connection (ctl);
  if (listen.all && !junoctl_listen_pattern (ctl, "*", &error))
    return junoctl_fail (ctl, NULL, error);
  for (int i = 1; i < argc; i++)
    if (!junoctl_listen_pattern (ctl, argv[i], &error))
      return junoctl_fail (ctl, argv[i], error);

  junoctl_run (ctl);
  return ctl->status;
}
