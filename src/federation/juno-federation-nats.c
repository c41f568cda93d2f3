/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-federation-nats.c: brokers on many hosts, federated over NATS
 *
 * The loadable module juno-federation.so (juno-federation.h says why):
 * the daemon finds juno_federation_module_entry with g_module_symbol and
 * calls what it returns; everything else here is the module's own.
 *
 * Subjects, all under P = "juno.<federation>" (docs/federation.md):
 *
 *   P.hb                      heartbeat: name, instance, generation, count
 *   P.state                   one change of a broker's modules (generation + 1)
 *   P.sync.<instance>         ask that broker for all its modules; pages come
 *                             back on the request's reply subject P.page.<asker>
 *   P.discover                a broker (re)joins: everyone beats at once
 *   P.bye                     a broker leaves cleanly
 *   P.call.<module>.<major>   a call, queue group "juno"; reply subject
 *                             P.reply.<instance>.<proxy connection id>
 *   P.hook.<module>.<hook>    a hook's data (hook name %XX-encoded)
 *
 * What the other brokers say is state, applied in batches
 * (APPLY_DELAY_MS) to the proxies: one endpoint per remote moduleId, which
 * yields its name to a local module of the same moduleId
 * (juno_endpoint_set_yields_name) and takes it back when that one leaves.
 *
 * Everything a remote broker sends is untrusted: each message is bounded
 * (size, counts, names), checked with the protocol's grammar
 * (juno_json_normalize, juno_message_parse) before json-glib reads it, and
 * dropped, counted and logged (rate limited) when wrong.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <gmodule.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>

#include "juno-common.h"
#include "juno-federation.h"
#include "juno-federation-module.h"
#include "juno-federation-wire.h"
#include "juno-poller.h"
#include "juno-protocol.h"
#include "juno-semver.h"

#include <nats/nats.h>

#define QUEUE_GROUP "juno"
/* remote changes are applied in batches: no flapping */
#define APPLY_DELAY_MS 50
/* bounds on what other brokers may make this one hold */
#define MAX_BROKERS 256
#define MAX_MODULES_PER_BROKER 65536
/* all other brokers' modules together, and what they take here */
#define MAX_REMOTE_MODULES 65536
#define MAX_REMOTE_BYTES (64 * 1024 * 1024)
#define MAX_INBOUND_MESSAGES 16384
#define MAX_INBOUND_BYTES (64 * 1024 * 1024)
#define MAX_DRAIN_PER_TURN 256
#define MAX_SYNC_ANSWERS_PER_SECOND 20
#define SYNC_PAGE_BYTES (256 * 1024)
#define SYNC_RETRY_USEC (1 * G_USEC_PER_SEC)
#define LOG_WINDOW_USEC (10 * G_USEC_PER_SEC)
#define LOG_LINES_PER_WINDOW 10

enum
{
  PROP_0,
  PROP_BROKER_NAME,
  PROP_STATE,
  PROP_BROKERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The type is the module's: registered once, the module staying loaded */
typedef struct
{
  GObjectClass parent_class;
} JunoFederationClass;

static GType juno_federation_get_type (void);
#define JUNO_TYPE_FEDERATION (juno_federation_get_type ())
#define JUNO_FEDERATION(obj) (G_TYPE_CHECK_INSTANCE_CAST ((obj), JUNO_TYPE_FEDERATION, JunoFederation))
#define JUNO_IS_FEDERATION(obj) (G_TYPE_CHECK_INSTANCE_TYPE ((obj), JUNO_TYPE_FEDERATION))

static void federation_stop (JunoFederation *self);

typedef enum
{
  KIND_HEARTBEAT,
  KIND_STATE,
  KIND_SYNC,
  KIND_PAGE,
  KIND_DISCOVER,
  KIND_BYE,
  KIND_CALL,
  KIND_REPLY,
  KIND_HOOK,
  KIND_CONNECTED,
  KIND_DISCONNECTED,
  KIND_RECONNECTED,
  KIND_CLOSED,
  KIND_ASYNC_ERROR,
  N_KINDS
} Kind;

/* closures of cnats callbacks: static, so a late callback never reads
 * freed memory */
static const int kinds[N_KINDS] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
#define KIND_CLOSURE(k) ((void *) &kinds[(k)])

typedef struct
{
  Kind kind;
  natsMsg *msg; /* NULL for connection events */
  natsStatus status;
  const char *target; /* the subscription's moduleId or hook, for calls and hooks */
} Inbound;

/* Where cnats threads leave what they receive, for the main thread. One
 * per process, never freed: a callback that comes after the federation is
 * gone finds no owner and drops what it holds. */
static struct
{
  GMutex lock;
  JunoFederation *owner;
  GMainContext *context;
  GQueue queue;          /* Inbound */
  gsize bytes;
  gboolean wake_pending;
  guint64 overflow;      /* dropped for the bounds */
} inbox;

/* The NATS socket, in the broker's epoll set (libnats's event loop
 * interface): libnats writes and reads only when the main loop says the
 * socket is ready, so everything published in one main-loop turn leaves
 * in one write, at once, rather than after libnats's flusher thread has
 * waited a millisecond for more. libnats calls attach, read, write and
 * detach from the main thread (publishing, reading) or from its reconnect
 * and ping threads; the latter only record what they want and wake the
 * main context, which applies it. One per process, like the inbox. */
static struct
{
  GMutex lock;
  JunoPoller *poller;      /* main thread */
  JunoFederation *owner;   /* main thread */
  GThread *main_thread;
  GMainContext *context;
  JunoPollHandler handler; /* main thread: the descriptor in the set */
  gboolean registered;     /* main thread */
  natsConnection *nc;
  int fd;                  /* the socket libnats gave last; -1 once detached */
  gboolean fd_changed;
  guint32 want;            /* EPOLLIN, EPOLLOUT */
  gboolean apply_pending;
} nats_link;

typedef struct
{
  char *instance;
  char *name;
  guint64 gen;
  gint64 last_seen;
  gboolean synced;
  gint64 sync_asked;       /* monotonic time of the last sync request; 0: none */
  GHashTable *modules;     /* moduleId -> JunoRemoteModule */
  /* the snapshot being received */
  GHashTable *snapshot;    /* moduleId -> JunoRemoteModule; NULL when none */
  guint64 snapshot_gen;
  guint next_page;
  JunoEndpoint *client;    /* its calls come from here; NULL until it calls */
} RemoteBroker;

typedef struct
{
  JunoFederation *fed;
  JunoEndpoint *ep;        /* NULL once gone, or when the broker refused it */
  char *id;
  char *version_text;
  JunoVersion version;
  char *call_subject;
  char *reply_subject;
  GHashTable *functions;   /* declared so far (a set) */
  guint instances;         /* remote instances of its major */
  guint64 round;           /* --federation-balance=spread */
  gboolean spread_ok;      /* a local holder of the same major exists */
} Proxy;

/* A subscription. All are synchronous: libnats parses what the socket
 * brings in natsConnection_ProcessReadEvent, on the main thread, and the
 * main thread takes the messages right after, with no thread between. */
typedef struct
{
  JunoFederation *fed;
  natsSubscription *sub;
  Kind kind;
  char *target;            /* moduleId (calls), "module.hook" (hooks), NULL */
  GList link;              /* in fed->polled */
} Sub;

typedef struct
{
  JunoFederation *fed;
  char *reply;
  char *token;             /* the caller broker's requestId, JSON literal */
} RemoteCall;

typedef struct
{
  guint64 reconnects;
  guint64 calls_out;
  guint64 calls_in;
  guint64 calls_failed;
  guint64 hooks_out;
  guint64 hooks_in;
  guint64 dropped;
} FederationStats;

struct _JunoFederation
{
  GObject parent_instance;

  JunoBroker *broker;
  char *prefix;            /* "juno.<federation>" */
  char *name;
  char instance[17];
  gint64 heartbeat_usec;
  gint64 timeout_usec;
  gboolean spread;
  const char *state;
  char *server;            /* the URL connected to; "" when none */

  natsOptions *opts;
  natsConnection *nc;
  GPtrArray *fixed_subs;   /* Sub: heartbeats, state, sync, pages, ... */
  GQueue polled;           /* Sub via link, every subscription, the last to bring a message first */
  GPtrArray *draining;     /* Sub: call subscriptions being drained */
  natsStatistics *nats_stats;
  guint64 in_seen;         /* messages libnats had received at the last poll */
  GHashTable *call_subs;   /* subject -> Sub */
  GHashTable *hook_subs;   /* subject -> Sub */
  char *page_subject;      /* P.page.<instance> */
  char *reply_prefix;      /* P.reply.<instance>. */

  /* this broker's modules, as announced */
  GHashTable *announced;   /* moduleId -> module JSON (owned) */
  guint64 gen;
  GHashTable *local_ids;   /* moduleId -> major (GUINT_TO_POINTER (major + 1)): local active holders */

  /* the others */
  GHashTable *brokers;     /* instance -> RemoteBroker */
  GHashTable *proxies;     /* moduleId -> Proxy */
  GHashTable *proxy_eps;   /* connection id (guint64 *) -> Proxy, for replies */
  GHashTable *client_eps;  /* JunoEndpoint * (set): the clients remote calls come from */
  GHashTable *remote_listens; /* "module.hook" -> count of remote modules listening */
  guint remote_count;      /* modules of all other brokers */
  gsize remote_bytes;      /* an estimate of what they take */
  GHashTable *dirty;       /* moduleIds whose proxy or instances must be recomputed */
  JunoEndpoint *stranger;  /* calls from brokers not yet known */
  guint apply_id;
  guint local_id;
  guint heartbeat_id;
  guint failed_id;
  GQueue failed;           /* char *: "<proxy id> <token>" calls that could not be sent */
  gboolean stopped;

  gint64 sync_window_start;
  guint sync_answers;
  gint64 log_window_start;
  guint log_lines;
  guint log_suppressed;

