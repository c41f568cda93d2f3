/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sys-dbus.c - the D-Bus anchor: a private dbus-daemon and libdbus-1.
 *
 * The bus runs from a generated configuration (session type, one Unix
 * socket in the private directory, everything allowed, limits raised so
 * that a hundred thousand connections and deep queues fit).
 *
 * call:  the callee owns org.junobench.Echo and answers method Echo(s) -> s
 *        with the same JSON text the juno callee sends; one call in flight
 *        uses send_with_reply_and_block, more keep a window of serials.
 * hook:  the trigger emits signal org.junobench.Trig.Tick(s); K connections
 *        add a match rule for it.
 * idle:  connections that said Hello (have a unique name) and nothing more.
 *
 * Only the low-level libdbus API is used: no main loop, no bindings.
 */
#include "bench.h"

#include <dbus/dbus.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_NAME "org.junobench.Echo"
#define ECHO_PATH "/org/junobench/Echo"
#define TRIG_IFACE "org.junobench.Trig"
#define ANSWER_MAX (4 * 1024 * 1024)
#define QUIET_NAME "org.junobench.Quiet"

/* The bus name of the callee: Echo, or Quiet in the fair workload. */
static const char *
bus_name (BenchCtx *ctx)
{
  return strcmp (bench_target (ctx), "quiet") == 0 ? QUIET_NAME : ECHO_NAME;
}

static const char dbus_conf[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <type>session</type>\n"
  "  <listen>%s</listen>\n"
  "%s"
  "  <policy context=\"default\">\n"
  "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
  "    <allow eavesdrop=\"true\"/>\n"
  "    <allow own=\"*\"/>\n"
  "  </policy>\n"
  "  <limit name=\"max_incoming_bytes\">1000000000</limit>\n"
  "  <limit name=\"max_outgoing_bytes\">1000000000</limit>\n"
  "  <limit name=\"max_message_size\">100000000</limit>\n"
  "  <limit name=\"auth_timeout\">240000</limit>\n"
  "  <limit name=\"max_completed_connections\">2000000</limit>\n"
  "  <limit name=\"max_incomplete_connections\">100000</limit>\n"
  "  <limit name=\"max_connections_per_user\">2000000</limit>\n"
  "  <limit name=\"max_match_rules_per_connection\">50000</limit>\n"
  "  <limit name=\"max_replies_per_connection\">50000</limit>\n"
  "</busconfig>\n";

static bool
dbus_start (BenchCtx *ctx)
{
  char conf[300], sock[300], arg[320], listen[320];
  int port = 0;
  FILE *f;

  snprintf (conf, sizeof conf, "%s/bus.conf", ctx->dir);
  snprintf (sock, sizeof sock, "%s/bus", ctx->dir);
  snprintf (arg, sizeof arg, "--config-file=%s", conf);
  if (ctx->tcp)
    {
      /* EXTERNAL needs a Unix socket's credentials: over TCP the peers
       * authenticate as ANONYMOUS, which the bus then allows. */
      port = bench_free_port ();
      snprintf (listen, sizeof listen, "tcp:host=127.0.0.1,bind=127.0.0.1,port=%d", port);
    }
  else
    snprintf (listen, sizeof listen, "unix:path=%s", sock);
  f = fopen (conf, "w");
  if (!f)
    return false;
  fprintf (f, dbus_conf, listen,
           ctx->tcp ? "  <auth>ANONYMOUS</auth>\n  <allow_anonymous/>\n" : "  <auth>EXTERNAL</auth>\n");
  fclose (f);
  {
    char *argv[] = { (char *) ctx->server_path, arg, "--nofork", "--nopidfile", NULL };

    ctx->server_pid = bench_spawn (ctx, argv, "dbus.log", NULL);
  }
  if (ctx->server_pid <= 0 ||
      !(ctx->tcp ? bench_wait_connect_tcp (port, ctx->server_pid, 15)
                 : bench_wait_connect_unix (sock, ctx->server_pid, 15)))
    {
      bench_fail (ctx, "dbus-daemon (%s) did not start", ctx->server_path);
      bench_print_log (ctx, "dbus.log");
      return false;
    }
  if (ctx->tcp)
    snprintf (ctx->address, sizeof ctx->address, "tcp:host=127.0.0.1,port=%d", port);
  else
    snprintf (ctx->address, sizeof ctx->address, "unix:path=%s", sock);
  return true;
}

static void
dbus_stop (BenchCtx *ctx)
{
  bench_stop_process (ctx->server_pid);
  ctx->server_pid = 0;
}

static DBusConnection *
bus_connect (BenchCtx *ctx)
{
  DBusError err = DBUS_ERROR_INIT;
  DBusConnection *c = dbus_connection_open_private (ctx->address, &err);

  if (c && !dbus_bus_register (c, &err))
    {
      dbus_connection_close (c);
      dbus_connection_unref (c);
      c = NULL;
    }
  if (!c)
    {
      bench_fail (ctx, "dbus: connect: %s", err.message ? err.message : "?");
      dbus_error_free (&err);
      return NULL;
    }
  dbus_connection_set_exit_on_disconnect (c, FALSE);
  return c;
}

static void
bus_close (DBusConnection *c)
{
  dbus_connection_close (c);
  dbus_connection_unref (c);
}

static void
answer_call (DBusConnection *c, DBusMessage *msg, char *answer)
{
  const char *args = NULL, *out = answer;
  DBusMessage *reply;
  size_t alen;

  if (!dbus_message_get_args (msg, NULL, DBUS_TYPE_STRING, &args, DBUS_TYPE_INVALID))
    return;
  alen = bench_echo_answer (args, strlen (args), answer, ANSWER_MAX - 1);
  answer[alen] = '\0';
  reply = dbus_message_new_method_return (msg);
  dbus_message_append_args (reply, DBUS_TYPE_STRING, &out, DBUS_TYPE_INVALID);
  dbus_connection_send (c, reply, NULL);
  dbus_message_unref (reply);
}

static int
dbus_callee (BenchCtx *ctx)
{
  DBusConnection *c = bus_connect (ctx);
  DBusError err = DBUS_ERROR_INIT;
  char *answer = malloc (ANSWER_MAX);

  if (!c)
    return 1;
  if (dbus_bus_request_name (c, bus_name (ctx), DBUS_NAME_FLAG_DO_NOT_QUEUE, &err) !=
      DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
    {
      bench_fail (ctx, "dbus: cannot own %s: %s", bus_name (ctx), err.message ? err.message : "?");
      return 1;
    }
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_LONG))
    {
      DBusMessage *msg;

      dbus_connection_read_write (c, 100);
      while ((msg = dbus_connection_pop_message (c)))
        {
          if (dbus_message_is_method_call (msg, ECHO_NAME, "Echo"))
            answer_call (c, msg, answer);
          dbus_message_unref (msg);
        }
      dbus_connection_flush (c);
    }
  bus_close (c);
  return 0;
}

