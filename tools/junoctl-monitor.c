/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-monitor.c: `junoctl monitor`, the broker's lifecycle events live
 *
 * Listens, as an observer, to juno.moduleConnected, moduleDisconnected,
 * moduleActivated and moduleDeactivated and prints one line per event.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "junoctl.h"

#define JUNO_HOOK(name) JUNO_BUILTIN_MODULE_ID "." name

static const struct
{
  const char *hook;
  const char *event;
  const char *key;
} events[] = {
  { JUNO_HOOK (JUNO_HOOK_MODULE_CONNECTED), N_("connected"), "connectionId" },
  { JUNO_HOOK (JUNO_HOOK_MODULE_DISCONNECTED), N_("disconnected"), "connectionId" },
  { JUNO_HOOK (JUNO_HOOK_MODULE_ACTIVATED), N_("activated"), "moduleId" },
  { JUNO_HOOK (JUNO_HOOK_MODULE_DEACTIVATED), N_("deactivated"), "moduleId" },
};

typedef struct
{
  Junoctl *ctl;
  int count;
  int seen;
} Monitor;

static void
print_event (Junoctl *ctl, guint index, JsonNode *data)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (data) ? json_node_get_object (data) : NULL;
  const char *value = object != NULL ? junoctl_module_string (object, events[index].key) : "";
  g_autofree char *stamp = junoctl_timestamp ();

  if (ctl->json)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;

      json_object_set_string_member (out, "event", events[index].hook + strlen (JUNO_BUILTIN_MODULE_ID "."));
      json_object_set_string_member (out, events[index].key, value);
      node = json_node_init_object (json_node_alloc (), out);
      text = json_to_string (node, FALSE);
      g_print ("%s\n", text);
    }
  else if (g_str_equal (events[index].key, "connectionId"))
    g_print ("%s  %s%-12s%s  %s %s\n", stamp, junoctl_color (ctl, "\033[1m"), _(events[index].event),
             junoctl_color (ctl, "\033[0m"), _("connection"), value);
  else
    g_print ("%s  %s%-12s%s  %s %s\n", stamp, junoctl_color (ctl, "\033[1m"), _(events[index].event),
             junoctl_color (ctl, "\033[0m"), _("module"), value);
  fflush (stdout);
}

static void
on_hook_triggered (const char *data_json, const char *hook, JsonNode *data, gpointer user_data)
{
  Monitor *monitor = user_data;

  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    if (g_str_equal (hook, events[i].hook))
      {
        print_event (monitor->ctl, i, data);
        if (monitor->count > 0 && ++monitor->seen >= monitor->count)
          junoctl_quit (monitor->ctl, JUNOCTL_EXIT_OK);
        return;
      }
}

int
junoctl_monitor (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Monitor monitor = { .ctl = ctl };
  int status;
  const GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &monitor.count, N_("Exit after N events"), N_("N") },
    { NULL }
  };

  context = junoctl_option_context_new (ctl, NULL,
                                        _("Print modules as they connect, activate, deactivate and leave."),
                                        entries);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc > 1)
    return junoctl_usage (ctl, _("too many arguments"));
  if (monitor.count < 0)
    return junoctl_usage (ctl, _("--count must not be negative"));

  if (!junoctl_observe (ctl, &error))
    return junoctl_fail (ctl, NULL, error);
  /* Before listening: an event may come while the next listen is answered. */
  junoctl_set_hook_func (ctl, on_hook_triggered, &monitor);
  junoctl_watch_connection (ctl);
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    if (!junoctl_listen_pattern (ctl, events[i].hook, &error))
      return junoctl_fail (ctl, NULL, error);

  junoctl_run (ctl);
  return ctl->status;
}
