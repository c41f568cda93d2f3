/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-connection.h: one accepted socket
 *
 * Reads go into the listener's shared buffer; only a line that spans two
 * reads is copied into the connection. Complete lines go to the broker
 * straight from the shared buffer. One buffer is enough because only a
 * poller handler reads, handlers never nest (the poller does not dispatch
 * inside its own dispatch, even when a broker signal handler iterates the
 * main context), and the broker copies whatever it keeps of a line. Output is a queue of chunks (a message
 * never spans two chunks): what the lines of one read produced is written
 * with one sendmsg per peer before the next read, so a read of many
 * messages becomes one write per peer, and the peers start on it while the
 * broker reads on. A connection whose queue passes the backlog limit is
 * cut off.
 *
 * Totals: the output queued for all connections and the partial lines held
 * for all connections are each kept under max_total_buffer. When output
 * would pass it, what the sockets take now is written first; if that is not
 * enough, the connection with the largest backlog is cut off (its peer is
 * the one not reading, and cutting it frees the most). A partial line that
 * would pass it is dropped up to its '\n' with error 12, as an oversized one
 * is with error 10.
 *
 * Half-close: a peer that shuts down its write side is read no more, but
 * keeps the connection until every answer it waits for is written; then it
 * is closed.
 */
#pragma once

#include "juno-broker.h"
#include "juno-poller.h"

G_BEGIN_DECLS

typedef struct _JunoConnection JunoConnection;
typedef struct _JunoListener JunoListener;

typedef struct
{
  JunoBroker *broker;
  JunoPoller *poller;
  gsize max_message_size;
  gsize max_output_backlog;
  gsize max_total_buffer;  /* for the output queues of all connections, and again for their partial lines */
  gsize total_output;      /* queued output bytes of all connections */
  gsize total_partial;     /* bytes held for partial lines by all connections */
  GQueue queued;           /* JunoConnection via queued_link: those with output queued */
  char *read_buffer;       /* shared by every connection */
  gsize read_buffer_size;
  GQueue dirty;            /* JunoConnection via dirty_link: output to flush */
  GQueue closing;          /* JunoConnection via closing_link: to free */
  gpointer spare_chunks[4]; /* written-out output chunks, kept for reuse */
  guint n_spare_chunks;
  struct
  {
    gpointer block;
    gsize size;
  } big_spares[2];         /* long lines' buffers, kept a while for the next long line */
  gint64 big_spares_used;  /* monotonic time of the last use */
  GSource *big_spares_timer;
  void (*closed) (JunoConnection *connection, gpointer data);
  gpointer closed_data;
} JunoConnectionContext;

JunoConnection *juno_connection_new (JunoConnectionContext *ctx, int fd, const char *transport, GError **error);
void juno_connection_close (JunoConnection *connection, const char *reason);
/* Runs deferred closes and flushes queued output; TRUE while work remains. */
void juno_connection_context_run (JunoConnectionContext *ctx);
gboolean juno_connection_context_pending (JunoConnectionContext *ctx);
void juno_connection_free (JunoConnection *connection);
/* Frees what the context keeps between connections. */
void juno_connection_context_clear (JunoConnectionContext *ctx);

G_END_DECLS
