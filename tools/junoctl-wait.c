/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-wait.c: `junoctl wait MODULE`, until the module is active
 *
 * Listens to juno.moduleActivated first and asks juno.getModuleInfo second,
 * so an activation between the two cannot be missed.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"

typedef struct
{
  Junoctl *ctl;
  const char *module_id;
  double timeout;
  guint timer_id;
} Wait;

static void
on_module_activated (JunoClient *client, const char *hook, JsonNode *data, gpointer user_data)
{
  Wait *wait = user_data;

  if (JSON_NODE_HOLDS_OBJECT (data) &&
      g_str_equal (junoctl_module_string (json_node_get_object (data), "moduleId"), wait->module_id))
    junoctl_quit (wait->ctl, JUNOCTL_EXIT_OK);
}

static gboolean
on_timeout (gpointer user_data)
{
  Wait *wait = user_data;
  g_autofree char *message = g_strdup_printf (_("not active after %g s"), wait->timeout);

  g_printerr ("junoctl: %s: %s: %s\n", wait->ctl->verb, wait->module_id, message);
  junoctl_quit (wait->ctl, JUNOCTL_EXIT_TIMEOUT);
  wait->timer_id = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
module_is_active (Junoctl *ctl, const char *module_id, gboolean *active, GError **error)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) arguments = NULL;
  g_autoptr(JsonNode) info = NULL;

  json_object_set_string_member (object, "moduleId", module_id);
  arguments = json_node_init_object (json_node_alloc (), object);
  info = junoctl_call (ctl, JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_GET_MODULE_INFO, arguments, error);
  if (info == NULL)
    return FALSE;
  *active = JSON_NODE_HOLDS_OBJECT (info) && junoctl_module_active (json_node_get_object (info));
  return TRUE;
}

int
junoctl_wait (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { .ctl = ctl, .timeout = 30 };
  gboolean active = FALSE;
  int status;
  const GOptionEntry entries[] = {
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &wait.timeout,
      N_("Give up after SECONDS (default 30, 0 waits forever)"), N_("SECONDS") },
    { NULL }
  };

  context = junoctl_option_context_new (ctl, _("MODULE"), _("Wait until a module is active."), entries);
  if ((status = junoctl_parse_options (ctl, context, &argc, &argv)) != JUNOCTL_EXIT_OK)
    return status;
  if (argc != 2)
    return junoctl_usage (ctl, argc < 2 ? _("no module given") : _("too many arguments"));
  if (!(wait.timeout >= 0 && wait.timeout <= G_MAXUINT / 1000))
    return junoctl_usage (ctl, _("--timeout must be a positive number of seconds"));
  wait.module_id = argv[1];

  /* The timeout covers connecting too: the broker may still be starting. */
  if (wait.timeout > 0)
    wait.timer_id = g_timeout_add ((guint) (wait.timeout * 1000), on_timeout, &wait);
  if (junoctl_connect (ctl, NULL, &error) == NULL)
    {
      g_clear_handle_id (&wait.timer_id, g_source_remove);
      return junoctl_fail (ctl, NULL, error);
    }
  /* Before listening: the activation may come while the check runs. */
  g_signal_connect (ctl->client, "hook-triggered::" JUNO_BUILTIN_MODULE_ID "." JUNO_HOOK_MODULE_ACTIVATED,
                    G_CALLBACK (on_module_activated), &wait);
  junoctl_watch_connection (ctl);
  if (!juno_client_listen (ctl->client, JUNO_BUILTIN_MODULE_ID "." JUNO_HOOK_MODULE_ACTIVATED, &error) ||
      !juno_client_roundtrip_sync (ctl->client, NULL, &error) ||
      !module_is_active (ctl, wait.module_id, &active, &error))
    {
      g_clear_handle_id (&wait.timer_id, g_source_remove);
      return junoctl_fail (ctl, NULL, error);
    }
  if (!active)
    junoctl_run (ctl);
  g_clear_handle_id (&wait.timer_id, g_source_remove);
  return ctl->status;
}
