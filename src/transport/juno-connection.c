/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-connection.c: framing, output queue and lifetime of one socket
 *
 * Lifetime rule: a connection is never freed while the poller may still
 * hold an event for it. juno_connection_close() only marks it and stops
 * its events; the context frees it after the current batch, when it is
 * safe to let the broker send to the other peers.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "juno-connection.h"
#include "juno-peer.h"

#define CHUNK_SIZE 16384
#define MAX_IOV 64
/* how long the buffers of long lines are kept for the next one */
#define BIG_SPARES_KEEP_SEC 2

typedef struct
{
  GList link; /* in JunoConnection.out */
  gsize len;
  gsize cap;
  gsize off;  /* bytes already written */
  char data[];
} Chunk;

struct _JunoConnection
{
  JunoPollHandler handler; /* first: the poller hands it back to us */
  JunoConnectionContext *ctx;
  JunoEndpoint *endpoint;
  JunoUser *user;          /* its peer's user, charged for its output; NULL for none */
  char *partial;           /* the start of a line that spans reads */
  gsize partial_len;
  gsize partial_cap;
  GQueue out;              /* Chunk */
  gsize out_bytes;
  GList dirty_link;
  GList closing_link;
  GList queued_link;       /* in ctx->queued while out_bytes > 0 */
  gboolean dirty;
  gboolean closing;
  gboolean discarding;     /* dropping an oversized line up to its '\n' */
  gboolean eof;            /* the peer shut down its write side */
};

static void on_connection_events (JunoPollHandler *handler, guint32 events);

static void
big_spares_free (JunoConnectionContext *ctx)
{
  for (guint i = 0; i < G_N_ELEMENTS (ctx->big_spares); i++)
    {
      g_clear_pointer (&ctx->big_spares[i].block, g_free);
      ctx->big_spares[i].size = 0;
    }
  if (ctx->big_spares_timer != NULL)
    {
      g_source_destroy (ctx->big_spares_timer);
      g_clear_pointer (&ctx->big_spares_timer, g_source_unref);
    }
}

