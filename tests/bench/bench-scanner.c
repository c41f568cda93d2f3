/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-scanner.c: the cost of reading one call's two messages with juno's
 * scanner (the hot path) and with json-glib (a tree, as everywhere else)
 *
 *   juno-bench-scanner [--rounds N]
 *
 * Each round reads the call as the callee gets it and the answer as the
 * broker gets it: juno_message_parse, or json_parser_load_from_data and a
 * look at the members the broker needs. Prints ns per call.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "juno-protocol.h"

static const char *const lines[] = {
  "{\"requestId\":\"j12345\",\"type\":3,\"function\":\"echo\",\"arguments\":"
  "{\"seq\":12345,\"text\":\"hello, world\",\"values\":[1,2,3,4.5,true,null]},\"caller\":\"client-7\"}",
  "{\"requestId\":\"j12345\",\"type\":4,\"data\":{\"seq\":12345,\"text\":\"hello, world\",\"sum\":10.5}}",
};

static double
run_scanner (guint rounds)
{
  gint64 start = g_get_monotonic_time ();
  guint ok = 0;

  for (guint r = 0; r < rounds; r++)
    for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
      {
        JunoMessage msg;

        ok += juno_message_parse (lines[i], strlen (lines[i]), &msg) == JUNO_PARSE_OK &&
              msg.keys[JUNO_KEY_REQUEST_ID].kind == JUNO_JSON_STRING;
      }
  g_assert_cmpuint (ok, ==, rounds * G_N_ELEMENTS (lines));
  return (double) (g_get_monotonic_time () - start) * 1000.0 / rounds;
}

static double
run_json_glib (guint rounds)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gint64 start = g_get_monotonic_time ();
  guint ok = 0;

  for (guint r = 0; r < rounds; r++)
    for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
      {
        JsonObject *object;

        if (!json_parser_load_from_data (parser, lines[i], -1, NULL))
          continue;
        object = json_node_get_object (json_parser_get_root (parser));
        ok += json_object_get_string_member (object, "requestId") != NULL &&
              json_object_get_int_member (object, "type") > 0;
      }
  g_assert_cmpuint (ok, ==, rounds * G_N_ELEMENTS (lines));
  return (double) (g_get_monotonic_time () - start) * 1000.0 / rounds;
}

int
main (int argc, char **argv)
{
  int rounds = 200000;
  GOptionEntry entries[] = {
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Calls read per parser", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || rounds <= 0)
    {
      g_printerr ("%s\n", error ? error->message : "--rounds must be positive");
      return 2;
    }
  run_scanner ((guint) rounds / 10); /* warm up */
  g_print ("RESULT scanner juno ns_per_call %.0f\n", run_scanner ((guint) rounds));
  run_json_glib ((guint) rounds / 10);
  g_print ("RESULT scanner json-glib ns_per_call %.0f\n", run_json_glib ((guint) rounds));
  return 0;
}
