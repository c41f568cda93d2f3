/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clock-module.c: a juno module in C on libjuno
 *
 * Module "clock" declares clock.now (-> {"time": ISO 8601, "unix": seconds})
 * and triggers clock.tick every --interval seconds with the same data. It
 * keeps running across broker restarts: libjuno reconnects and declares
 * clock.now again.
 *
 *   clock-module [--address PATH|HOST:PORT] [--interval SECONDS]
 */
#include <juno.h>
#include <glib-unix.h>

typedef struct
{
  JunoClient *client;
  GMainLoop *loop;
} Clock;

static JsonNode *
now_node (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autofree char *iso = g_date_time_format_iso8601 (now);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, iso);
  json_builder_set_member_name (builder, "unix");
  json_builder_add_int_value (builder, g_date_time_to_unix (now));
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
handle_now (JunoClient *client, JunoInvocation *invocation, gpointer user_data)
{
  g_autoptr(JsonNode) now = now_node ();

  juno_invocation_return_value (invocation, now);
}

static void
on_tick_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!juno_client_trigger_finish (JUNO_CLIENT (source), result, &error))
    g_message ("Tick not sent: %s", error->message);
}

static gboolean
on_tick (gpointer user_data)
{
  Clock *clock = user_data;
  g_autoptr(JsonNode) now = NULL;

  /* Only while active: a trigger made with no connection would just fail. */
  if (!juno_client_get_active (clock->client))
    return G_SOURCE_CONTINUE;
  now = now_node ();
  juno_client_trigger_async (clock->client, "tick", now, NULL, on_tick_sent, NULL);
  return G_SOURCE_CONTINUE;
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Clock *clock = user_data;
  g_autoptr(GError) error = NULL;

  if (!juno_client_connect_finish (JUNO_CLIENT (source), result, &error))
    {
      g_printerr ("clock-module: %s\n", error->message);
      g_main_loop_quit (clock->loop);
      return;
    }
  g_print ("clock-module: active\n");
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (((Clock *) user_data)->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *address = NULL;
  int interval = 1;
  const GOptionEntry entries[] = {
    { "address", 'a', 0, G_OPTION_ARG_STRING, &address, "Broker socket or HOST:PORT", "ADDRESS" },
    { "interval", 'i', 0, G_OPTION_ARG_INT, &interval, "Seconds between ticks", "SECONDS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  Clock clock = { 0 };
  guint tick_id, int_id, term_id;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || interval < 1)
    {
      g_printerr ("clock-module: %s\n", error != NULL ? error->message : "bad --interval");
      return 2;
    }

  clock.loop = g_main_loop_new (NULL, FALSE);
  clock.client = juno_client_new ("clock", "1.0.0");
  juno_client_set_address (clock.client, address);
  if (!juno_client_declare_function (clock.client, "now", handle_now, NULL, NULL, &error))
    g_error ("%s", error->message);
  juno_client_connect_async (clock.client, NULL, on_connected, &clock);

  tick_id = g_timeout_add_seconds (interval, on_tick, &clock);
  int_id = g_unix_signal_add (SIGINT, on_signal, &clock);
  term_id = g_unix_signal_add (SIGTERM, on_signal, &clock);
  g_main_loop_run (clock.loop);

  g_source_remove (tick_id);
  g_source_remove (int_id);
  g_source_remove (term_id);
  juno_client_close (clock.client);
  g_object_unref (clock.client);
  g_main_loop_unref (clock.loop);
  return 0;
}