static gboolean
on_big_spares_timer (gpointer data)
{
  JunoConnectionContext *ctx = data;

  if (g_get_monotonic_time () - ctx->big_spares_used < BIG_SPARES_KEEP_SEC * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  big_spares_free (ctx);
  return G_SOURCE_REMOVE;
}

/* A kept buffer of at least @min bytes (the smallest that fits), or NULL.
 * Lines longer than the read buffer pass through buffers of 128 KiB and
 * more, which malloc maps and unmaps for each: taking the pages back
 * costs a page fault per 4 KiB on the next long line. */
static gpointer
big_take (JunoConnectionContext *ctx, gsize min, gsize *size)
{
  guint best = G_N_ELEMENTS (ctx->big_spares);
  gpointer block;

  for (guint i = 0; i < G_N_ELEMENTS (ctx->big_spares); i++)
    if (ctx->big_spares[i].block != NULL && ctx->big_spares[i].size >= min &&
        (best == G_N_ELEMENTS (ctx->big_spares) || ctx->big_spares[i].size < ctx->big_spares[best].size))
      best = i;
  if (best == G_N_ELEMENTS (ctx->big_spares))
    return NULL;
  block = g_steal_pointer (&ctx->big_spares[best].block);
  *size = ctx->big_spares[best].size;
  ctx->big_spares[best].size = 0;
  ctx->big_spares_used = g_get_monotonic_time ();
  return block;
}

/* Keeps @block (@size bytes) for the next long line, in place of the
 * smallest kept one; all are freed BIG_SPARES_KEEP_SEC after their last
 * use, so an idle broker holds none. */
static void
big_give (JunoConnectionContext *ctx, gpointer block, gsize size)
{
  guint slot = 0;

  for (guint i = 1; i < G_N_ELEMENTS (ctx->big_spares); i++)
    if (ctx->big_spares[i].size < ctx->big_spares[slot].size)
      slot = i;
  if (ctx->big_spares[slot].block != NULL && ctx->big_spares[slot].size >= size)
    {
      g_free (block);
      return;
    }
  g_free (ctx->big_spares[slot].block);
  ctx->big_spares[slot].block = block;
  ctx->big_spares[slot].size = size;
  ctx->big_spares_used = g_get_monotonic_time ();
  if (ctx->big_spares_timer == NULL)
    {
      ctx->big_spares_timer = g_timeout_source_new_seconds (BIG_SPARES_KEEP_SEC);
      g_source_set_callback (ctx->big_spares_timer, on_big_spares_timer, ctx, NULL);
      g_source_set_static_name (ctx->big_spares_timer, "juno long-line buffers");
      g_source_attach (ctx->big_spares_timer, g_main_context_get_thread_default ());
    }
}

/* A chunk of at least @len bytes; standard-size ones come from the spares,
 * big ones from the buffers kept for long lines. */
static Chunk *
chunk_new (JunoConnectionContext *ctx, gsize len)
{
  gsize cap = MAX (CHUNK_SIZE, len);
  Chunk *chunk = NULL;

  if (cap == CHUNK_SIZE && ctx->n_spare_chunks > 0)
    chunk = ctx->spare_chunks[--ctx->n_spare_chunks];
  else if (cap > CHUNK_SIZE)
    {
      gsize size;

      chunk = big_take (ctx, sizeof (Chunk) + cap, &size);
      if (chunk != NULL)
        cap = size - sizeof (Chunk);
    }
  if (chunk == NULL)
    chunk = g_malloc (sizeof (Chunk) + cap);
  chunk->len = chunk->off = 0;
  chunk->cap = cap;
  chunk->link.data = chunk;
  chunk->link.prev = chunk->link.next = NULL;
  return chunk;
}

static void
chunk_release (JunoConnectionContext *ctx, Chunk *chunk)
{
  if (chunk->cap == CHUNK_SIZE && ctx->n_spare_chunks < G_N_ELEMENTS (ctx->spare_chunks))
    ctx->spare_chunks[ctx->n_spare_chunks++] = chunk;
  else if (chunk->cap > CHUNK_SIZE)
    big_give (ctx, chunk, sizeof (Chunk) + chunk->cap);
  else
    g_free (chunk);
}

void
juno_connection_context_clear (JunoConnectionContext *ctx)
{
  while (ctx->n_spare_chunks > 0)
    g_free (ctx->spare_chunks[--ctx->n_spare_chunks]);
  big_spares_free (ctx);
}

static void
mark_dirty (JunoConnection *self)
{
  if (self->dirty || (self->handler.events & EPOLLOUT))
    return;
  self->dirty = TRUE;
  g_queue_push_tail_link (&self->ctx->dirty, &self->dirty_link);
}

static void flush_dirty (JunoConnectionContext *ctx);

static void
cut_off (JunoConnection *self, const char *why)
{
  juno_broker_report_cut_off (self->ctx->broker, self->endpoint, why);
  juno_connection_close (self, why);
}

/* Room for @len more bytes of output in the total: write out what the
 * sockets take now, then cut off the largest backlogs until it fits. */
static void
make_room (JunoConnectionContext *ctx, gsize len)
{
  flush_dirty (ctx);
  while (ctx->total_output + len > ctx->max_total_buffer && ctx->queued.length > 0)
    {
      JunoConnection *largest = NULL;

      for (GList *l = ctx->queued.head; l != NULL; l = l->next)
        {
          JunoConnection *conn = l->data;

          if (largest == NULL || conn->out_bytes > largest->out_bytes)
            largest = conn;
        }
      if (largest == NULL)
        break;
      cut_off (largest, "the largest backlog when the output of all connections reached --max-total-buffer");
    }
}

/* Room for @len more bytes of output of @user's: write out what the
 * sockets take now, then cut off that user's largest backlogs until it
 * fits. Other users' connections are left alone. */
static void
make_room_for_user (JunoConnectionContext *ctx, JunoUser *user, gsize len)
{
  flush_dirty (ctx);
  while (!juno_user_output_fits (ctx->broker, user, len))
    {
      JunoConnection *largest = NULL;

      for (GList *l = ctx->queued.head; l != NULL; l = l->next)
        {
          JunoConnection *conn = l->data;

          if (conn->user == user && (largest == NULL || conn->out_bytes > largest->out_bytes))
            largest = conn;
        }
      if (largest == NULL)
        break;
      cut_off (largest, "the largest backlog of its user when that user's output reached --max-output-per-user");
    }
}

static void
connection_send (gpointer user_data, const char *data, gsize len)
{
  JunoConnection *self = user_data;
  JunoConnectionContext *ctx = self->ctx;
  Chunk *tail;

  if (self->closing)
    return;
  if (self->out_bytes + len > ctx->max_output_backlog)
    {
      cut_off (self, "more unread output than --max-output-backlog");
      return;
    }
  if (!juno_user_output_fits (ctx->broker, self->user, len))
    {
      make_room_for_user (ctx, self->user, len);
      if (self->closing)
        return;
      if (!juno_user_output_fits (ctx->broker, self->user, len))
        {
          cut_off (self, "its user's output would pass --max-output-per-user");
          return;
        }
    }
  if (ctx->total_output + len > ctx->max_total_buffer)
    {
      make_room (ctx, len);
      if (self->closing)
        return;
    }

  tail = self->out.tail ? self->out.tail->data : NULL;
  if (tail == NULL || tail->cap - tail->len < len)
    {
      tail = chunk_new (ctx, len);
      g_queue_push_tail_link (&self->out, &tail->link);
    }
  memcpy (tail->data + tail->len, data, len);
  tail->len += len;
  if (self->out_bytes == 0)
    g_queue_push_tail_link (&ctx->queued, &self->queued_link);
  self->out_bytes += len;
  ctx->total_output += len;
  juno_user_charge_output (self->user, len);
  mark_dirty (self);
}

static const JunoEndpointFuncs connection_funcs = {
  .send = connection_send,
};

JunoConnection *
juno_connection_new (JunoConnectionContext *ctx, int fd, const char *transport, GError **error)
{
  JunoConnection *self = g_new0 (JunoConnection, 1);

  self->handler.func = on_connection_events;
  self->handler.fd = fd;
  self->ctx = ctx;
  self->dirty_link.data = self;
  self->closing_link.data = self;
  self->queued_link.data = self;
  if (!juno_poller_add (ctx->poller, &self->handler, EPOLLIN, error))
    {
      g_free (self);
      return NULL;
    }

  self->endpoint = juno_broker_add_endpoint (ctx->broker, &connection_funcs, self, transport);
  juno_peer_identify (self->endpoint, fd);
  self->user = juno_endpoint_get_user_account (self->endpoint);
  if (!juno_endpoint_get_admitted (self->endpoint))
    {
      /* over its user's quota: one error line (a new socket's buffer has
       * room for it), then the connection goes */
      static const char refusal[] = "{\"requestId\":\"" JUNO_UNDEFINED_REQUEST_ID "\",\"type\":0,\"error\":"
                                    G_STRINGIFY (JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED_VALUE) "}\n";

      if (send (fd, refusal, sizeof refusal - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        g_debug ("Could not tell a refused connection why: %s", g_strerror (errno));
      juno_connection_close (self, "over its user's quota of connections");
    }
  return self;
}

/* Drops its queued output and gives it back to the total. */
static void
release_output (JunoConnection *self)
{
  GList *link;

  while ((link = g_queue_pop_head_link (&self->out)) != NULL)
    chunk_release (self->ctx, link->data);
  if (self->out_bytes > 0)
    g_queue_unlink (&self->ctx->queued, &self->queued_link);
  self->ctx->total_output -= self->out_bytes;
  juno_user_release_output (self->user, self->out_bytes);
  self->out_bytes = 0;
}

void
juno_connection_free (JunoConnection *self)
{
  char discard[4096];

  release_output (self);
  self->ctx->total_partial -= self->partial_cap;
  g_free (self->partial);
  /* A Unix socket closed with input still unread resets its peer
   * (ECONNRESET) instead of giving it an orderly end of file: read away
   * what the peer sent that will not be handled (lines in flight when the
   * broker shuts down or cuts it off). Bounded: at most 16 reads. */
  for (int i = 0; i < 16 && recv (self->handler.fd, discard, sizeof discard, MSG_DONTWAIT) > 0; i++)
    ;
  close (self->handler.fd);
  g_free (self);
}

void
juno_connection_close (JunoConnection *self, const char *reason)
{
  if (self->closing)
    return;
  self->closing = TRUE;
  g_debug ("Closing connection %" G_GUINT64_FORMAT ": %s", juno_endpoint_get_id (self->endpoint), reason);
  juno_poller_remove (self->ctx->poller, &self->handler);
  /* nothing more is written to it; its partial line stays until it is
   * freed, as the broker may be reading a line from it right now */
  release_output (self);
  /* nothing more is charged to its user, whose account goes with the
   * broker's endpoint, possibly before this connection is freed */
  self->user = NULL;
  g_queue_push_tail_link (&self->ctx->closing, &self->closing_link);
}

/* After a half-close: closed once nothing it waits for is left. */
static void
close_if_drained (JunoConnection *self)
{
  if (self->eof && !self->closing && self->out_bytes == 0 &&
      juno_endpoint_get_n_calls_waiting (self->endpoint) == 0)
    juno_connection_close (self, "closed by the peer");
}

/* Writes as much queued output as the socket takes now. */
static void
flush (JunoConnection *self)
{
  while (self->out.length > 0)
    {
      struct iovec iov[MAX_IOV];
      struct msghdr msg = { .msg_iov = iov };
      gsize total = 0;
      gssize written;

      for (GList *l = self->out.head; l != NULL && msg.msg_iovlen < MAX_IOV; l = l->next)
        {
          Chunk *chunk = l->data;

          iov[msg.msg_iovlen].iov_base = chunk->data + chunk->off;
          iov[msg.msg_iovlen].iov_len = chunk->len - chunk->off;
          total += chunk->len - chunk->off;
          msg.msg_iovlen++;
        }

      do
        written = sendmsg (self->handler.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      while (written < 0 && errno == EINTR);
      if (written < 0)
        {
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
          juno_connection_close (self, g_strerror (errno));
          return;
        }

      self->out_bytes -= (gsize) written;
      self->ctx->total_output -= (gsize) written;
      juno_user_release_output (self->user, (gsize) written);
      if (self->out_bytes == 0)
        g_queue_unlink (&self->ctx->queued, &self->queued_link);
      for (gsize left = (gsize) written; left > 0;)
        {
          Chunk *chunk = self->out.head->data;
          gsize in_chunk = chunk->len - chunk->off;

          if (left < in_chunk)
            {
              chunk->off += left;
              break;
            }
          left -= in_chunk;
          chunk_release (self->ctx, g_queue_pop_head_link (&self->out)->data);
        }
      if ((gsize) written < total)
        break; /* a short write: the socket buffer is full */
    }

  juno_poller_modify (self->ctx->poller, &self->handler,
                      (self->eof ? 0 : EPOLLIN) | (self->out.length > 0 ? EPOLLOUT : 0));
  close_if_drained (self);
}

static void
handle_line (JunoConnection *self, const char *line, gsize len)
{
  if (len > self->ctx->max_message_size)
    {
      juno_broker_report_oversized (self->ctx->broker, self->endpoint);
      return;
    }
  if (len == 0)
    return; /* blank lines between messages are harmless */
  juno_broker_handle_line (self->ctx->broker, self->endpoint, line, len);
}

/* Drops the partial line and the rest of it, up to its '\n'. */
static void
discard_partial (JunoConnection *self)
{
  self->ctx->total_partial -= self->partial_cap;
  g_clear_pointer (&self->partial, g_free);
  self->partial_len = self->partial_cap = 0;
  self->discarding = TRUE;
}

static void
keep_partial (JunoConnection *self, const char *data, gsize len)
{
  JunoConnectionContext *ctx = self->ctx;
  gsize needed = self->partial_len + len;

  if (needed > ctx->max_message_size)
    {
      /* too long already: report once, then drop up to the newline */
      discard_partial (self);
      juno_broker_report_oversized (ctx->broker, self->endpoint);
      return;
    }
  if (needed > self->partial_cap)
    {
      gsize cap = MAX (needed, MAX (self->partial_cap * 2, 256));
      char *spare = NULL;

      cap = MIN (cap, ctx->max_message_size);
      if (cap > CHUNK_SIZE)
        {
          gsize size;

          spare = big_take (ctx, needed, &size);
          if (spare != NULL)
            cap = size;
        }
      if (ctx->total_partial - self->partial_cap + cap > ctx->max_total_buffer)
        {
          if (spare != NULL)
            big_give (ctx, spare, cap);
          discard_partial (self);
          juno_broker_report_over_total (ctx->broker, self->endpoint);
          return;
        }
      ctx->total_partial += cap - self->partial_cap;
      if (spare != NULL)
        {
          if (self->partial_len > 0)
            memcpy (spare, self->partial, self->partial_len);
          if (self->partial_cap > CHUNK_SIZE)
            big_give (ctx, self->partial, self->partial_cap);
          else
            g_free (self->partial);
          self->partial = spare;
        }
      else
        self->partial = g_realloc (self->partial, cap);
      self->partial_cap = cap;
    }
  memcpy (self->partial + self->partial_len, data, len);
  self->partial_len = needed;
}

static void
process_input (JunoConnection *self, const char *p, gsize n)
{
  const char *end = p + n;

  while (p < end && !self->closing)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));

      if (nl == NULL)
        {
          if (!self->discarding)
            keep_partial (self, p, (gsize) (end - p));
          return;
        }

      if (self->discarding)
        self->discarding = FALSE;
      else if (self->partial_len > 0)
        {
          keep_partial (self, p, (gsize) (nl - p));
          if (self->partial_len > 0)
            handle_line (self, self->partial, self->partial_len);
          else
            self->discarding = FALSE; /* the oversized line ends here */
          self->partial_len = 0;
          if (self->partial_cap > CHUNK_SIZE)
            {
              self->ctx->total_partial -= self->partial_cap;
              big_give (self->ctx, g_steal_pointer (&self->partial), self->partial_cap);
              self->partial_cap = 0;
            }
        }
      else
        handle_line (self, p, (gsize) (nl - p));
      p = nl + 1;
    }
}

/* Writes what the lines of one read produced before the next read, so
 * the peers start on it while the other connections are read. */
static void
flush_dirty (JunoConnectionContext *ctx)
{
  GList *link;

  while ((link = g_queue_pop_head_link (&ctx->dirty)) != NULL)
    {
      JunoConnection *conn = link->data;

      conn->dirty = FALSE;
      if (!conn->closing)
        flush (conn);
    }
}

static void
on_connection_events (JunoPollHandler *handler, guint32 events)
{
  JunoConnection *self = (JunoConnection *) handler;
  gssize n;

  if (self->closing)
    return;
  if (events & EPOLLOUT)
    flush (self);
  if (self->eof && (events & (EPOLLHUP | EPOLLERR)) && !self->closing)
    juno_connection_close (self, "closed by the peer"); /* no one left to answer */
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || self->closing || self->eof)
    return;

  do
    n = read (handler->fd, self->ctx->read_buffer, self->ctx->read_buffer_size);
  while (n < 0 && errno == EINTR);

  if (n == 0)
    {
      /* the peer shut down its write side: a last line without its '\n'
       * still counts, and what it waits for is still written */
      self->eof = TRUE;
      if (self->partial_len > 0 && !self->discarding)
        handle_line (self, self->partial, self->partial_len);
      self->partial_len = 0;
      flush_dirty (self->ctx);
      if (!self->closing)
        flush (self);
    }
  else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    juno_connection_close (self, g_strerror (errno));
  else if (n > 0)
    {
      process_input (self, self->ctx->read_buffer, (gsize) n);
      flush_dirty (self->ctx);
    }
}

gboolean
juno_connection_context_pending (JunoConnectionContext *ctx)
{
  return ctx->closing.length > 0 || ctx->dirty.length > 0;
}

void
juno_connection_context_run (JunoConnectionContext *ctx)
{
  while (juno_connection_context_pending (ctx))
    {
      GList *link;

      while ((link = g_queue_pop_head_link (&ctx->closing)) != NULL)
        {
          JunoConnection *conn = link->data;

          if (conn->dirty)
            {
              g_queue_unlink (&ctx->dirty, &conn->dirty_link);
              conn->dirty = FALSE;
            }
          juno_broker_remove_endpoint (ctx->broker, conn->endpoint);
          conn->endpoint = NULL;
          ctx->closed (conn, ctx->closed_data);
        }

      flush_dirty (ctx);
    }
}