  FederationStats stats;
  gulong handlers[6];
};

G_DEFINE_FINAL_TYPE (JunoFederation, juno_federation, G_TYPE_OBJECT)

static void schedule_apply (JunoFederation *self);
static void schedule_local (JunoFederation *self);

/* ------------------------------------------------------------------ */
/* Small things                                                        */
/* ------------------------------------------------------------------ */

static void
log_dropped (JunoFederation *self, const char *subject, const char *why)
{
  gint64 now = g_get_monotonic_time ();

  self->stats.dropped++;
  if (now - self->log_window_start >= LOG_WINDOW_USEC)
    {
      if (self->log_suppressed > 0)
        g_message ("%u more dropped NATS messages not logged", self->log_suppressed);
      self->log_window_start = now;
      self->log_lines = 0;
      self->log_suppressed = 0;
    }
  if (self->log_lines >= LOG_LINES_PER_WINDOW)
    {
      self->log_suppressed++;
      return;
    }
  self->log_lines++;
  g_warning ("Dropped a NATS message on %s: %s", subject ? subject : "?", why);
}

/* A hook name as one subject token: [A-Za-z0-9_-] as they are, every
 * other byte as %XX. */
static void
append_token (GString *out, const char *name)
{
  for (const guchar *p = (const guchar *) name; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p) || *p == '_' || *p == '-')
        g_string_append_c (out, (char) *p);
      else
        g_string_append_printf (out, "%%%02X", *p);
    }
}

static char *
hook_subject (JunoFederation *self, const char *address)
{
  const char *dot = strchr (address, '.');
  GString *s = g_string_new (self->prefix);

  g_string_append (s, ".hook.");
  g_string_append_len (s, address, dot - address);
  g_string_append_c (s, '.');
  append_token (s, dot + 1);
  return g_string_free (s, FALSE);
}

static char *
call_subject (JunoFederation *self, const char *module_id, guint64 major)
{
  return g_strdup_printf ("%s.call.%s.%" G_GUINT64_FORMAT, self->prefix, module_id, major);
}

static void
publish (JunoFederation *self, const char *subject, const char *reply, const char *data, gsize len)
{
  if (self->nc == NULL)
    return;
  if (reply != NULL)
    natsConnection_PublishRequest (self->nc, subject, reply, data, (int) len);
  else
    natsConnection_Publish (self->nc, subject, data, (int) len);
}

static void
publish_string (JunoFederation *self, const char *suffix, GString *text)
{
  g_autofree char *subject = g_strconcat (self->prefix, ".", suffix, NULL);

  publish (self, subject, NULL, text->str, text->len);
}

static GString *
begin_control (JunoFederation *self)
{
  GString *s = g_string_new ("{\"v\":1,\"broker\":");

  juno_json_append_string (s, self->name);
  g_string_append (s, ",\"instance\":\"");
  g_string_append (s, self->instance);
  g_string_append_c (s, '"');
  return s;
}

static void
sub_free (gpointer data)
{
  Sub *sub = data;

  if (sub->sub != NULL)
    {
      natsSubscription_Unsubscribe (sub->sub);
      natsSubscription_Destroy (sub->sub);
    }
  if (sub->fed != NULL)
    g_queue_unlink (&sub->fed->polled, &sub->link);
  g_free (sub->target);
  g_free (sub);
}

/* A synchronous subscription, polled after each read. */
static Sub *
sub_new (JunoFederation *self, const char *subject, const char *queue, Kind kind, const char *target,
         natsStatus *status)
{
  Sub *sub = g_new0 (Sub, 1);

  *status = queue != NULL ? natsConnection_QueueSubscribeSync (&sub->sub, self->nc, subject, queue)
                          : natsConnection_SubscribeSync (&sub->sub, self->nc, subject);
  if (*status != NATS_OK)
    {
      sub->sub = NULL;
      sub_free (sub);
      return NULL;
    }
  sub->fed = self;
  sub->kind = kind;
  sub->target = g_strdup (target);
  sub->link.data = sub;
  g_queue_push_head_link (&self->polled, &sub->link);
  return sub;
}

/* ------------------------------------------------------------------ */
/* From cnats threads to the main thread                               */
/* ------------------------------------------------------------------ */

static gboolean drain (gpointer data);

/* From any thread: @func runs once on @context's thread, soon. */
static void
attach_idle (GMainContext *context, int priority, GSourceFunc func, const char *name)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, priority);
  g_source_set_callback (source, func, NULL, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, context);
  g_source_unref (source);
}

static void
inbox_push (Kind kind, natsMsg *msg, natsStatus status)
{
  gboolean wake = FALSE;
  gsize len = msg != NULL ? (gsize) natsMsg_GetDataLength (msg) : 0;

  g_mutex_lock (&inbox.lock);
  if (inbox.owner == NULL ||
      (msg != NULL && (inbox.queue.length >= MAX_INBOUND_MESSAGES || inbox.bytes + len > MAX_INBOUND_BYTES)))
    {
      if (inbox.owner != NULL)
        inbox.overflow++;
      g_mutex_unlock (&inbox.lock);
      if (msg != NULL)
        natsMsg_Destroy (msg);
      return;
    }
  {
    Inbound *in = g_new (Inbound, 1);

    in->kind = kind;
    in->msg = msg;
    in->status = status;
    g_queue_push_tail (&inbox.queue, in);
    inbox.bytes += len;
  }
  if (!inbox.wake_pending)
    {
      inbox.wake_pending = TRUE;
      wake = TRUE;
    }
  if (wake)
    attach_idle (inbox.context, G_PRIORITY_DEFAULT, drain, "juno-federation-inbox");
  g_mutex_unlock (&inbox.lock);
}

static void
on_nats_event (natsConnection *nc, void *closure)
{
  inbox_push ((Kind) *(const int *) closure, NULL, NATS_OK);
}

static void
on_nats_error (natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
  inbox_push (KIND_ASYNC_ERROR, NULL, err);
}

static void handle_inbound (JunoFederation *self, Inbound *in);

