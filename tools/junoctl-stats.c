/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-stats.c: `junoctl stats`, live counts from juno.listModules
 *
 * Every --interval seconds: modules, active and inactive modules, declared
 * functions and hook listens (junoctl's own connection left out). On a
 * terminal the screen is redrawn; otherwise one line (or JSON object) per
 * sample.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "junoctl.h"

typedef struct
{
  Junoctl *ctl;
  int count;
  int samples;
  gboolean redraw;
  guint timer_id;
} Stats;

typedef struct
{
  guint modules, active, functions, hooks;
} Counts;

static guint
array_length (JsonObject *module, const char *member)
{
  JsonNode *node = json_object_get_member (module, member);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_array_get_length (json_node_get_array (node)) : 0;
}

static void
count_modules (JsonArray *modules, Counts *counts)
{
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *element = json_array_get_element (modules, i);
      JsonObject *module;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      module = json_node_get_object (element);
      counts->modules++;
      counts->active += junoctl_module_active (module) ? 1 : 0;
      counts->functions += array_length (module, "declaredFunctions");
      counts->hooks += array_length (module, "registeredHooks");
    }
}

static void
print_counts (Stats *stats, const Counts *c)
{
  Junoctl *ctl = stats->ctl;

  if (ctl->json)
    g_print ("{\"modules\":%u,\"active\":%u,\"inactive\":%u,\"functions\":%u,\"hooks\":%u}\n",
             c->modules, c->active, c->modules - c->active, c->functions, c->hooks);
  else if (stats->redraw)
    {
      g_autofree char *stamp = junoctl_timestamp ();

      g_print ("\033[H\033[2J%s%s%s\n\n", junoctl_color (ctl, "\033[1m"), stamp, junoctl_color (ctl, "\033[0m"));
      g_print ("  %-12s %6u\n  %-12s %6u\n  %-12s %6u\n  %-12s %6u\n  %-12s %6u\n",
               _("modules"), c->modules, _("active"), c->active, _("inactive"), c->modules - c->active,
               _("functions"), c->functions, _("hooks"), c->hooks);
    }
  else
    g_print ("%s %u  %s %u  %s %u  %s %u  %s %u\n",
             _("modules"), c->modules, _("active"), c->active, _("inactive"), c->modules - c->active,
             _("functions"), c->functions, _("hooks"), c->hooks);
  fflush (stdout);
}

static gboolean
sample (gpointer user_data)
{
  Stats *stats = user_data;
  g_autoptr(JsonNode) modules = NULL;
  g_autoptr(GError) error = NULL;
  Counts counts = { 0 };

  modules = junoctl_list_modules (stats->ctl, &error);
  if (modules == NULL)
    {
      junoctl_quit (stats->ctl, junoctl_fail (stats->ctl, NULL, error));
      stats->timer_id = 0;
      return G_SOURCE_REMOVE;
    }
  count_modules (json_node_get_array (modules), &counts);
  print_counts (stats, &counts);
  if (stats->count > 0 && ++stats->samples >= stats->count)
    {
      junoctl_quit (stats->ctl, JUNOCTL_EXIT_OK);
      stats->timer_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

int
junoctl_stats (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Stats stats = { .ctl = ctl };
  double interval = 1.0;
  int status;
  const GOptionEntry entries[] = {
    { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &interval, N_("Refresh every SECONDS (default 1)"), N_("SECONDS") },
    { "count", 'n', 0, G_OPTION_ARG_INT, &stats.count, N_("Exit after N samples"), N_("N") },
    { NULL }
  };

  context = junoctl_option_context_new (ctl, NULL, _("Show live counts of modules, functions and hooks."),
                                        entries);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc > 1)
    return junoctl_usage (ctl, _("too many arguments"));
  if (!(interval >= 0.01 && interval <= 86400))
    return junoctl_usage (ctl, _("--interval must be between 0.01 and 86400 seconds"));
  if (stats.count < 0)
    return junoctl_usage (ctl, _("--count must not be negative"));

  stats.redraw = ctl->color && !ctl->json;
  if (junoctl_connect (ctl, NULL, &error) == NULL)
    return junoctl_fail (ctl, NULL, error);
  junoctl_watch_connection (ctl);
  if (sample (&stats) == G_SOURCE_REMOVE)
    return ctl->status;

  stats.timer_id = g_timeout_add ((guint) (interval * 1000), sample, &stats);
  junoctl_run (ctl);
  g_clear_handle_id (&stats.timer_id, g_source_remove);
  return ctl->status;
}
