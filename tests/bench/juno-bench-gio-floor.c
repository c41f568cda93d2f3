/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-bench-gio-floor.c - the memory floor of a GLib service on D-Bus.
 *
 *   juno-bench-gio-floor READY-FILE
 *
 * A main loop, a connection to the session bus and one owned name: what
 * any GIO program that offers a D-Bus service carries before it does
 * anything. Creates READY-FILE once the name is owned. The idle workload
 * reads its VmRSS next to juno's, so the ratio shows what juno adds.
 */
#include <gio/gio.h>

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer path)
{
  if (!g_file_set_contents (path, "", 0, NULL))
    g_printerr ("juno-bench-gio-floor: cannot create %s\n", (const char *) path);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer loop)
{
  g_printerr ("juno-bench-gio-floor: no bus or name\n");
  g_main_loop_quit (loop);
}

int
main (int argc, char **argv)
{
  g_autoptr(GMainLoop) loop = NULL;

  if (argc != 2)
    {
      g_printerr ("usage: juno-bench-gio-floor READY-FILE\n");
      return 2;
    }
  loop = g_main_loop_new (NULL, FALSE);
  g_bus_own_name (G_BUS_TYPE_SESSION, "org.junobench.GioFloor", G_BUS_NAME_OWNER_FLAGS_NONE, NULL,
                  on_name_acquired, on_name_lost, argv[1], NULL);
  g_main_loop_run (loop);
  return 1;
}