static gboolean
drain (gpointer data)
{
  JunoFederation *self;
  GQueue batch = G_QUEUE_INIT;
  guint64 overflow;
  gboolean more;

  g_mutex_lock (&inbox.lock);
  self = inbox.owner;
  for (guint i = 0; i < MAX_DRAIN_PER_TURN && inbox.queue.length > 0; i++)
    {
      Inbound *in = g_queue_pop_head (&inbox.queue);

      if (in->msg != NULL)
        inbox.bytes -= (gsize) natsMsg_GetDataLength (in->msg);
      g_queue_push_tail (&batch, in);
    }
  overflow = inbox.overflow;
  inbox.overflow = 0;
  more = inbox.queue.length > 0;
  if (!more)
    inbox.wake_pending = FALSE;
  if (self != NULL)
    g_object_ref (self);
  g_mutex_unlock (&inbox.lock);

  if (self != NULL && overflow > 0)
    {
      self->stats.dropped += overflow;
      g_warning ("Dropped %" G_GUINT64_FORMAT " NATS messages: more were waiting than the broker holds", overflow);
    }
  while (batch.length > 0)
    {
      Inbound *in = g_queue_pop_head (&batch);

      if (self != NULL && !self->stopped)
        handle_inbound (self, in);
      if (in->msg != NULL)
        natsMsg_Destroy (in->msg);
      g_free (in);
    }
  g_clear_object (&self);
  return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* The NATS socket in the main loop                                     */
/* ------------------------------------------------------------------ */

static void handle_inbound (JunoFederation *self, Inbound *in);

/* Takes what the last read brought, subscription by subscription, until
 * as many messages as libnats counted are handled: the busy ones are
 * first in line, so a broker with many idle subscriptions does not look
 * at them for each message. */
static void
poll_subscriptions (JunoFederation *self)
{
  uint64_t in_msgs = 0;
  guint64 left;
  GList *l;

  if (natsConnection_GetStats (self->nc, self->nats_stats) != NATS_OK ||
      natsStatistics_GetCounts (self->nats_stats, &in_msgs, NULL, NULL, NULL, NULL) != NATS_OK)
    return;
  left = in_msgs - self->in_seen;
  self->in_seen = in_msgs;
  for (l = self->polled.head; l != NULL && left > 0 && !self->stopped;)
    {
      Sub *sub = l->data;
      GList *next = l->next;
      uint64_t queued = 0;

      if (natsSubscription_QueuedMsgs (sub->sub, &queued) == NATS_OK && queued > 0)
        {
          g_queue_unlink (&self->polled, l);
          g_queue_push_head_link (&self->polled, l);
          for (; queued > 0 && !self->stopped; queued--)
            {
              Inbound in = { sub->kind, NULL, NATS_OK, sub->target };
              natsStatus status = natsSubscription_NextMsg (&in.msg, sub->sub, 0);

              if (status != NATS_OK)
                {
                  if (status == NATS_SLOW_CONSUMER)
                    log_dropped (self, natsSubscription_GetSubject (sub->sub),
                                 "more messages waited than libnats holds for one subscription");
                  break;
                }
              left = left > 0 ? left - 1 : 0;
              handle_inbound (self, &in);
              natsMsg_Destroy (in.msg);
            }
        }
      l = next;
    }
}

static void
on_nats_socket (JunoPollHandler *handler, guint32 events)
{
  natsConnection *nc = nats_link.nc;
  JunoFederation *self = nats_link.owner;

  if (nc == NULL)
    return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    {
      natsConnection_ProcessReadEvent (nc);
      if (self != NULL && self->nc == nc)
        poll_subscriptions (self);
    }
  if (events & EPOLLOUT)
    natsConnection_ProcessWriteEvent (nc);
}

/* Main thread: brings the epoll set in line with what libnats asked. */
static void
link_apply (void)
{
  g_autoptr(GError) error = NULL;
  gboolean changed;
  guint32 want;
  int fd;

  g_mutex_lock (&nats_link.lock);
  nats_link.apply_pending = FALSE;
  changed = nats_link.fd_changed;
  nats_link.fd_changed = FALSE;
  fd = nats_link.fd;
  want = nats_link.want;
  g_mutex_unlock (&nats_link.lock);

  if (nats_link.poller == NULL)
    return;
  if (changed && nats_link.registered)
    {
      /* the old socket may be closed already: its registration went with it */
      juno_poller_remove (nats_link.poller, &nats_link.handler);
      nats_link.registered = FALSE;
    }
  nats_link.handler.fd = fd;
  nats_link.handler.func = on_nats_socket;
  if (fd < 0 || want == 0)
    {
      if (nats_link.registered)
        juno_poller_remove (nats_link.poller, &nats_link.handler);
      nats_link.registered = FALSE;
    }
  else if (!nats_link.registered)
    {
      if (juno_poller_add (nats_link.poller, &nats_link.handler, want, &error))
        nats_link.registered = TRUE;
      else
        g_warning ("Cannot watch the NATS connection: %s", error->message);
    }
  else if (nats_link.handler.events != want)
    juno_poller_modify (nats_link.poller, &nats_link.handler, want);
}

static gboolean
link_apply_idle (gpointer data)
{
  link_apply ();
  return G_SOURCE_REMOVE;
}

/* Called with libnats's connection lock held: never calls libnats. */
static void
link_changed (void)
{
  gboolean schedule = FALSE;

  if (g_thread_self () == nats_link.main_thread)
    {
      link_apply ();
      return;
    }
  g_mutex_lock (&nats_link.lock);
  if (!nats_link.apply_pending && nats_link.context != NULL)
    {
      nats_link.apply_pending = TRUE;
      schedule = TRUE;
    }
  if (schedule)
    attach_idle (nats_link.context, G_PRIORITY_HIGH, link_apply_idle, "juno-federation-link");
  g_mutex_unlock (&nats_link.lock);
}

static natsStatus
ev_attach (void **user_data, void *loop, natsConnection *nc, natsSock socket)
{
  g_mutex_lock (&nats_link.lock);
  nats_link.nc = nc;
  nats_link.fd = (int) socket;
  nats_link.fd_changed = TRUE;
  nats_link.want = EPOLLIN;
  g_mutex_unlock (&nats_link.lock);
  *user_data = &nats_link;
  link_changed ();
  return NATS_OK;
}

static natsStatus
want_event (guint32 event, bool add)
{
  g_mutex_lock (&nats_link.lock);
  nats_link.want = add ? (nats_link.want | event) : (nats_link.want & ~event);
  g_mutex_unlock (&nats_link.lock);
  link_changed ();
  return NATS_OK;
}

static natsStatus
ev_read (void *user_data, bool add)
{
  return want_event (EPOLLIN, add);
}

static natsStatus
ev_write (void *user_data, bool add)
{
  return want_event (EPOLLOUT, add);
}

static natsStatus
ev_detach (void *user_data)
{
  g_mutex_lock (&nats_link.lock);
  nats_link.fd = -1;
  nats_link.fd_changed = TRUE;
  nats_link.want = 0;
  g_mutex_unlock (&nats_link.lock);
  link_changed ();
  return NATS_OK;
}

/* ------------------------------------------------------------------ */
/* Parsing what other brokers send                                     */
/* ------------------------------------------------------------------ */

/* A control message's object (kept alive by *@parser), or NULL after the
 * message was counted and logged as dropped. */
static JsonObject *
parse_control (JunoFederation *self, natsMsg *msg, JsonParser **parser)
{
  const char *why = NULL;
  JsonObject *object = juno_federation_parse_control (natsMsg_GetData (msg), (gsize) MAX (natsMsg_GetDataLength (msg), 0),
                                                      juno_broker_get_max_message_size (self->broker), parser, &why);

  if (object == NULL)
    log_dropped (self, natsMsg_GetSubject (msg), why);
  return object;
}

/* ------------------------------------------------------------------ */
/* Other brokers                                                       */
/* ------------------------------------------------------------------ */

static gsize
module_bytes (JunoRemoteModule *m)
{
  gsize n = 128 + strlen (m->id) + strlen (m->version_text);

  for (guint i = 0; m->functions[i] != NULL; i++)
    n += 24 + strlen (m->functions[i]);
  for (guint i = 0; m->hooks[i] != NULL; i++)
    n += 48 + strlen (m->hooks[i]);
  return n;
}

/* Counts @m in (+1) or out (-1) of what other brokers make this one hold,
 * and of the hooks they listen to. */
static void
listens_update (JunoFederation *self, JunoRemoteModule *m, int delta)
{
  if (delta > 0)
    {
      self->remote_count++;
      self->remote_bytes += module_bytes (m);
    }
  else
    {
      self->remote_count--;
      self->remote_bytes -= module_bytes (m);
    }
  for (guint i = 0; m->hooks[i] != NULL; i++)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->remote_listens, m->hooks[i]));

      if (delta > 0)
        g_hash_table_insert (self->remote_listens, g_strdup (m->hooks[i]), GUINT_TO_POINTER (n + 1));
      else if (n <= 1)
        g_hash_table_remove (self->remote_listens, m->hooks[i]);
      else
        g_hash_table_insert (self->remote_listens, g_strdup (m->hooks[i]), GUINT_TO_POINTER (n - 1));
    }
}

/* Puts @m (owned) in @rb's modules, or takes @id out when @m is NULL. */
static void
set_remote_module (JunoFederation *self, RemoteBroker *rb, const char *id, JunoRemoteModule *m)
{
  JunoRemoteModule *old = g_hash_table_lookup (rb->modules, id);

  if (m != NULL && (self->remote_count + (old == NULL) > MAX_REMOTE_MODULES ||
                    self->remote_bytes - (old ? module_bytes (old) : 0) + module_bytes (m) > MAX_REMOTE_BYTES))
    {
      log_dropped (self, rb->name, "other brokers announce more modules than a broker holds");
      juno_remote_module_free (m);
      return;
    }
  if (old != NULL)
    listens_update (self, old, -1);
  if (m != NULL)
    {
      listens_update (self, m, +1);
      /* replace: the key is the new module's own id */
      g_hash_table_replace (rb->modules, m->id, m);
    }
  else
    g_hash_table_remove (rb->modules, id);
  g_hash_table_add (self->dirty, g_strdup (id));
  schedule_apply (self);
}

static void
remote_broker_free (gpointer data)
{
  RemoteBroker *rb = data;

  g_free (rb->instance);
  g_free (rb->name);
  g_hash_table_unref (rb->modules);
  g_clear_pointer (&rb->snapshot, g_hash_table_unref);
  g_free (rb);
}

static void
notify_brokers (JunoFederation *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BROKERS]);
}

static void
forget_broker (JunoFederation *self, RemoteBroker *rb, const char *why)
{
  GHashTableIter iter;
  gpointer key;
  JunoEndpoint *client = rb->client;

  g_message ("Broker '%s' (%s) is gone from federation %s: %s; its %u modules leave", rb->name, rb->instance,
             self->prefix + strlen ("juno."), why, g_hash_table_size (rb->modules));
  g_hash_table_iter_init (&iter, rb->modules);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (self->dirty, g_strdup (key));
  {
    GList *values = g_hash_table_get_values (rb->modules);

    for (GList *l = values; l != NULL; l = l->next)
      listens_update (self, l->data, -1);
    g_list_free (values);
  }
  g_hash_table_remove (self->brokers, rb->instance);
  if (client != NULL)
    {
      /* its calls still running here end: the answers go nowhere */
      g_hash_table_remove (self->client_eps, client);
      juno_broker_remove_endpoint (self->broker, client);
    }
  schedule_apply (self);
  notify_brokers (self);
}

static void
ask_sync (JunoFederation *self, RemoteBroker *rb)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *subject = NULL;

  if (rb->sync_asked != 0 && now - rb->sync_asked < SYNC_RETRY_USEC)
    return;
  rb->sync_asked = now;
  g_clear_pointer (&rb->snapshot, g_hash_table_unref);
  subject = g_strdup_printf ("%s.sync.%s", self->prefix, rb->instance);
  publish (self, subject, self->page_subject, "{}", 2);
}

static RemoteBroker *
lookup_sender (JunoFederation *self, JsonObject *object, gboolean create, natsMsg *msg)
{
  const char *name = juno_federation_get_string (object, "broker");
  const char *instance = juno_federation_get_string (object, "instance");
  RemoteBroker *rb;

  if (name == NULL || !juno_broker_name_is_valid (name) || !juno_federation_instance_is_valid (instance))
    {
      log_dropped (self, natsMsg_GetSubject (msg), "no valid broker name and instance");
      return NULL;
    }
  if (g_str_equal (instance, self->instance))
    return NULL; /* our own, through a server that echoes */
  rb = g_hash_table_lookup (self->brokers, instance);
  if (rb != NULL)
    {
      if (!g_str_equal (rb->name, name))
        {
          log_dropped (self, natsMsg_GetSubject (msg), "a known instance under another name");
          return NULL;
        }
      return rb;
    }
  if (!create)
    return NULL;
  if (g_hash_table_size (self->brokers) >= MAX_BROKERS)
    {
      log_dropped (self, natsMsg_GetSubject (msg), "too many brokers in the federation");
      return NULL;
    }
  if (g_str_equal (name, self->name))
    g_warning ("Another broker of federation %s is named '%s' too: listings cannot tell them apart",
               self->prefix + strlen ("juno."), name);
  rb = g_new0 (RemoteBroker, 1);
  rb->instance = g_strdup (instance);
  rb->name = g_strdup (name);
  rb->modules = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) juno_remote_module_free);
  rb->last_seen = g_get_monotonic_time ();
  g_hash_table_insert (self->brokers, rb->instance, rb);
  g_message ("Broker '%s' (%s) joined federation %s", name, instance, self->prefix + strlen ("juno."));
  notify_brokers (self);
  return rb;
}

static void
handle_heartbeat (JunoFederation *self, natsMsg *msg)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object = parse_control (self, msg, &parser);
  RemoteBroker *rb;
  guint64 gen, n;

  if (object == NULL)
    return;
  if (!juno_federation_get_uint (object, "gen", &gen) || !juno_federation_get_uint (object, "modules", &n))
    return log_dropped (self, natsMsg_GetSubject (msg), "a heartbeat without gen and modules");
  rb = lookup_sender (self, object, TRUE, msg);
  if (rb == NULL)
    return;
  rb->last_seen = g_get_monotonic_time ();
  if (!rb->synced || rb->gen != gen)
    ask_sync (self, rb);
}

