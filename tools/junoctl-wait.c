/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl-wait.c: `junoctl wait MODULE`, until the module is active
 *
 * The registry decides, not a hook: junoctl asks juno.getModuleInfo as an
 * observer, again whenever juno.moduleActivated comes (a hook nobody but
 * the broker can trigger, used only as a nudge) and at least every
 * POLL_MSEC. It waits for the socket to appear, and across broker
 * restarts, until --timeout: exit 0 when the module is active (at once if
 * it already is), 5 when the time is up, 1 when the broker refuses to
 * answer (the access policy), 2 for bad usage.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "junoctl.h"
#include "juno-protocol.h"

#define POLL_MSEC 1000
#define RETRY_MSEC 100

typedef struct
{
  Junoctl *ctl;
  const char *module_id;
  double timeout;
  gint64 deadline;   /* monotonic µs; 0: none */
  gboolean nudged;   /* juno.moduleActivated came */
} Wait;

static void
on_module_activated (const char *data_json, const char *hook, JsonNode *data, gpointer user_data)
{
  Wait *wait = user_data;

  wait->nudged = TRUE;
}

static gboolean
on_tick (gpointer user_data)
{
  gboolean *fired = user_data;

  *fired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main context for up to @msec (never past the deadline) or
 * until nudged, the connection is lost or junoctl is asked to quit. */
static void
pause_for (Wait *wait, guint msec)
{
  gboolean fired = FALSE;
  guint id;

  if (wait->deadline != 0)
    msec = (guint) CLAMP ((wait->deadline - g_get_monotonic_time ()) / 1000, 0, (gint64) msec);
  id = g_timeout_add (msec, on_tick, &fired);
  while (!fired && !wait->nudged && !wait->ctl->quit &&
         (wait->ctl->observer == NULL || !junoctl_observer_is_lost (wait->ctl->observer)))
    g_main_context_iteration (NULL, TRUE);
  if (!fired)
    g_source_remove (id);
}

static gboolean
time_is_up (Wait *wait)
{
  return wait->deadline != 0 && g_get_monotonic_time () >= wait->deadline;
}

/* An observer connection that listens for activations; FALSE while there
 * is no broker to connect to. */
static gboolean
ensure_connected (Wait *wait)
{
  Junoctl *ctl = wait->ctl;
  g_autoptr(GError) error = NULL;

  if (ctl->observer != NULL && !junoctl_observer_is_lost (ctl->observer))
    return TRUE;
  if (!junoctl_observe (ctl, &error))
    return FALSE;
  junoctl_set_hook_func (ctl, on_module_activated, wait);
  /* refused by a policy without the Listen grant: polling alone will do */
  junoctl_listen_pattern (ctl, JUNO_BUILTIN_MODULE_ID "." JUNO_HOOK_MODULE_ACTIVATED, NULL);
  return !junoctl_observer_is_lost (ctl->observer);
}

/* 1: active, 0: not (yet), -1: a refusal to report (error set) */
static int
check_active (Wait *wait, GError **error)
{
  g_autoptr(GString) arguments = g_string_new ("{\"moduleId\":");
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(GError) local = NULL;
  JsonNode *info;

  juno_json_append_string (arguments, wait->module_id);
  g_string_append_c (arguments, '}');
  answer = junoctl_call_raw (wait->ctl, JUNO_BUILTIN_MODULE_ID "." JUNO_FUNCTION_GET_MODULE_INFO, arguments->str, &local);
  if (answer == NULL)
    {
      /* a broker lost or slow is waited for; a refusal is final */
      if (local->domain == JUNO_ERROR && local->code < JUNO_ERROR_DISCONNECTED)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return -1;
        }
      return 0;
    }
  info = json_object_get_member (answer, "data");
  return info != NULL && JSON_NODE_HOLDS_OBJECT (info) && junoctl_module_active (json_node_get_object (info));
}

int
junoctl_wait (Junoctl *ctl, int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { .ctl = ctl, .timeout = 30 };
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
  if (!juno_module_id_is_valid (argv[1], -1))
    return junoctl_usage (ctl, _("not a valid moduleId"));
  wait.module_id = argv[1];
  if (wait.timeout > 0)
    wait.deadline = g_get_monotonic_time () + (gint64) (wait.timeout * G_USEC_PER_SEC);

  while (!ctl->quit)
    {
      gboolean connected = ensure_connected (&wait);
      int active = 0;

      wait.nudged = FALSE;
      if (connected && (active = check_active (&wait, &error)) != 0)
        return active > 0 ? JUNOCTL_EXIT_OK : junoctl_fail (ctl, wait.module_id, error);
      if (time_is_up (&wait))
        break;
      pause_for (&wait, connected ? POLL_MSEC : RETRY_MSEC);
      if (time_is_up (&wait))
        break;
    }
  if (ctl->quit)
    return ctl->status;

  {
    g_autofree char *message = g_strdup_printf (ctl->observer != NULL ? _("not active after %g s")
                                                                      : _("no broker after %g s"),
                                                wait.timeout);

    g_printerr ("junoctl: %s: %s: %s\n", ctl->verb, wait.module_id, message);
  }
  return JUNOCTL_EXIT_TIMEOUT;
}
