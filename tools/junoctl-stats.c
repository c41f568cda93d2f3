/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-stats.c: `junoctl stats`, the broker's own counters
 *
 * Every --interval seconds, juno.getStats, asked as an observer: the
 * counters D-Bus GetStats gives (connections, modules, messages, calls,
 * hooks, errors, limits), and on a federated broker the federation's state
 * and counters. On a terminal the screen is redrawn; otherwise
 * one line (or, with --json, the broker's object) per sample.
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

/* The counters shown to people, in order: key of juno.getStats, label */
static const struct
{
  const char *key;
  const char *label;
} counters[] = {
  { "connections", N_("connections") },
  { "connectionsTotal", N_("connections-total") },
  { "modules", N_("modules") },
  { "activeModules", N_("active") },
  { "messagesIn", N_("messages-in") },
  { "messagesOut", N_("messages-out") },
  { "bytesIn", N_("bytes-in") },
  { "bytesOut", N_("bytes-out") },
  { "callsRouted", N_("calls-routed") },
  { "callsFailed", N_("calls-failed") },
  { "callsTimedOut", N_("calls-timed-out") },
  { "hooksTriggered", N_("hooks-triggered") },
  { "hooksDelivered", N_("hooks-delivered") },
  { "errorsSent", N_("errors-sent") },
  { "limitsReached", N_("limits-reached") },
  { "connectionsCut", N_("connections-cut") },
  { "accessDenied", N_("access-denied") },
};

/* A federated broker's (docs/federation.md), shown when the broker has
 * them: strings first, then counters. */
static const struct
{
  const char *key;
  const char *label;
  gboolean counter;
} federation[] = {
  { "federation", N_("federation"), FALSE },
  { "brokerName", N_("broker-name"), FALSE },
  { "natsServer", N_("nats-server"), FALSE },
  { "federationBrokers", N_("brokers"), TRUE },
  { "remoteModules", N_("remote-modules"), TRUE },
  { "remoteCallsOut", N_("remote-calls-out"), TRUE },
  { "remoteCallsIn", N_("remote-calls-in"), TRUE },
  { "remoteCallsFailed", N_("remote-calls-failed"), TRUE },
  { "remoteHooksOut", N_("remote-hooks-out"), TRUE },
  { "remoteHooksIn", N_("remote-hooks-in"), TRUE },
  { "natsReconnects", N_("nats-reconnects"), TRUE },
  { "federationDropped", N_("federation-dropped"), TRUE },
};

/* The federation's values of @object, as the counters are printed; nothing
 * when the broker is not federated. */
static void
print_federation (Stats *stats, JsonObject *object, GString *line)
{
  Junoctl *ctl = stats->ctl;

  if (!json_object_has_member (object, "federation"))
    return;
  if (stats->redraw)
    g_print ("\n%s%s%s\n", junoctl_color (ctl, "\033[1m"), _("Federation"), junoctl_color (ctl, "\033[0m"));
  for (gsize i = 0; i < G_N_ELEMENTS (federation); i++)
    {
      g_autofree char *value = NULL;

      if (!json_object_has_member (object, federation[i].key))
        continue;
      if (federation[i].counter)
        value = g_strdup_printf ("%" G_GINT64_FORMAT,
                                 json_object_get_int_member_with_default (object, federation[i].key, 0));
      else
        {
          const char *text = junoctl_module_string (object, federation[i].key);

          value = g_strdup (text[0] != '\0' ? text : "-");
        }
      if (stats->redraw)
        g_print ("  %-18s %12s\n", _(federation[i].label), value);
      else
        g_string_append_printf (line, "  %s %s", _(federation[i].label), value);
    }
}

static void
print_stats (Stats *stats, JsonNode *node)
{
  Junoctl *ctl = stats->ctl;
  JsonObject *object = json_node_get_object (node);
  g_autoptr(GString) line = g_string_new (NULL);

  if (ctl->json)
    {
      g_autofree char *text = json_to_string (node, FALSE);

      g_print ("%s\n", text);
      fflush (stdout);
      return;
    }
  if (stats->redraw)
    {
      g_autofree char *stamp = junoctl_timestamp ();

      g_print ("\033[H\033[2J%s%s%s  juno %s\n\n", junoctl_color (ctl, "\033[1m"), stamp,
               junoctl_color (ctl, "\033[0m"), junoctl_module_string (object, "version"));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (counters); i++)
    {
      gint64 value = json_object_get_int_member_with_default (object, counters[i].key, 0);

      if (stats->redraw)
        g_print ("  %-18s %12" G_GINT64_FORMAT "\n", _(counters[i].label), value);
      else
        g_string_append_printf (line, "%s%s %" G_GINT64_FORMAT, i > 0 ? "  " : "", _(counters[i].label), value);
    }
  print_federation (stats, object, line);
  if (!stats->redraw)
    g_print ("%s\n", line->str);
  fflush (stdout);
}

static gboolean
sample (gpointer user_data)
{
  Stats *stats = user_data;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  node = junoctl_call (stats->ctl, JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_GET_STATS, NULL, &error);
  if (node != NULL && !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_clear_pointer (&node, json_node_unref);
      g_set_error_literal (&error, JUNO_ERROR, JUNO_ERROR_PROTOCOL, _("the broker's answer is not an object"));
    }
  if (node == NULL)
    {
      junoctl_quit (stats->ctl, junoctl_fail (stats->ctl, NULL, error));
      stats->timer_id = 0;
      return G_SOURCE_REMOVE;
    }
  print_stats (stats, node);
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

  context = junoctl_option_context_new (ctl, NULL, _("Show the broker's counters: connections, modules, "
                                                     "messages, calls, hooks, errors."),
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
  if (!junoctl_observe (ctl, &error))
    return junoctl_fail (ctl, NULL, error);
  junoctl_watch_connection (ctl);
  if (sample (&stats) == G_SOURCE_REMOVE)
    return ctl->status;

  stats.timer_id = g_timeout_add ((guint) (interval * 1000), sample, &stats);
  junoctl_run (ctl);
  g_clear_handle_id (&stats.timer_id, g_source_remove);
  return ctl->status;
}
