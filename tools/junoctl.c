/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl.c: the command-line client of the juno broker
 *
 * main() parses the global options up to the verb, looks the verb up in the
 * table and hands it the rest of the command line. Every verb accepts the
 * global options too, so they may come before or after it.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "junoctl.h"

typedef struct
{
  const char *name;
  JunoctlVerbFunc func;
  const char *summary;
} JunoctlVerb;

static const JunoctlVerb verbs[] = {
  { "list", junoctl_list, N_("List the modules connected to the broker") },
  { "info", junoctl_info, N_("Show one module") },
  { "call", junoctl_call_verb, N_("Call a function and print its result") },
  { "trigger", junoctl_trigger, N_("Trigger a hook as a module") },
  { "listen", junoctl_listen, N_("Print hooks as they fire") },
  { "monitor", junoctl_monitor, N_("Print modules connecting, activating and leaving") },
  { "stats", junoctl_stats, N_("Show the broker's counters") },
  { "wait", junoctl_wait, N_("Wait until a module is active") },
  /* for the shell completion; left out of --help */
  { "__complete", junoctl_complete, NULL },
};

static GOptionEntry *
global_entries (Junoctl *ctl)
{
  const GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &ctl->socket_path,
      N_("Connect to the broker's Unix socket PATH"), N_("PATH") },
    { "tcp", 't', 0, G_OPTION_ARG_STRING, &ctl->tcp_address,
      N_("Connect to the broker at HOST:PORT over TCP"), N_("HOST:PORT") },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &ctl->json,
      N_("Print JSON for scripts instead of text for people"), NULL },
    { NULL }
  };

  return g_memdup2 (entries, sizeof entries);
}

GOptionContext *
junoctl_option_context_new (Junoctl *ctl,
                            const char *parameters,
                            const char *summary,
                            const GOptionEntry *entries)
{
  GOptionContext *context = g_option_context_new (parameters);
  g_autofree GOptionEntry *globals = global_entries (ctl);
  g_autofree char *usage_name = g_strdup_printf ("junoctl %s", ctl->verb);

  /* --help's "Usage: junoctl VERB [OPTION…] ..." */
  g_set_prgname (usage_name);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, globals, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  return context;
}

int
junoctl_usage (Junoctl *ctl, const char *message)
{
  if (g_str_equal (ctl->verb, "junoctl"))
    {
      g_printerr ("junoctl: %s\n", message);
      g_printerr (_("Try 'junoctl --help' for more information.\n"));
    }
  else
    {
      g_printerr ("junoctl: %s: %s\n", ctl->verb, message);
      g_printerr (_("Try 'junoctl %s --help' for more information.\n"), ctl->verb);
    }
  return JUNOCTL_EXIT_USAGE;
}

/* Returns JUNOCTL_EXIT_OK, or the status to exit with after an error. */
int
junoctl_parse_options (Junoctl *ctl, GOptionContext *context, int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    return junoctl_usage (ctl, error->message);
  if (ctl->socket_path != NULL && ctl->tcp_address != NULL)
    return junoctl_usage (ctl, _("--socket and --tcp exclude each other"));
  return JUNOCTL_EXIT_OK;
}

static char *
verbs_description (void)
{
  GString *text = g_string_new (_("Commands:"));

  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (verbs[i].summary != NULL)
      g_string_append_printf (text, "\n  %-10s %s", verbs[i].name, _(verbs[i].summary));
  g_string_append_c (text, '\n');
  g_string_append (text, _("Exit status: 0 success, 1 the broker or a module answered with an error, "
                           "2 bad usage or JSON, 3 no broker, 4 broker lost, 5 timed out."));
  return g_string_free (text, FALSE);
}

static gboolean
want_color (void)
{
  const char *term = g_getenv ("TERM");

  return isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL &&
         g_strcmp0 (term, "dumb") != 0;
}

void
junoctl_clear (Junoctl *ctl)
{
  if (ctl->client != NULL)
    juno_client_close (ctl->client);
  g_clear_object (&ctl->client);
  junoctl_unobserve (ctl);
  g_clear_handle_id (&ctl->signal_ids[0], g_source_remove);
  g_clear_handle_id (&ctl->signal_ids[1], g_source_remove);
  g_clear_pointer (&ctl->loop, g_main_loop_unref);
  g_clear_pointer (&ctl->socket_path, g_free);
  g_clear_pointer (&ctl->tcp_address, g_free);
}

int
main (int argc, char **argv)
{
  g_auto(Junoctl) ctl = { .verb = "junoctl" };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *description = NULL;
  g_autofree GOptionEntry *globals = NULL;
  gboolean version = FALSE;

  juno_i18n_init ();

  {
    const GOptionEntry version_entries[] = {
      { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
      { NULL }
    };

    context = g_option_context_new (_("COMMAND [ARGUMENTS…]"));
    globals = global_entries (&ctl);
    g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
    g_option_context_add_main_entries (context, globals, GETTEXT_PACKAGE);
    g_option_context_add_main_entries (context, version_entries, GETTEXT_PACKAGE);
    g_option_context_set_summary (context, _("Inspect and drive a juno message broker."));
    description = verbs_description ();
    g_option_context_set_description (context, description);
    g_option_context_set_strict_posix (context, TRUE);
  }

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return junoctl_usage (&ctl, error->message);
  if (version)
    {
      g_print ("junoctl %s\n", PACKAGE_VERSION);
      return JUNOCTL_EXIT_OK;
    }
  if (argc < 2)
    return junoctl_usage (&ctl, _("no command given"));

  ctl.color = want_color ();
  ctl.status = JUNOCTL_EXIT_OK;
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (g_str_equal (argv[1], verbs[i].name))
      {
        ctl.verb = verbs[i].name;
        return verbs[i].func (&ctl, argc - 1, argv + 1);
      }

  {
    g_autofree char *message = g_strdup_printf (_("unknown command '%s'"), argv[1]);

    return junoctl_usage (&ctl, message);
  }
}
