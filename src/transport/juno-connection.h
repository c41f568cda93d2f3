/* juno-connection.h: one accepted socket
 *
 * Reads go into the listener's shared buffer; only a line that spans two
 * reads is copied into the connection. Complete lines go to the broker
 * straight from the shared buffer. Output is a queue of chunks (a message
 * never spans two chunks): what the lines of one read produced is written
 * with one sendmsg per peer before the next read, so a read of many
 * messages becomes one write per peer, and the peers start on it while the
 * broker reads on. A connection whose queue passes the backlog limit is
 * cut off.
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
  char *read_buffer;       /* shared by every connection */
  gsize read_buffer_size;
  GQueue dirty;            /* JunoConnection via dirty_link: output to flush */
  GQueue closing;          /* JunoConnection via closing_link: to free */
  gpointer spare_chunks[4]; /* written-out output chunks, kept for reuse */
  guint n_spare_chunks;
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