static DBusMessage *
new_call (BenchCtx *ctx)
{
  DBusMessage *msg = dbus_message_new_method_call (bus_name (ctx), ECHO_PATH, ECHO_NAME, "Echo");
  const char *args = ctx->args;

  dbus_message_append_args (msg, DBUS_TYPE_STRING, &args, DBUS_TYPE_INVALID);
  return msg;
}

static bool
check_answer (BenchCtx *ctx, DBusMessage *reply, bool *checked)
{
  const char *data = NULL;

  if (dbus_message_get_type (reply) == DBUS_MESSAGE_TYPE_ERROR)
    {
      bench_fail (ctx, "dbus caller: error reply %s", dbus_message_get_error_name (reply));
      return false;
    }
  if (*checked)
    return true;
  *checked = true;
  if (dbus_message_get_args (reply, NULL, DBUS_TYPE_STRING, &data, DBUS_TYPE_INVALID) &&
      strstr (data, "\"sum\":15"))
    return true;
  bench_fail (ctx, "dbus caller: wrong answer: %s", data ? data : "(none)");
  return false;
}

static uint64_t
now_ns (void)
{
  return (uint64_t) (bench_now () * 1e9);
}

static void
call_one (BenchCtx *ctx, DBusConnection *c, BenchHist *hist, uint64_t *completed)
{
  bool checked = false;

  while (!bench_stopped (ctx, STOP_SHORT))
    {
      DBusError err = DBUS_ERROR_INIT;
      uint64_t t0 = now_ns ();
      DBusMessage *msg = new_call (ctx);
      DBusMessage *reply = dbus_connection_send_with_reply_and_block (c, msg, 5000, &err);

      dbus_message_unref (msg);
      if (!reply)
        {
          bench_fail (ctx, "dbus caller: %s", err.message ? err.message : "?");
          dbus_error_free (&err);
          return;
        }
      if (!check_answer (ctx, reply, &checked))
        return;
      if (atomic_load_explicit (&ctx->sh->measuring, memory_order_relaxed))
        {
          bench_hist_record (hist, now_ns () - t0);
          (*completed)++;
        }
      dbus_message_unref (reply);
    }
}

/* Serials grow by one per message, so serial % 65536 names a slot. */
static void
call_window (BenchCtx *ctx, DBusConnection *c, int inflight, BenchHist *hist, uint64_t *completed)
{
  uint64_t *sent = calloc (65536, sizeof (uint64_t));
  bool checked = false;

  for (int i = 0; i < inflight; i++)
    {
      DBusMessage *msg = new_call (ctx);
      dbus_uint32_t serial = 0;

      dbus_connection_send (c, msg, &serial);
      sent[serial & 0xffff] = now_ns ();
      dbus_message_unref (msg);
    }
  dbus_connection_flush (c);
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      DBusMessage *reply;

      dbus_connection_read_write (c, 100);
      while ((reply = dbus_connection_pop_message (c)))
        {
          int type = dbus_message_get_type (reply);
          dbus_uint32_t serial = 0;
          DBusMessage *msg;

          if (type != DBUS_MESSAGE_TYPE_METHOD_RETURN && type != DBUS_MESSAGE_TYPE_ERROR)
            {
              dbus_message_unref (reply);
              continue;
            }
          if (!check_answer (ctx, reply, &checked))
            return;
          if (atomic_load_explicit (&ctx->sh->measuring, memory_order_relaxed))
            {
              bench_hist_record (hist, now_ns () - sent[dbus_message_get_reply_serial (reply) & 0xffff]);
              (*completed)++;
            }
          dbus_message_unref (reply);
          msg = new_call (ctx);
          dbus_connection_send (c, msg, &serial);
          sent[serial & 0xffff] = now_ns ();
          dbus_message_unref (msg);
        }
      dbus_connection_flush (c);
    }
}