static void
handle_state (JunoFederation *self, natsMsg *msg)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object = parse_control (self, msg, &parser);
  RemoteBroker *rb;
  const char *op;
  guint64 gen;

  if (object == NULL)
    return;
  op = juno_federation_get_string (object, "op");
  if (!juno_federation_get_uint (object, "gen", &gen) || op == NULL || (!g_str_equal (op, "up") && !g_str_equal (op, "down")))
    return log_dropped (self, natsMsg_GetSubject (msg), "a change without gen and op");
  rb = lookup_sender (self, object, TRUE, msg);
  if (rb == NULL)
    return;
  rb->last_seen = g_get_monotonic_time ();
  if (!rb->synced || gen != rb->gen + 1)
    {
      /* a change missed, or not synced yet: the whole picture again */
      if (!rb->synced || gen > rb->gen)
        ask_sync (self, rb);
      return;
    }
  if (g_str_equal (op, "up"))
    {
      JunoRemoteModule *m = juno_federation_parse_module (json_object_get_member (object, "module"));

      if (m == NULL)
        return log_dropped (self, natsMsg_GetSubject (msg), "an invalid module");
      if (!g_hash_table_contains (rb->modules, m->id) && g_hash_table_size (rb->modules) >= MAX_MODULES_PER_BROKER)
        {
          juno_remote_module_free (m);
          return log_dropped (self, natsMsg_GetSubject (msg), "too many modules on one broker");
        }
      set_remote_module (self, rb, m->id, m);
    }
  else
    {
      const char *id = juno_federation_get_string (object, "moduleId");

      if (id == NULL || !juno_module_id_is_valid (id, -1))
        return log_dropped (self, natsMsg_GetSubject (msg), "an invalid moduleId");
      if (g_hash_table_contains (rb->modules, id))
        set_remote_module (self, rb, id, NULL);
    }
  rb->gen = gen;
}

static void
handle_page (JunoFederation *self, natsMsg *msg)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object = parse_control (self, msg, &parser);
  RemoteBroker *rb;
  JsonNode *modules, *last;
  guint64 gen, page;
  JsonArray *array;

  if (object == NULL)
    return;
  modules = json_object_get_member (object, "modules");
  last = json_object_get_member (object, "last");
  if (!juno_federation_get_uint (object, "gen", &gen) || !juno_federation_get_uint (object, "page", &page) || modules == NULL ||
      !JSON_NODE_HOLDS_ARRAY (modules) || last == NULL || json_node_get_value_type (last) != G_TYPE_BOOLEAN)
    return log_dropped (self, natsMsg_GetSubject (msg), "a page without gen, page, modules and last");
  rb = lookup_sender (self, object, TRUE, msg);
  if (rb == NULL)
    return;
  rb->last_seen = g_get_monotonic_time ();
  if (page == 0)
    {
      g_clear_pointer (&rb->snapshot, g_hash_table_unref);
      rb->snapshot = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) juno_remote_module_free);
      rb->snapshot_gen = gen;
      rb->next_page = 0;
    }
  if (rb->snapshot == NULL || page != rb->next_page || gen != rb->snapshot_gen)
    {
      g_clear_pointer (&rb->snapshot, g_hash_table_unref);
      return; /* out of order: the next heartbeat asks again */
    }
  rb->next_page++;
  array = json_node_get_array (modules);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JunoRemoteModule *m = juno_federation_parse_module (json_array_get_element (array, i));

      if (m == NULL || g_hash_table_size (rb->snapshot) >= MAX_MODULES_PER_BROKER)
        {
          if (m != NULL)
            juno_remote_module_free (m);
          g_clear_pointer (&rb->snapshot, g_hash_table_unref);
          return log_dropped (self, natsMsg_GetSubject (msg), "an invalid module, or too many");
        }
      g_hash_table_replace (rb->snapshot, m->id, m);
    }
  if (json_node_get_boolean (last))
    {
      g_autoptr(GHashTable) snapshot = g_steal_pointer (&rb->snapshot);
      GHashTableIter iter;
      gpointer key, value;
      g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);

      /* the differences only: what did not change stays untouched */
      g_hash_table_iter_init (&iter, rb->modules);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (!g_hash_table_contains (snapshot, key))
          g_ptr_array_add (gone, g_strdup (key));
      for (guint i = 0; i < gone->len; i++)
        set_remote_module (self, rb, g_ptr_array_index (gone, i), NULL);
      g_hash_table_iter_init (&iter, snapshot);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_hash_table_iter_steal (&iter);
          set_remote_module (self, rb, key, value);
        }
      rb->gen = rb->snapshot_gen;
      rb->synced = TRUE;
      rb->sync_asked = 0;
    }
}

static void
handle_bye (JunoFederation *self, natsMsg *msg)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object = parse_control (self, msg, &parser);
  RemoteBroker *rb;

  if (object == NULL)
    return;
  rb = lookup_sender (self, object, FALSE, msg);
  if (rb != NULL)
    forget_broker (self, rb, "it said goodbye");
}

static void send_heartbeat (JunoFederation *self);

/* Someone asks for all our modules: pages on its reply subject, each
 * within what a broker takes as one message. */
static void
handle_sync (JunoFederation *self, natsMsg *msg)
{
  const char *reply = natsMsg_GetReply (msg);
  gint64 now = g_get_monotonic_time ();
  gsize page_bytes = MIN (SYNC_PAGE_BYTES, juno_broker_get_max_message_size (self->broker) / 2);
  g_autoptr(GList) values = NULL;
  GList *l;
  guint64 n = 0;

  if (reply == NULL || !g_str_has_prefix (reply, self->prefix) || strlen (reply) > 256)
    return log_dropped (self, natsMsg_GetSubject (msg), "a sync request without a reply subject of the federation");
  if (now - self->sync_window_start >= G_USEC_PER_SEC)
    {
      self->sync_window_start = now;
      self->sync_answers = 0;
    }
  if (self->sync_answers++ >= MAX_SYNC_ANSWERS_PER_SECOND)
    return log_dropped (self, natsMsg_GetSubject (msg), "too many sync requests");

  values = g_hash_table_get_values (self->announced);
  l = values;
  do
    {
      g_autoptr(GString) page = begin_control (self);
      gboolean first = TRUE;

      g_string_append_printf (page, ",\"gen\":%" G_GUINT64_FORMAT ",\"page\":%" G_GUINT64_FORMAT ",\"modules\":[",
                              self->gen, n++);
      while (l != NULL && (first || page->len + strlen (l->data) + 32 < page_bytes))
        {
          if (!first)
            g_string_append_c (page, ',');
          g_string_append (page, l->data);
          first = FALSE;
          l = l->next;
        }
      g_string_append_printf (page, "],\"last\":%s}", l == NULL ? "true" : "false");
      publish (self, reply, NULL, page->str, page->len);
    }
  while (l != NULL);
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */
/* ------------------------------------------------------------------ */

static void
remote_call_free (RemoteCall *rc)
{
  g_clear_object (&rc->fed);
  g_free (rc->reply);
  g_free (rc->token);
  g_free (rc);
}

static void
answer_remote (JunoFederation *self, const char *reply, const char *token, const char *result, int code)
{
  g_autoptr(GString) line = g_string_new ("{\"requestId\":");

  g_string_append (line, token);
  if (result != NULL)
    {
      g_string_append (line, ",\"type\":4,\"data\":");
      g_string_append (line, result);
    }
  else
    {
      g_string_append_printf (line, ",\"type\":0,\"error\":%d", code);
      self->stats.calls_failed++;
    }
  g_string_append_c (line, '}');
  publish (self, reply, NULL, line->str, line->len);
}

static void
on_remote_call_done (JunoBroker *broker, const char *result_json, int error_code, gpointer user_data)
{
  RemoteCall *rc = user_data;

  if (!rc->fed->stopped)
    answer_remote (rc->fed, rc->reply, rc->token, result_json,
                   error_code == JUNO_BROKER_CALL_DROPPED ? JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED : error_code);
  remote_call_free (rc);
}

/* The client remote calls from @instance come from. */
static JunoEndpoint *
client_for (JunoFederation *self, const char *instance)
{
  RemoteBroker *rb = g_hash_table_lookup (self->brokers, instance);

  if (rb == NULL)
    {
      if (self->stranger == NULL)
        {
          self->stranger = juno_broker_add_client (self->broker, "nats", "nats:unknown");
          g_hash_table_add (self->client_eps, self->stranger);
        }
      return self->stranger;
    }
  if (rb->client == NULL)
    {
      g_autofree char *caller = g_strconcat ("nats:", rb->name, NULL);

      rb->client = juno_broker_add_client (self->broker, "nats", caller);
      g_hash_table_add (self->client_eps, rb->client);
    }
  return rb->client;
}

/* A call for one of our modules, from another broker. */
static void
handle_call (JunoFederation *self, const char *target, natsMsg *msg)
{
  const char *subject = natsMsg_GetSubject (msg);
  const char *reply = natsMsg_GetReply (msg);
  g_autofree char *token = NULL;
  g_autofree char *function = NULL;
  g_autofree char *caller = NULL;
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;
  const char *arguments, *why = NULL;
  gsize arguments_len;
  char instance[17];
  RemoteCall *rc;

  if (reply == NULL || !g_str_has_prefix (reply, self->prefix) || strlen (reply) > 256 ||
      sscanf (reply + strlen (self->prefix), ".reply.%16[0-9a-f].", instance) != 1)
    return log_dropped (self, subject, "a call without a reply subject of the federation");
  self->stats.calls_in++;
  if (!juno_federation_parse_call (natsMsg_GetData (msg), (gsize) MAX (natsMsg_GetDataLength (msg), 0),
                                   juno_broker_get_max_message_size (self->broker), &token, &function, &caller,
                                   &arguments, &arguments_len, &why))
    return log_dropped (self, subject, why);

  /* the module may have left: then the call goes where the core sends
   * calls to that moduleId now, another instance or error 4 */
  address = g_strconcat (target, ".", function, NULL);
  rc = g_new0 (RemoteCall, 1);
  rc->fed = g_object_ref (self);
  rc->reply = g_strdup (reply);
  rc->token = g_strdup (token);
  if (!juno_broker_client_call_as (self->broker, client_for (self, instance), caller, address, arguments,
                                   (gssize) arguments_len, on_remote_call_done, rc, &error))
    {
      answer_remote (self, reply, token, NULL,
                     g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE)
                       ? JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE
                       : JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST);
      remote_call_free (rc);
    }
}

