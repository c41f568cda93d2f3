/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-mainloop.c: the cost of one main-loop turn with many idle
 * connections, under GLib's poll and under juno's epoll source
 *
 *   juno-bench-mainloop [--idle N[,N...]] [--turns N]
 *
 * A child process connects N times to a Unix socket and then sits still;
 * the parent accepts the N connections and watches each one for input,
 * then measures turns: one byte written to one more connection, one
 * g_main_context_iteration that serves it. Modes:
 *   gsocket  one g_socket_create_source per connection (GSocket per fd)
 *   unixfd   one g_unix_fd_add per connection
 *   epoll    every connection a handler of one JunoPoller (what juno does)
 * It prints one RESULT line per mode and count: microseconds per turn.
 */
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "juno-poller.h"

typedef struct
{
  JunoPollHandler handler;
  guint *served;
} Conn;

static gboolean
no_pending (gpointer data)
{
  return FALSE;
}

static void
no_after (gpointer data)
{
}

static void
read_one (int fd, guint *served)
{
  char c;

  if (read (fd, &c, 1) == 1)
    (*served)++;
}

static void
on_poll (JunoPollHandler *handler, guint32 events)
{
  read_one (handler->fd, ((Conn *) handler)->served);
}

static gboolean
on_unix_fd (int fd, GIOCondition condition, gpointer data)
{
  read_one (fd, data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_socket (GSocket *socket, GIOCondition condition, gpointer data)
{
  read_one (g_socket_get_fd (socket), data);
  return G_SOURCE_CONTINUE;
}

/* N connected sockets: the child holds the other ends until @hold closes. */
static int *
connect_many (guint n, pid_t *child, int *hold)
{
  g_autofree char *dir = g_dir_make_tmp ("juno-bench-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "s", NULL);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int *fds = g_new (int, n);
  int listener, pipefd[2];

  g_assert_nonnull (dir);
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  listener = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (bind (listener, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (listener, 4096), ==, 0);
  g_assert_cmpint (pipe (pipefd), ==, 0);

  *child = fork ();
  if (*child == 0)
    {
      char c;

      close (pipefd[1]);
      for (guint i = 0; i < n; i++)
        {
          int s = socket (AF_UNIX, SOCK_STREAM, 0);

          if (s < 0 || connect (s, (struct sockaddr *) &addr, sizeof addr) < 0)
            _exit (1);
        }
      (void) !read (pipefd[0], &c, 1); /* until the parent is done */
      _exit (0);
    }
  close (pipefd[0]);
  for (guint i = 0; i < n; i++)
    {
      fds[i] = accept4 (listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      g_assert_cmpint (fds[i], >=, 0);
    }
  close (listener);
  g_unlink (path);
  g_rmdir (dir);
  *hold = pipefd[1];
  return fds;
}

static double
run_mode (const char *mode, guint n_idle, guint turns)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_destroy);
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree Conn *conns = g_new0 (Conn, n_idle + 1);
  g_autoptr(JunoPoller) poller = NULL;
  guint served = 0;
  int pair[2], hold;
  pid_t child;
  int *fds = connect_many (n_idle, &child, &hold);
  gint64 start, elapsed;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), ==, 0);
  if (g_str_equal (mode, "epoll"))
    poller = juno_poller_new (context, no_pending, no_after, NULL, NULL);

  for (guint i = 0; i <= n_idle; i++)
    {
      int fd = i < n_idle ? fds[i] : pair[0];

      if (poller != NULL)
        {
          conns[i].handler.func = on_poll;
          conns[i].handler.fd = fd;
          conns[i].served = &served;
          g_assert_true (juno_poller_add (poller, &conns[i].handler, EPOLLIN, NULL));
        }
      else if (g_str_equal (mode, "unixfd"))
        {
          GSource *source = g_unix_fd_source_new (fd, G_IO_IN);

          g_source_set_callback (source, G_SOURCE_FUNC (on_unix_fd), &served, NULL);
          g_source_attach (source, context);
          g_ptr_array_add (sources, source);
          g_source_unref (source);
        }
      else
        {
          GSocket *socket = g_socket_new_from_fd (fd, NULL);
          GSource *source = g_socket_create_source (socket, G_IO_IN, NULL);

          g_assert_nonnull (socket);
          g_source_set_callback (source, G_SOURCE_FUNC (on_socket), &served, NULL);
          g_source_attach (source, context);
          g_ptr_array_add (sources, source);
          g_ptr_array_add (sockets, socket); /* closes the fd */
          g_source_unref (source);
        }
    }

  /* warm up, then measure */
  for (guint i = 0; i < turns / 10 + 1; i++)
    {
      g_assert_cmpint (write (pair[1], "x", 1), ==, 1);
      while (served == 0)
        g_main_context_iteration (context, TRUE);
      served = 0;
    }
  start = g_get_monotonic_time ();
  for (guint i = 0; i < turns; i++)
    {
      g_assert_cmpint (write (pair[1], "x", 1), ==, 1);
      while (served == 0)
        g_main_context_iteration (context, TRUE);
      served = 0;
    }
  elapsed = g_get_monotonic_time () - start;

  g_ptr_array_set_size (sources, 0);
  g_clear_pointer (&poller, juno_poller_free);
  if (sockets->len == 0)
    for (guint i = 0; i < n_idle; i++)
      close (fds[i]);
  g_ptr_array_set_size (sockets, 0);
  if (!g_str_equal (mode, "gsocket"))
    close (pair[0]);
  close (pair[1]);
  close (hold);
  waitpid (child, NULL, 0);
  g_free (fds);
  return (double) elapsed / turns;
}

int
main (int argc, char **argv)
{
  g_autofree char *idle = g_strdup ("0,1000,10000");
  int turns = 2000;
  GOptionEntry entries[] = {
    { "idle", 0, 0, G_OPTION_ARG_STRING, &idle, "Idle connections, comma-separated", "N,..." },
    { "turns", 0, 0, G_OPTION_ARG_INT, &turns, "Turns measured per run", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) counts = NULL;
  static const char *const modes[] = { "gsocket", "unixfd", "epoll" };

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  counts = g_strsplit (idle, ",", -1);
  for (char **c = counts; *c; c++)
    for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
      {
        guint n = (guint) g_ascii_strtoull (*c, NULL, 10);

        g_print ("RESULT mainloop %s idle=%u us_per_turn %.2f\n", modes[m], n,
                 run_mode (modes[m], n, (guint) turns));
      }
  return 0;
}