static int
dbus_caller (BenchCtx *ctx, int id, int inflight)
{
  DBusConnection *c = bus_connect (ctx);
  BenchHist *hist = calloc (1, sizeof *hist);
  uint64_t completed = 0;

  if (!c)
    return 1;
  atomic_fetch_add (&ctx->sh->ready, 1);
  if (inflight == 1)
    call_one (ctx, c, hist, &completed);
  else
    call_window (ctx, c, inflight, hist, &completed);
  bench_caller_done (ctx, hist, completed);
  bus_close (c);
  return 0;
}

/* Reads everything @c has; returns the signals received. */
static uint64_t
drain (DBusConnection *c)
{
  uint64_t got = 0;
  bool more = true;

  while (more)
    {
      DBusMessage *msg;

      more = false;
      dbus_connection_read_write (c, 0);
      while ((msg = dbus_connection_pop_message (c)))
        {
          if (dbus_message_is_signal (msg, TRIG_IFACE, "Tick"))
            got++;
          dbus_message_unref (msg);
          more = true;
        }
    }
  return got;
}

static int
dbus_listeners (BenchCtx *ctx, int count)
{
  DBusConnection **cs = calloc ((size_t) count, sizeof *cs);
  struct pollfd *pfd = calloc ((size_t) count, sizeof *pfd);

  for (int i = 0; i < count; i++)
    {
      DBusError err = DBUS_ERROR_INIT;
      int fd = -1;

      cs[i] = bus_connect (ctx);
      if (!cs[i])
        return 1;
      dbus_bus_add_match (cs[i], "type='signal',interface='" TRIG_IFACE "',member='Tick'", &err);
      if (dbus_error_is_set (&err))
        {
          bench_fail (ctx, "dbus: add_match: %s", err.message);
          return 1;
        }
      dbus_connection_get_unix_fd (cs[i], &fd);
      pfd[i] = (struct pollfd){ fd, POLLIN, 0 };
    }
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      uint64_t got = 0;

      if (poll (pfd, (nfds_t) count, 100) <= 0)
        continue;
      for (int i = 0; i < count; i++)
        if (pfd[i].revents)
          got += drain (cs[i]);
      if (got)
        atomic_fetch_add_explicit (&ctx->sh->delivered, got, memory_order_relaxed);
    }
  for (int i = 0; i < count; i++)
    bus_close (cs[i]);
  return 0;
}

static int
dbus_trigger (BenchCtx *ctx, int listeners)
{
  DBusConnection *c = bus_connect (ctx);
  uint64_t window = 4u * 1024 * 1024 / (ctx->args_len + 100), sent = 0;
  const char *args = ctx->args;

  if (window > 256)
    window = 256;
  if (window < 4)
    window = 4;
  if (!c)
    return 1;
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_SHORT))
    {
      uint64_t delivered = atomic_load_explicit (&ctx->sh->delivered, memory_order_relaxed);
      int queued = 0;

      while (sent < delivered / (uint64_t) listeners + window && queued < 64)
        {
          DBusMessage *sig = dbus_message_new_signal ("/org/junobench/Trig", TRIG_IFACE, "Tick");

          dbus_message_append_args (sig, DBUS_TYPE_STRING, &args, DBUS_TYPE_INVALID);
          dbus_connection_send (c, sig, NULL);
          dbus_message_unref (sig);
          sent++;
          queued++;
        }
      dbus_connection_flush (c);
      drain (c);
      if (queued)
        atomic_store_explicit (&ctx->sh->triggered, sent, memory_order_relaxed);
      else
        bench_sleep (20e-6);
    }
  bus_close (c);
  return 0;
}

static int
dbus_idle (BenchCtx *ctx, long first, long count)
{
  DBusConnection **cs = calloc ((size_t) count, sizeof *cs);

  for (long i = 0; i < count; i++)
    {
      cs[i] = bus_connect (ctx);
      if (!cs[i])
        return 1;
    }
  atomic_fetch_add (&ctx->sh->ready, 1);
  while (!bench_stopped (ctx, STOP_LONG))
    bench_sleep (0.05);
  /* Exit closes them; closing 100 000 one by one only costs time. */
  return 0;
}

const BenchSystem bench_system_dbus = {
  .name = "dbus",
  .server_start = dbus_start,
  .server_stop = dbus_stop,
  .callee = dbus_callee,
  .caller = dbus_caller,
  .listeners = dbus_listeners,
  .trigger = dbus_trigger,
  .idle = dbus_idle,
};