/* The answer to a call one of our proxies sent. */
static void
handle_reply (JunoFederation *self, natsMsg *msg)
{
  const char *subject = natsMsg_GetSubject (msg);
  const char *data = natsMsg_GetData (msg);
  gsize len = (gsize) MAX (natsMsg_GetDataLength (msg), 0);
  const char *why = NULL;
  gboolean failed;
  guint64 id;
  char *end;
  Proxy *proxy;

  id = g_ascii_strtoull (subject + strlen (self->reply_prefix), &end, 10);
  if (*end != '\0' || (proxy = g_hash_table_lookup (self->proxy_eps, &id)) == NULL || proxy->ep == NULL)
    return log_dropped (self, subject, "an answer for no proxy of this broker");
  /* only answers reach the core through a proxy: never a request */
  if (!juno_federation_parse_answer (data, len, juno_broker_get_max_message_size (self->broker), &failed, &why))
    return log_dropped (self, subject, why);
  if (failed)
    self->stats.calls_failed++;
  juno_broker_handle_line (self->broker, proxy->ep, data, len);
}

static gboolean
fail_unsent (gpointer data)
{
  JunoFederation *self = data;

  self->failed_id = 0;
  while (self->failed.length > 0)
    {
      g_autofree char *item = g_queue_pop_head (&self->failed);
      char *space = strchr (item, ' ');
      guint64 id = g_ascii_strtoull (item, NULL, 10);
      Proxy *proxy = g_hash_table_lookup (self->proxy_eps, &id);
      g_autofree char *line = NULL;

      if (proxy == NULL || proxy->ep == NULL || space == NULL)
        continue;
      line = g_strdup_printf ("{\"requestId\":%s,\"type\":0,\"error\":%d}", space + 1,
                              JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED);
      self->stats.calls_failed++;
      juno_broker_handle_line (self->broker, proxy->ep, line, strlen (line));
    }
  return G_SOURCE_REMOVE;
}

/* What the core sends a proxy: calls go out on NATS; the answers to its
 * registration and the hooks it is sent are not for anyone. Must not
 * re-enter the broker. */
static void
proxy_send (gpointer user_data, const char *line, gsize len)
{
  Proxy *proxy = user_data;
  JunoFederation *self = proxy->fed;
  JunoMessage parsed;
  gint64 type;
  natsStatus status;

  if (len > 0 && line[len - 1] == '\n')
    len--;
  if (len < 16 || memcmp (line, "{\"requestId\":\"j", 15) != 0 || juno_message_parse (line, len, &parsed) != JUNO_PARSE_OK ||
      !juno_json_value_get_int64 (&parsed.keys[JUNO_KEY_TYPE], &type))
    return;
  /* the core refusing an answer that came through this proxy for no call
   * waiting on it (a replay, a forgery): counted */
  if (type == JUNO_MSG_ERROR)
    {
      self->stats.dropped++;
      return;
    }
  if (type != JUNO_MSG_FUNCTION_CALL)
    return;
  self->stats.calls_out++;
  status = self->nc != NULL ? natsConnection_PublishRequest (self->nc, proxy->call_subject, proxy->reply_subject, line,
                                                             (int) len)
                            : NATS_CONNECTION_CLOSED;
  if (status != NATS_OK)
    {
      const JunoJsonValue *rid = &parsed.keys[JUNO_KEY_REQUEST_ID];

      /* answered from the main loop: no re-entry from here */
      g_queue_push_tail (&self->failed, g_strdup_printf ("%" G_GUINT64_FORMAT " %.*s", juno_endpoint_get_id (proxy->ep),
                                                         (int) rid->len, rid->text));
      if (self->failed_id == 0)
        self->failed_id = g_idle_add (fail_unsent, self);
    }
}

static const JunoEndpointFuncs proxy_funcs = {
  .send = proxy_send,
};

/* --federation-balance=spread: some of a local instance's calls go to the
 * other instances. */
static JunoEndpoint *
route_call (gpointer user_data, JunoEndpoint *caller, const char *module_id)
{
  JunoFederation *self = user_data;
  Proxy *proxy;

  if (g_hash_table_contains (self->client_eps, caller))
    return NULL; /* it came from another broker: served here */
  proxy = g_hash_table_lookup (self->proxies, module_id);
  if (proxy == NULL || proxy->ep == NULL || !proxy->spread_ok || proxy->instances == 0 ||
      juno_endpoint_holds_name (proxy->ep))
    return NULL;
  return proxy->round++ % (proxy->instances + 1) == 0 ? NULL : proxy->ep;
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

static void
handle_hook (JunoFederation *self, const char *target, natsMsg *msg)
{
  const char *subject = natsMsg_GetSubject (msg);
  g_autoptr(GError) error = NULL;

  self->stats.hooks_in++;
  if (natsMsg_GetDataLength (msg) <= 0)
    return log_dropped (self, subject, "a hook without data");
  if ((gsize) natsMsg_GetDataLength (msg) > juno_broker_get_max_message_size (self->broker) ||
      !juno_broker_relay_hook (self->broker, target, natsMsg_GetData (msg), natsMsg_GetDataLength (msg), NULL,
                               &error))
    log_dropped (self, subject, error != NULL ? error->message : "larger than --max-message-size");
}

static void
on_hook_triggered (JunoBroker *broker, const char *hook, const char *data, JunoFederation *self)
{
  g_autofree char *subject = NULL;

  if (self->stopped || juno_broker_get_emitting_relayed (broker) ||
      g_str_has_prefix (hook, JUNO_BUILTIN_MODULE_ID ".") || !g_hash_table_contains (self->remote_listens, hook))
    return;
  subject = hook_subject (self, hook);
  self->stats.hooks_out++;
  publish (self, subject, NULL, data, strlen (data));
}

/* ------------------------------------------------------------------ */
/* Proxies: remote modules in the local registry                       */
/* ------------------------------------------------------------------ */

static void
proxy_free (gpointer data)
{
  Proxy *proxy = data;

  g_free (proxy->id);
  g_free (proxy->version_text);
  juno_version_clear (&proxy->version);
  g_free (proxy->call_subject);
  g_free (proxy->reply_subject);
  g_clear_pointer (&proxy->functions, g_hash_table_unref);
  g_free (proxy);
}

static void
proxy_remove_endpoint (JunoFederation *self, Proxy *proxy)
{
  JunoEndpoint *ep = proxy->ep;
  guint64 id;

  if (ep == NULL)
    return;
  id = juno_endpoint_get_id (ep);
  g_hash_table_remove (self->proxy_eps, &id);
  proxy->ep = NULL;
  self->stats.calls_failed += juno_broker_fail_calls_to (self->broker, ep, JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED);
  /* its callers get error 8 */
  juno_broker_remove_endpoint (self->broker, ep);
}

static void
feed (JunoFederation *self, Proxy *proxy, GString *line)
{
  if (proxy->ep != NULL)
    juno_broker_handle_line (self->broker, proxy->ep, line->str, line->len);
}

static void
proxy_declare (JunoFederation *self, Proxy *proxy, const char *function)
{
  g_autoptr(GString) line = NULL;

  if (g_hash_table_contains (proxy->functions, function))
    return;
  g_hash_table_add (proxy->functions, g_strdup (function));
  line = g_string_new ("{\"requestId\":\"f\",\"type\":9,\"function\":");
  juno_json_append_string (line, function);
  g_string_append_c (line, '}');
  feed (self, proxy, line);
}

static Proxy *
proxy_create (JunoFederation *self, const char *id, JunoRemoteModule *best, const char *broker_name)
{
  Proxy *proxy = g_new0 (Proxy, 1);
  g_autoptr(GString) line = NULL;
  g_autoptr(GError) error = NULL;
  guint64 *key;

  proxy->fed = self;
  proxy->id = g_strdup (id);
  proxy->version_text = g_strdup (best->version_text);
  juno_version_parse (best->version_text, &proxy->version, &error);
  proxy->call_subject = call_subject (self, id, best->version.major);
  proxy->functions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  proxy->ep = juno_broker_add_endpoint (self->broker, &proxy_funcs, proxy, "nats");
  proxy->reply_subject = g_strdup_printf ("%s%" G_GUINT64_FORMAT, self->reply_prefix, juno_endpoint_get_id (proxy->ep));
  juno_endpoint_set_yields_name (proxy->ep, TRUE);
  key = g_new (guint64, 1);
  *key = juno_endpoint_get_id (proxy->ep);
  g_hash_table_insert (self->proxy_eps, key, proxy);

  line = g_string_new ("{\"requestId\":\"r\",\"type\":1,\"moduleId\":");
  juno_json_append_string (line, id);
  g_string_append (line, ",\"version\":");
  juno_json_append_string (line, best->version_text);
  g_string_append_c (line, '}');
  feed (self, proxy, line);
  if (juno_endpoint_get_module_id (proxy->ep) == NULL)
    {
      /* refused (the policy's Own, a limit): logged by the broker */
      g_warning ("Module '%s' of broker '%s' could not be registered here", id, broker_name);
      proxy_remove_endpoint (self, proxy);
    }
  return proxy;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Recomputes the proxy of @id and where its instances run. */
static void
apply_module (JunoFederation *self, const char *id)
{
  g_autoptr(GPtrArray) instances = g_ptr_array_new (); /* JunoRemoteModule */
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  JunoRemoteModule *best = NULL;
  const char *best_broker = NULL;
  gpointer local_major = g_hash_table_lookup (self->local_ids, id);
  Proxy *proxy = g_hash_table_lookup (self->proxies, id);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->brokers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RemoteBroker *rb = value;
      JunoRemoteModule *m = g_hash_table_lookup (rb->modules, id);

      if (m == NULL)
        continue;
      g_ptr_array_add (instances, m);
      if (best == NULL || juno_version_compare (&m->version, &best->version) > 0)
        {
          best = m;
          best_broker = rb->name;
        }
      if (names->len < JUNO_BROKER_MAX_MODULE_BROKERS &&
          !g_ptr_array_find_with_equal_func (names, rb->name, g_str_equal, NULL))
        g_ptr_array_add (names, rb->name);
    }

  if (best == NULL)
    {
      if (proxy != NULL)
        {
          proxy_remove_endpoint (self, proxy);
          g_hash_table_remove (self->proxies, id);
        }
      juno_broker_set_module_brokers (self->broker, id, NULL);
      return;
    }

  /* a new major: a new proxy (its dependents are recomputed) */
  if (proxy != NULL && (proxy->ep == NULL || proxy->version.major != best->version.major ||
                        juno_version_compare (&proxy->version, &best->version) != 0))
    {
      proxy_remove_endpoint (self, proxy);
      g_hash_table_remove (self->proxies, id);
      proxy = NULL;
    }
  if (proxy == NULL)
    {
      proxy = proxy_create (self, id, best, best_broker);
      g_hash_table_insert (self->proxies, proxy->id, proxy);
    }
  proxy->instances = 0;
  for (guint i = 0; i < instances->len; i++)
    {
      JunoRemoteModule *m = g_ptr_array_index (instances, i);

      if (m->version.major != best->version.major)
        continue;
      proxy->instances++;
      for (guint j = 0; m->functions[j] != NULL; j++)
        proxy_declare (self, proxy, m->functions[j]);
    }
  proxy->spread_ok = local_major != NULL && GPOINTER_TO_UINT (local_major) - 1 == best->version.major;

  if (local_major != NULL && names->len < JUNO_BROKER_MAX_MODULE_BROKERS &&
      !g_ptr_array_find_with_equal_func (names, self->name, g_str_equal, NULL))
    g_ptr_array_add (names, self->name);
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  juno_broker_set_module_brokers (self->broker, id, (const char *const *) names->pdata);
}

static gboolean
apply (gpointer data)
{
  JunoFederation *self = data;
  g_autoptr(GHashTable) dirty = g_steal_pointer (&self->dirty);
  GHashTableIter iter;
  gpointer key;

  self->apply_id = 0;
  self->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_iter_init (&iter, dirty);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    apply_module (self, key);
  return G_SOURCE_REMOVE;
}

static void
schedule_apply (JunoFederation *self)
{
  if (self->apply_id == 0 && !self->stopped)
    self->apply_id = g_timeout_add (APPLY_DELAY_MS, apply, self);
}

/* ------------------------------------------------------------------ */
/* This broker's modules                                               */
/* ------------------------------------------------------------------ */

static gboolean
is_proxy_endpoint (JunoFederation *self, JunoEndpoint *ep)
{
  guint64 id = juno_endpoint_get_id (ep);

  return g_hash_table_contains (self->proxy_eps, &id);
}

static char *
module_json (JunoModule *module)
{
  GString *s = g_string_new ("{\"moduleId\":");
  guint n;
  g_autofree const char **functions = juno_module_dup_functions (module, &n);
  g_autofree const char **hooks = juno_module_dup_hooks (module, NULL);

  juno_json_append_string (s, juno_module_get_id (module));
  g_string_append (s, ",\"version\":");
  juno_json_append_string (s, juno_module_get_version (module));
  g_string_append (s, ",\"functions\":[");
  for (guint i = 0; functions[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (s, ',');
      juno_json_append_string (s, functions[i]);
    }
  g_string_append (s, "],\"hooks\":[");
  for (guint i = 0; hooks[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (s, ',');
      juno_json_append_string (s, hooks[i]);
    }
  g_string_append (s, "]}");
  return g_string_free (s, FALSE);
}

static void
announce (JunoFederation *self, const char *id, const char *json)
{
  g_autoptr(GString) s = begin_control (self);

  self->gen++;
  g_string_append_printf (s, ",\"gen\":%" G_GUINT64_FORMAT, self->gen);
  if (json != NULL)
    {
      g_string_append (s, ",\"op\":\"up\",\"module\":");
      g_string_append (s, json);
    }
  else
    {
      g_string_append (s, ",\"op\":\"down\",\"moduleId\":");
      juno_json_append_string (s, id);
    }
  g_string_append_c (s, '}');
  publish_string (self, "state", s);
}

static void
subscribe_set (JunoFederation *self, GHashTable *subs, GHashTable *wanted, Kind kind, gboolean queue)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, subs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (wanted, key))
      {
        Sub *sub = value;

        /* calls NATS handed to this broker before it heard the
         * unsubscription are still taken (and sent on): none is lost */
        if (queue && natsSubscription_Drain (sub->sub) == NATS_OK)
          {
            g_hash_table_iter_steal (&iter);
            g_free (key);
            g_ptr_array_add (self->draining, sub);
          }
        else
          g_hash_table_iter_remove (&iter);
      }
  g_hash_table_iter_init (&iter, wanted);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Sub *sub;
      natsStatus status;

      if (g_hash_table_contains (subs, key))
        continue;
      sub = sub_new (self, key, queue ? QUEUE_GROUP : NULL, kind, value, &status);
      if (sub == NULL)
        {
          g_warning ("Cannot subscribe to %s: %s", (const char *) key, natsStatus_GetText (status));
          continue;
        }
      g_hash_table_insert (subs, g_strdup (key), sub);
    }
}

/* The subjects @m's calls and hooks come on. */
static void
subscriptions_of (JunoFederation *self, JunoModule *m, guint64 major, GHashTable *calls, GHashTable *hooks)
{
  guint nf;
  g_autofree const char **listens = juno_module_dup_hooks (m, NULL);
  const char *id = juno_module_get_id (m);

  g_free (juno_module_dup_functions (m, &nf));
  if (nf > 0)
    g_hash_table_insert (calls, call_subject (self, id, major), g_strdup (id));
  for (guint j = 0; listens[j] != NULL; j++)
    if (!g_str_has_prefix (listens[j], JUNO_BUILTIN_MODULE_ID "."))
      g_hash_table_insert (hooks, hook_subject (self, listens[j]), g_strdup (listens[j]));
}

/* Announces what changed among this broker's active modules, and follows
 * them with the subscriptions of their calls and hooks. */
static gboolean
reconcile_local (gpointer data)
{
  JunoFederation *self = data;
  guint n;
  g_autofree JunoModule **modules = juno_broker_dup_modules (self->broker, &n);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) hooks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) old_ids = g_steal_pointer (&self->local_ids);
  GHashTableIter iter;
  gpointer key, value;

  self->local_id = 0;
  self->local_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n; i++)
    {
      JunoModule *m = modules[i];
      JunoEndpoint *ep = juno_module_get_endpoint (m);
      const char *id = juno_module_get_id (m);
      g_auto(JunoVersion) version = { 0 };
      char *json;
      const char *old;

      if (ep == NULL || is_proxy_endpoint (self, ep) || !juno_module_get_active (m))
        continue;
      juno_version_parse (juno_module_get_version (m), &version, NULL);
      g_hash_table_add (seen, (gpointer) id);
      g_hash_table_insert (self->local_ids, g_strdup (id), GUINT_TO_POINTER ((guint) version.major + 1));
      json = module_json (m);
      old = g_hash_table_lookup (self->announced, id);
      if (old == NULL || !g_str_equal (old, json))
        {
          announce (self, id, json);
          g_hash_table_insert (self->announced, g_strdup (id), json);
        }
      else
        g_free (json);
      subscriptions_of (self, m, version.major, calls, hooks);
    }
  g_hash_table_iter_init (&iter, self->announced);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (seen, key))
      {
        announce (self, key, NULL);
        g_hash_table_iter_remove (&iter);
      }
  /* where instances run changes with the local ones too */
  g_hash_table_iter_init (&iter, old_ids);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_hash_table_lookup (self->local_ids, key) != value)
      g_hash_table_add (self->dirty, g_strdup (key));
  g_hash_table_iter_init (&iter, self->local_ids);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (old_ids, key))
      g_hash_table_add (self->dirty, g_strdup (key));
  if (g_hash_table_size (self->dirty) > 0)
    schedule_apply (self);

  subscribe_set (self, self->call_subs, calls, KIND_CALL, TRUE);
  subscribe_set (self, self->hook_subs, hooks, KIND_HOOK, FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_local (JunoFederation *self)
{
  if (self->local_id == 0 && !self->stopped)
    self->local_id = g_timeout_add (APPLY_DELAY_MS, reconcile_local, self);
}

static void
on_registry_changed (JunoFederation *self)
{
  schedule_local (self);
}

/* ------------------------------------------------------------------ */
/* Heartbeats and the connection                                       */
/* ------------------------------------------------------------------ */

static void
send_heartbeat (JunoFederation *self)
{
  g_autoptr(GString) s = begin_control (self);

  g_string_append_printf (s, ",\"gen\":%" G_GUINT64_FORMAT ",\"modules\":%u}", self->gen,
                          g_hash_table_size (self->announced));
  publish_string (self, "hb", s);
}

static gboolean
on_heartbeat (gpointer data)
{
  JunoFederation *self = data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GPtrArray) gone = g_ptr_array_new ();

  send_heartbeat (self);
  for (guint i = self->draining->len; i > 0; i--)
    if (!natsSubscription_IsValid (((Sub *) g_ptr_array_index (self->draining, i - 1))->sub))
      g_ptr_array_remove_index_fast (self->draining, i - 1);
  g_hash_table_iter_init (&iter, self->brokers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RemoteBroker *rb = value;

      if (now - rb->last_seen > self->timeout_usec)
        g_ptr_array_add (gone, rb);
      else if (!rb->synced)
        ask_sync (self, rb);
    }
  for (guint i = 0; i < gone->len; i++)
    forget_broker (self, g_ptr_array_index (gone, i), "no heartbeat within --federation-timeout");
  return G_SOURCE_CONTINUE;
}

static void
set_state (JunoFederation *self, const char *state)
{
  char url[512] = "";

  if (self->nc != NULL && g_str_equal (state, "connected"))
    natsConnection_GetConnectedUrl (self->nc, url, sizeof url);
  g_free (self->server);
  self->server = g_strdup (url);
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

static void
joined (JunoFederation *self, gboolean again)
{
  g_autoptr(GString) s = begin_control (self);

  set_state (self, "connected");
  if (again)
    self->stats.reconnects++;
  g_message ("%s federation %s through NATS server %s as broker '%s'", again ? "Rejoined" : "Joined",
             self->prefix + strlen ("juno."), self->server, self->name);
  g_string_append_c (s, '}');
  publish_string (self, "discover", s);
  send_heartbeat (self);
}

static void
handle_inbound (JunoFederation *self, Inbound *in)
{
  switch (in->kind)
    {
    case KIND_HEARTBEAT:
      handle_heartbeat (self, in->msg);
      break;
    case KIND_STATE:
      handle_state (self, in->msg);
      break;
    case KIND_SYNC:
      handle_sync (self, in->msg);
      break;
    case KIND_PAGE:
      handle_page (self, in->msg);
      break;
    case KIND_DISCOVER:
      {
        g_autoptr(JsonParser) parser = NULL;

        if (parse_control (self, in->msg, &parser) != NULL)
          send_heartbeat (self);
      }
      break;
    case KIND_BYE:
      handle_bye (self, in->msg);
      break;
    case KIND_CALL:
      handle_call (self, in->target, in->msg);
      break;
    case KIND_REPLY:
      handle_reply (self, in->msg);
      break;
    case KIND_HOOK:
      handle_hook (self, in->target, in->msg);
      break;
    case KIND_CONNECTED:
      joined (self, FALSE);
      break;
    case KIND_RECONNECTED:
      joined (self, TRUE);
      break;
    case KIND_DISCONNECTED:
      if (!g_str_equal (self->state, "connecting"))
        {
          GHashTableIter iter;
          gpointer value;

          g_warning ("Lost NATS server %s: local modules keep working, reconnecting", self->server);
          set_state (self, "reconnecting");
          /* answers to calls in flight may be lost with the link: their
           * callers hear error 8 now rather than wait for the timeout */
          g_hash_table_iter_init (&iter, self->proxies);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            if (((Proxy *) value)->ep != NULL)
              self->stats.calls_failed +=
                juno_broker_fail_calls_to (self->broker, ((Proxy *) value)->ep, JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED);
        }
      break;
    case KIND_CLOSED:
      set_state (self, "closed");
      break;
    case KIND_ASYNC_ERROR:
      self->stats.dropped++;
      g_warning ("NATS: %s", natsStatus_GetText (in->status));
      break;
    default:
      g_assert_not_reached ();
    }
}

/* ------------------------------------------------------------------ */
/* GObject, start and stop                                             */
/* ------------------------------------------------------------------ */

static GVariant *
extra_stats (gpointer user_data)
{
  JunoFederation *self = user_data;
  GVariantBuilder b;
  guint remote = 0;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->proxies);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Proxy *) value)->ep != NULL)
      remote++;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "federation", g_variant_new_string (self->state));
  g_variant_builder_add (&b, "{sv}", "brokerName", g_variant_new_string (self->name));
  g_variant_builder_add (&b, "{sv}", "natsServer", g_variant_new_string (self->server ? self->server : ""));
  g_variant_builder_add (&b, "{sv}", "natsReconnects", g_variant_new_uint64 (self->stats.reconnects));
  g_variant_builder_add (&b, "{sv}", "federationBrokers", g_variant_new_uint64 (g_hash_table_size (self->brokers)));
  g_variant_builder_add (&b, "{sv}", "remoteModules", g_variant_new_uint64 (remote));
  g_variant_builder_add (&b, "{sv}", "remoteCallsOut", g_variant_new_uint64 (self->stats.calls_out));
  g_variant_builder_add (&b, "{sv}", "remoteCallsIn", g_variant_new_uint64 (self->stats.calls_in));
  g_variant_builder_add (&b, "{sv}", "remoteCallsFailed", g_variant_new_uint64 (self->stats.calls_failed));
  g_variant_builder_add (&b, "{sv}", "remoteHooksOut", g_variant_new_uint64 (self->stats.hooks_out));
  g_variant_builder_add (&b, "{sv}", "remoteHooksIn", g_variant_new_uint64 (self->stats.hooks_in));
  g_variant_builder_add (&b, "{sv}", "federationDropped", g_variant_new_uint64 (self->stats.dropped));
  return g_variant_builder_end (&b);
}

static char **
dup_broker_names (JunoFederation *self)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->brokers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (names, g_strdup (((RemoteBroker *) value)->name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static void
juno_federation_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  JunoFederation *self = JUNO_FEDERATION (object);

  switch (prop_id)
    {
    case PROP_BROKER_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_STATE:
      g_value_set_string (value, self->state);
      break;
    case PROP_BROKERS:
      g_value_take_boxed (value, dup_broker_names (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
juno_federation_finalize (GObject *object)
{
  JunoFederation *self = JUNO_FEDERATION (object);

  federation_stop (self);
  g_hash_table_unref (self->brokers);
  g_hash_table_unref (self->proxies);
  g_hash_table_unref (self->proxy_eps);
  g_hash_table_unref (self->client_eps);
  g_hash_table_unref (self->remote_listens);
  g_hash_table_unref (self->dirty);
  g_hash_table_unref (self->announced);
  g_hash_table_unref (self->local_ids);
  g_hash_table_unref (self->call_subs);
  g_hash_table_unref (self->hook_subs);
  g_queue_clear_full (&self->failed, g_free);
  g_clear_object (&self->broker);
  g_free (self->prefix);
  g_free (self->name);
  g_free (self->server);
  g_free (self->page_subject);
  g_free (self->reply_prefix);
  g_clear_pointer (&self->nats_stats, natsStatistics_Destroy);
  G_OBJECT_CLASS (juno_federation_parent_class)->finalize (object);
}

static void
juno_federation_class_init (JunoFederationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = juno_federation_get_property;
  object_class->finalize = juno_federation_finalize;
  properties[PROP_BROKER_NAME] = g_param_spec_string ("broker-name", NULL, NULL, "",
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] = g_param_spec_string ("state", NULL, NULL, "connecting",
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_BROKERS] = g_param_spec_boxed ("brokers", NULL, NULL, G_TYPE_STRV,
                                                 G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
juno_federation_init (JunoFederation *self)
{
  self->state = "connecting";
  self->brokers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, remote_broker_free);
  self->proxies = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, proxy_free);
  self->proxy_eps = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->client_eps = g_hash_table_new (NULL, NULL);
  self->remote_listens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->dirty = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->announced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->local_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->call_subs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, sub_free);
  self->hook_subs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, sub_free);
  self->server = g_strdup ("");
}

static gboolean
check_status (natsStatus status, const char *what, GError **error)
{
  if (status == NATS_OK)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("NATS: %s: %s"), what, natsStatus_GetText (status));
  return FALSE;
}

static gboolean
setup_options (JunoFederation *self, const JunoFederationOptions *options, GError **error)
{
  guint n = g_strv_length (options->servers);
  g_autofree char *client_name = g_strdup_printf ("juno %s (%s)", self->name, self->prefix);

  if (!check_status (natsOptions_Create (&self->opts), "options", error) ||
      !check_status (natsOptions_SetServers (self->opts, (const char **) options->servers, (int) n), "--nats", error) ||
      !check_status (natsOptions_SetName (self->opts, client_name), "name", error) ||
      !check_status (natsOptions_SetNoEcho (self->opts, true), "no echo", error) ||
      !check_status (natsOptions_UseGlobalMessageDelivery (self->opts, true), "delivery", error) ||
      !check_status (natsOptions_SetAllowReconnect (self->opts, true), "reconnect", error) ||
      !check_status (natsOptions_SetMaxReconnect (self->opts, -1), "reconnect", error) ||
      !check_status (natsOptions_SetReconnectWait (self->opts, 250), "reconnect wait", error) ||
      !check_status (natsOptions_SetTimeout (self->opts, 2000), "timeout", error) ||
      !check_status (natsOptions_SetPingInterval (self->opts, MAX (1000, self->heartbeat_usec / 1000)), "ping", error) ||
      !check_status (natsOptions_SetRetryOnFailedConnect (self->opts, true, on_nats_event, KIND_CLOSURE (KIND_CONNECTED)),
                     "retry", error) ||
      !check_status (natsOptions_SetDisconnectedCB (self->opts, on_nats_event, KIND_CLOSURE (KIND_DISCONNECTED)),
                     "callbacks", error) ||
      !check_status (natsOptions_SetReconnectedCB (self->opts, on_nats_event, KIND_CLOSURE (KIND_RECONNECTED)),
                     "callbacks", error) ||
      !check_status (natsOptions_SetClosedCB (self->opts, on_nats_event, KIND_CLOSURE (KIND_CLOSED)), "callbacks",
                     error) ||
      !check_status (natsOptions_SetErrorHandler (self->opts, on_nats_error, NULL), "callbacks", error) ||
      /* written by the main loop when the socket is ready: batched per turn, never delayed */
      !check_status (natsOptions_SetEventLoop (self->opts, nats_link.poller, ev_attach, ev_read, ev_write, ev_detach),
                     "event loop", error) ||
      !check_status (natsOptions_SetSendAsap (self->opts, true), "send asap", error))
    return FALSE;
  if (options->user != NULL &&
      !check_status (natsOptions_SetUserInfo (self->opts, options->user, options->password), "--nats-user", error))
    return FALSE;
  if (options->token != NULL && !check_status (natsOptions_SetToken (self->opts, options->token), "--nats-token", error))
    return FALSE;
  if (options->creds_file != NULL &&
      !check_status (natsOptions_SetUserCredentialsFromFiles (self->opts, options->creds_file, NULL), "--nats-creds",
                     error))
    return FALSE;
  if (options->tls_ca != NULL || options->tls_cert != NULL)
    {
      if (!check_status (natsOptions_SetSecure (self->opts, true), "TLS", error))
        return FALSE;
      if (options->tls_ca != NULL &&
          !check_status (natsOptions_LoadCATrustedCertificates (self->opts, options->tls_ca), "--nats-tls-ca", error))
        return FALSE;
      if (options->tls_cert != NULL &&
          !check_status (natsOptions_LoadCertificatesChain (self->opts, options->tls_cert, options->tls_key),
                         "--nats-tls-cert", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
subscribe_fixed (JunoFederation *self, const char *suffix, Kind kind, GError **error)
{
  g_autofree char *subject = g_strconcat (self->prefix, ".", suffix, NULL);
  natsStatus status;
  Sub *sub = sub_new (self, subject, NULL, kind, NULL, &status);

  if (sub == NULL)
    return check_status (status, subject, error);
  g_ptr_array_add (self->fixed_subs, sub);
  return TRUE;
}

static JunoFederation *
federation_new (JunoBroker *broker, JunoPoller *poller, const JunoFederationOptions *options, GError **error)
{
  g_autoptr(JunoFederation) self = NULL;
  g_autofree char *sync = NULL;
  g_autofree char *reply = NULL;
  natsStatus status;
  guint64 random;

  g_return_val_if_fail (JUNO_IS_BROKER (broker), NULL);
  if (!juno_federation_options_check (options, error))
    return NULL;
  if (inbox.owner != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "one federation per process");
      return NULL;
    }

  self = g_object_new (JUNO_TYPE_FEDERATION, NULL);
  self->broker = g_object_ref (broker);
  self->prefix = g_strconcat ("juno.", options->federation ? options->federation : JUNO_FEDERATION_DEFAULT_NAME, NULL);
  self->name = options->broker_name ? g_strdup (options->broker_name) : juno_federation_default_broker_name ();
  random = ((guint64) g_random_int () << 32) | g_random_int ();
  g_snprintf (self->instance, sizeof self->instance, "%016" G_GINT64_MODIFIER "x", random);
  self->heartbeat_usec =
    (gint64) ((options->heartbeat > 0 ? options->heartbeat : JUNO_FEDERATION_HEARTBEAT_DEFAULT_SEC) * G_USEC_PER_SEC);
  self->timeout_usec =
    (gint64) ((options->timeout > 0 ? options->timeout : JUNO_FEDERATION_TIMEOUT_DEFAULT_SEC) * G_USEC_PER_SEC);
  self->spread = options->spread;
  self->page_subject = g_strdup_printf ("%s.page.%s", self->prefix, self->instance);
  self->reply_prefix = g_strdup_printf ("%s.reply.%s.", self->prefix, self->instance);
  self->fixed_subs = g_ptr_array_new_with_free_func (sub_free);
  self->draining = g_ptr_array_new_with_free_func (sub_free);

  nats_link.poller = poller;
  nats_link.owner = self;
  nats_link.main_thread = g_thread_self ();
  if (!check_status (natsStatistics_Create (&self->nats_stats), "statistics", error))
    return NULL;
  g_mutex_lock (&nats_link.lock);
  nats_link.context = g_main_context_ref_thread_default ();
  nats_link.fd = -1;
  g_mutex_unlock (&nats_link.lock);
  if (!setup_options (self, options, error))
    return NULL;

  g_mutex_lock (&inbox.lock);
  inbox.owner = self;
  inbox.context = g_main_context_ref_thread_default ();
  g_mutex_unlock (&inbox.lock);

  status = natsConnection_Connect (&self->nc, self->opts);
  if (status == NATS_NOT_YET_CONNECTED)
    g_message ("No NATS server of %s reachable yet: serving local modules, joining federation %s when one is",
               options->servers[0], self->prefix + strlen ("juno."));
  else if (!check_status (status, "connect", error))
    {
      self->nc = NULL;
      federation_stop (self);
      return NULL;
    }

  sync = g_strconcat ("sync.", self->instance, NULL);
  reply = g_strconcat ("reply.", self->instance, ".>", NULL);
  if (!subscribe_fixed (self, "hb", KIND_HEARTBEAT, error) || !subscribe_fixed (self, "state", KIND_STATE, error) ||
      !subscribe_fixed (self, sync, KIND_SYNC, error) ||
      !subscribe_fixed (self, self->page_subject + strlen (self->prefix) + 1, KIND_PAGE, error) ||
      !subscribe_fixed (self, "discover", KIND_DISCOVER, error) || !subscribe_fixed (self, "bye", KIND_BYE, error) ||
      !subscribe_fixed (self, reply, KIND_REPLY, error))
    {
      federation_stop (self);
      return NULL;
    }

  juno_broker_set_broker_name (broker, self->name);
  juno_broker_set_extra_stats_func (broker, extra_stats, self);
  if (self->spread)
    juno_broker_set_route_func (broker, route_call, self);
  self->handlers[0] = g_signal_connect_swapped (broker, "module-activated", G_CALLBACK (on_registry_changed), self);
  self->handlers[1] = g_signal_connect_swapped (broker, "module-deactivated", G_CALLBACK (on_registry_changed), self);
  self->handlers[2] = g_signal_connect_swapped (broker, "function-declared", G_CALLBACK (on_registry_changed), self);
  self->handlers[3] = g_signal_connect_swapped (broker, "hook-registered", G_CALLBACK (on_registry_changed), self);
  self->handlers[4] = g_signal_connect_swapped (broker, "module-disconnected", G_CALLBACK (on_registry_changed), self);
  self->handlers[5] = g_signal_connect (broker, "hook-triggered", G_CALLBACK (on_hook_triggered), self);
  self->heartbeat_id = g_timeout_add ((guint) (self->heartbeat_usec / 1000), on_heartbeat, self);
  if (status == NATS_OK)
    joined (self, FALSE);
  return g_steal_pointer (&self);
}

/* natsConnection_Close waits up to 500 ms for the server's answer to a
 * last PING: with the main loop blocked here, a thread of our own reads
 * for libnats meanwhile, so the broker stops at once. */
static gint closing;

static gpointer
read_while_closing (gpointer data)
{
  natsConnection *nc = data;
  int fd;

  while (g_atomic_int_get (&closing))
    {
      struct pollfd p;

      g_mutex_lock (&nats_link.lock);
      fd = nats_link.fd;
      g_mutex_unlock (&nats_link.lock);
      if (fd < 0)
        break;
      p.fd = fd;
      p.events = POLLIN | (natsConnection_Buffered (nc) > 0 ? POLLOUT : 0);
      p.revents = 0;
      if (poll (&p, 1, 10) > 0)
        {
          if (p.revents & POLLOUT)
            natsConnection_ProcessWriteEvent (nc);
          if (p.revents & (POLLIN | POLLHUP | POLLERR))
            natsConnection_ProcessReadEvent (nc);
        }
    }
  return NULL;
}

static void
close_connection (natsConnection *nc)
{
  GThread *reader = NULL;

  if (natsConnection_Status (nc) == NATS_CONN_STATUS_CONNECTED)
    {
      g_atomic_int_set (&closing, 1);
      reader = g_thread_new ("juno-nats-close", read_while_closing, nc);
    }
  natsConnection_Close (nc);
  if (reader != NULL)
    {
      g_atomic_int_set (&closing, 0);
      g_thread_join (reader);
    }
}

static void
federation_stop (JunoFederation *self)
{
  g_return_if_fail (JUNO_IS_FEDERATION (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (self->handlers); i++)
    if (self->handlers[i] != 0)
      g_clear_signal_handler (&self->handlers[i], self->broker);
  g_clear_handle_id (&self->heartbeat_id, g_source_remove);
  g_clear_handle_id (&self->apply_id, g_source_remove);
  g_clear_handle_id (&self->local_id, g_source_remove);
  g_clear_handle_id (&self->failed_id, g_source_remove);

  if (self->nc != NULL)
    {
      g_autoptr(GString) s = begin_control (self);

      g_string_append_c (s, '}');
      publish_string (self, "bye", s);
      /* the main loop writes for libnats, and it is not turning now */
      for (int i = 0; i < 100 && natsConnection_Buffered (self->nc) > 0 &&
                      natsConnection_Status (self->nc) == NATS_CONN_STATUS_CONNECTED; i++)
        {
          natsConnection_ProcessWriteEvent (self->nc);
          if (natsConnection_Buffered (self->nc) > 0)
            g_usleep (1000);
        }
    }
  g_hash_table_remove_all (self->call_subs);
  g_hash_table_remove_all (self->hook_subs);
  g_clear_pointer (&self->fixed_subs, g_ptr_array_unref);
  g_clear_pointer (&self->draining, g_ptr_array_unref);
  if (self->nc != NULL)
    {
      close_connection (self->nc);
      natsConnection_Destroy (self->nc);
      self->nc = NULL;
    }
  g_clear_pointer (&self->opts, natsOptions_Destroy);
  link_apply ();
  g_mutex_lock (&nats_link.lock);
  nats_link.nc = NULL;
  g_clear_pointer (&nats_link.context, g_main_context_unref);
  g_mutex_unlock (&nats_link.lock);
  nats_link.poller = NULL;
  nats_link.owner = NULL;

  g_mutex_lock (&inbox.lock);
  if (inbox.owner == self)
    {
      inbox.owner = NULL;
      while (inbox.queue.length > 0)
        {
          Inbound *in = g_queue_pop_head (&inbox.queue);

          if (in->msg != NULL)
            natsMsg_Destroy (in->msg);
          g_free (in);
        }
      inbox.bytes = 0;
      g_clear_pointer (&inbox.context, g_main_context_unref);
    }
  g_mutex_unlock (&inbox.lock);

  /* the proxies go, and with them the modules of other brokers; calls
   * waiting on them get error 8 */
  if (self->broker != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->proxies);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        proxy_remove_endpoint (self, value);
      g_hash_table_remove_all (self->proxies);
      g_hash_table_iter_init (&iter, self->client_eps);
      while (g_hash_table_iter_next (&iter, &value, NULL))
        juno_broker_remove_endpoint (self->broker, value);
      g_hash_table_remove_all (self->client_eps);
      g_hash_table_remove_all (self->brokers);
      self->stranger = NULL;
      juno_broker_set_extra_stats_func (self->broker, NULL, NULL);
      juno_broker_set_route_func (self->broker, NULL, NULL);
    }
  set_state (self, "closed");
  /* cnats's own threads, so that nothing of it outlives the broker */
  nats_CloseAndWait (2000);
}

static const char *
federation_get_state (JunoFederation *self)
{
  g_return_val_if_fail (JUNO_IS_FEDERATION (self), NULL);
  return self->state;
}

G_MODULE_EXPORT const JunoFederationModule *juno_federation_module_entry (void);

const JunoFederationModule *
juno_federation_module_entry (void)
{
  static const JunoFederationModule table = {
    .abi = JUNO_FEDERATION_MODULE_ABI,
    .size = sizeof (JunoFederationModule),
    .version = PACKAGE_VERSION,
    .create = federation_new,
    .stop = federation_stop,
    .get_state = federation_get_state,
  };

  return &table;
}
