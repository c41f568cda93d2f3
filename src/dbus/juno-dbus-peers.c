/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-peers.c: see juno-dbus-peers.h
 *
 * Rules: a peer exists from its first call that needs one until it leaves
 * the bus (or the bus goes); every invocation handed to dispatch is
 * answered exactly once; asynchronous replies from the bus reach a peer
 * only through a PeerRef, which its removal clears, so a late reply finds
 * nothing rather than freed memory.
 */
#include "config.h"

#include <string.h>

#include "juno-dbus-error.h"
#include "juno-dbus-peers.h"

/* Invocations a peer may have waiting for its credentials. */
#define MAX_WAITING 64

typedef struct
{
  JunoDBusPeer *peer;
} PeerRef;

typedef struct
{
  GDBusMethodInvocation *invocation;
  JunoDBusPeerFunc func;
  gpointer user_data;
} Waiting;

struct _JunoDBusPeer
{
  JunoDBusPeers *peers;
  char *name;               /* unique bus name */
  JunoEndpoint *endpoint;   /* client endpoint in the core */
  PeerRef *ref;             /* GRcBox */
  guint watch_id;
  gboolean ready;           /* the bus answered about its credentials */
  gboolean credentials;     /* ...and gave them */
  GQueue waiting;           /* Waiting, until ready */
  /* HookTriggered flow control */
  gboolean subscribed;
  gboolean pinging;         /* a Ping is out, unanswered */
  gboolean dropping;        /* dropped since the last answer */
  gsize sent;               /* bytes sent since the last Ping went out */
  GQueue held;              /* GVariant bodies waiting for the answer */
  gsize held_size;
  guint refused_id;         /* the bus refused the Ping: wait, then go on */
};

struct _JunoDBusPeers
{
  JunoBroker *broker;
  GDBusConnection *connection;
  GHashTable *peers;        /* unique name -> JunoDBusPeer (owned) */
  guint n_subscribers;
  guint64 call_timeout_usec;
  guint64 hooks_dropped;
  GCallback subscribers_func;
  gpointer subscribers_data;
};

static void peer_free (gpointer data);

static void
release_held (JunoDBusPeer *peer)
{
  g_queue_clear_full (&peer->held, (GDestroyNotify) g_variant_unref);
  peer->held_size = 0;
}

/* The bytes a HookTriggered with @body costs the bus, about. */
static gsize
signal_size (GVariant *body)
{
  return g_variant_get_size (body) + 160;
}

JunoDBusPeers *
juno_dbus_peers_new (JunoBroker *broker)
{
  JunoDBusPeers *self = g_new0 (JunoDBusPeers, 1);

  self->broker = g_object_ref (broker);
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, peer_free);
  return self;
}

void
juno_dbus_peers_free (JunoDBusPeers *self)
{
  if (self == NULL)
    return;
  juno_dbus_peers_set_connection (self, NULL);
  g_hash_table_unref (self->peers);
  g_object_unref (self->broker);
  g_free (self);
}

void
juno_dbus_peers_set_call_timeout (JunoDBusPeers *self, guint64 timeout_usec)
{
  self->call_timeout_usec = timeout_usec;
}

void
juno_dbus_peers_set_subscribers_func (JunoDBusPeers *self, GCallback func, gpointer user_data)
{
  self->subscribers_func = func;
  self->subscribers_data = user_data;
}

static void
subscribers_changed (JunoDBusPeers *self)
{
  if (self->subscribers_func != NULL)
    ((void (*) (gpointer)) self->subscribers_func) (self->subscribers_data);
}

static void
answer_left (GDBusMethodInvocation *invocation)
{
  g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED,
                                         "The caller left the bus, or the broker lost it");
}

static void
peer_free (gpointer data)
{
  JunoDBusPeer *peer = data;
  JunoDBusPeers *self = peer->peers;
  Waiting *w;

  peer->ref->peer = NULL;
  g_rc_box_release (peer->ref);
  if (peer->watch_id != 0)
    g_bus_unwatch_name (peer->watch_id);
  g_clear_handle_id (&peer->refused_id, g_source_remove);
  release_held (peer);
  while ((w = g_queue_pop_head (&peer->waiting)) != NULL)
    {
      answer_left (w->invocation);
      g_free (w);
    }
  /* every call of it in flight ends now, each answered once */
  juno_broker_remove_endpoint (self->broker, peer->endpoint);
  if (peer->subscribed && --self->n_subscribers == 0)
    subscribers_changed (self);
  g_free (peer->name);
  g_free (peer);
}

void
juno_dbus_peers_set_connection (JunoDBusPeers *self, GDBusConnection *connection)
{
  if (self->connection == connection)
    return;
  g_hash_table_remove_all (self->peers);
  g_clear_object (&self->connection);
  if (connection != NULL)
    self->connection = g_object_ref (connection);
}

static void
on_peer_vanished (GDBusConnection *connection, const char *name, gpointer data)
{
  JunoDBusPeers *self = data;

  if (g_hash_table_remove (self->peers, name))
    g_debug ("D-Bus peer %s left the bus", name);
}

static void
run_waiting (JunoDBusPeer *peer)
{
  Waiting *w;

  while ((w = g_queue_pop_head (&peer->waiting)) != NULL)
    {
      if (peer->credentials)
        w->func (peer, w->invocation, w->user_data);
      else
        g_dbus_method_invocation_return_error (w->invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED,
                                               "The bus does not tell who the caller is");
      g_free (w);
    }
}

static void
on_credentials (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  PeerRef *ref = data;
  JunoDBusPeer *peer = ref->peer;

  g_rc_box_release (ref);
  if (peer == NULL)
    return;
  peer->ready = TRUE;
  if (reply != NULL)
    {
      g_autoptr(GVariant) dict = g_variant_get_child_value (reply, 0);
      guint32 uid, pid;

      if (g_variant_lookup (dict, "UnixUserID", "u", &uid) && g_variant_lookup (dict, "ProcessID", "u", &pid))
        {
          juno_endpoint_set_peer_credentials (peer->endpoint, (pid_t) pid, (uid_t) uid, (gid_t) -1);
          peer->credentials = TRUE;
          g_debug ("D-Bus peer %s is uid %u, pid %u", peer->name, uid, pid);
        }
    }
  if (!peer->credentials)
    g_debug ("No credentials for D-Bus peer %s: %s", peer->name, error ? error->message : "incomplete");
  run_waiting (peer);
}

static JunoDBusPeer *
peer_new (JunoDBusPeers *self, const char *name)
{
  JunoDBusPeer *peer = g_new0 (JunoDBusPeer, 1);
  g_autofree char *caller = g_strconcat (JUNO_DBUS_CALLER_PREFIX, name, NULL);

  peer->peers = self;
  peer->name = g_strdup (name);
  peer->ref = g_rc_box_new0 (PeerRef);
  peer->ref->peer = peer;
  peer->endpoint = juno_broker_add_client (self->broker, "dbus", caller);
  /* its identity in the broker's log lines: the unique name */
  juno_endpoint_set_peer_address (peer->endpoint, name, 0);
  juno_endpoint_set_call_timeout (peer->endpoint, self->call_timeout_usec);
  g_hash_table_insert (self->peers, peer->name, peer);

  /* the name watch first: a peer that is gone already is removed at once */
  peer->watch_id = g_bus_watch_name_on_connection (self->connection, name, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                                   on_peer_vanished, self, NULL);
  g_dbus_connection_call (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionCredentials", g_variant_new ("(s)", name),
                          G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_credentials,
                          g_rc_box_acquire (peer->ref));
  return peer;
}

void
juno_dbus_peers_dispatch (JunoDBusPeers *self, GDBusMethodInvocation *invocation, JunoDBusPeerFunc func,
                          gpointer user_data)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  JunoDBusPeer *peer;
  Waiting *w;

  if (sender == NULL || self->connection == NULL ||
      g_dbus_method_invocation_get_connection (invocation) != self->connection)
    {
      g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED,
                                             "Only callers on the broker's bus are served");
      return;
    }
  peer = g_hash_table_lookup (self->peers, sender);
  if (peer == NULL)
    peer = peer_new (self, sender);
  if (peer->ready && g_queue_is_empty (&peer->waiting))
    {
      if (peer->credentials)
        func (peer, invocation, user_data);
      else
        g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED,
                                               "The bus does not tell who the caller is");
      return;
    }
  if (peer->waiting.length >= MAX_WAITING)
    {
      g_dbus_method_invocation_return_error (invocation, JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_TOO_MANY_CALLS,
                                             "Too many calls before the bus told who the caller is");
      return;
    }
  w = g_new0 (Waiting, 1);
  w->invocation = invocation; /* the handler's reference, answered once */
  w->func = func;
  w->user_data = user_data;
  g_queue_push_tail (&peer->waiting, w);
}

JunoEndpoint *
juno_dbus_peer_get_endpoint (JunoDBusPeer *peer)
{
  return peer->endpoint;
}

const char *
juno_dbus_peer_get_name (JunoDBusPeer *peer)
{
  return peer->name;
}

/* Subscriptions */

gboolean
juno_dbus_peer_subscribe (JunoDBusPeer *peer)
{
  JunoDBusPeers *self = peer->peers;

  if (peer->subscribed)
    return FALSE;
  peer->subscribed = TRUE;
  peer->sent = 0;
  if (self->n_subscribers++ == 0)
    subscribers_changed (self);
  return TRUE;
}

gboolean
juno_dbus_peers_unsubscribe (JunoDBusPeers *self, const char *name)
{
  JunoDBusPeer *peer = name ? g_hash_table_lookup (self->peers, name) : NULL;

  if (peer == NULL || !peer->subscribed)
    return FALSE;
  peer->subscribed = FALSE;
  release_held (peer);
  if (--self->n_subscribers == 0)
    subscribers_changed (self);
  return TRUE;
}

guint
juno_dbus_peers_get_n_subscribers (JunoDBusPeers *self)
{
  return self->n_subscribers;
}

guint64
juno_dbus_peers_get_hooks_dropped (JunoDBusPeers *self)
{
  return self->hooks_dropped;
}

static void ping (JunoDBusPeer *peer);

static void caught_up (JunoDBusPeer *peer);

static gboolean
on_refused_wait (gpointer data)
{
  JunoDBusPeer *peer = data;

  peer->refused_id = 0;
  caught_up (peer);
  return G_SOURCE_REMOVE;
}

/* Any answer of the peer, an error too, comes after everything sent before
 * the Ping was read. An error of the bus itself (a policy that does not
 * let juno send Ping, a limit) proves nothing: then the window opens again
 * a second later, so the subscriber gets at most a window a second. */
static void
on_ping_answered (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  /* only that an answer came matters, not what it holds */
  g_autoptr(GVariant) reply G_GNUC_UNUSED = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  PeerRef *ref = data;
  JunoDBusPeer *peer = ref->peer;

  g_rc_box_release (ref);
  if (peer == NULL)
    return;
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_LIMITS_EXCEEDED))
    {
      g_debug ("The bus refused to pass a Ping to %s: %s", peer->name, error->message);
      peer->refused_id = g_timeout_add_seconds (1, on_refused_wait, peer);
      return;
    }
  caught_up (peer);
}

static void
send_signal (JunoDBusPeer *peer, GVariant *body)
{
  g_autoptr(GError) error = NULL;

  if (!g_dbus_connection_emit_signal (peer->peers->connection, peer->name, JUNO_DBUS_PATH, JUNO_DBUS_INTERFACE,
                                      "HookTriggered", body, &error))
    g_debug ("Cannot send HookTriggered to %s: %s", peer->name, error->message);
  peer->sent += signal_size (body);
  if (!peer->pinging && peer->sent >= JUNO_DBUS_SUBSCRIBER_WINDOW)
    ping (peer);
}

/* Everything before the last Ping was read: the next window goes out,
 * what was held first. */
static void
caught_up (JunoDBusPeer *peer)
{
  GVariant *body;

  peer->pinging = FALSE;
  if (peer->dropping)
    g_message ("D-Bus subscriber %s reads again; its HookTriggered signals resume", peer->name);
  peer->dropping = FALSE;
  if (!peer->subscribed || peer->peers->connection == NULL)
    return;
  if (peer->sent >= JUNO_DBUS_SUBSCRIBER_WINDOW)
    ping (peer);
  while ((!peer->pinging || peer->sent < JUNO_DBUS_SUBSCRIBER_WINDOW) &&
         (body = g_queue_pop_head (&peer->held)) != NULL)
    {
      peer->held_size -= signal_size (body);
      send_signal (peer, body);
      g_variant_unref (body);
    }
}

static void
ping (JunoDBusPeer *peer)
{
  peer->pinging = TRUE;
  peer->sent = 0;
  /* no timeout: a subscriber may read late, and then catches up */
  g_dbus_connection_call (peer->peers->connection, peer->name, "/", "org.freedesktop.DBus.Peer", "Ping", NULL,
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, G_MAXINT, NULL, on_ping_answered,
                          g_rc_box_acquire (peer->ref));
}

static void
drop (JunoDBusPeers *self, JunoDBusPeer *peer)
{
  self->hooks_dropped++;
  if (!peer->dropping)
    g_message ("D-Bus subscriber %s does not read its HookTriggered signals; dropping them until it does",
               peer->name);
  peer->dropping = TRUE;
}

void
juno_dbus_peers_send_hook (JunoDBusPeers *self, const char *hook, const char *data_json)
{
  g_autoptr(GVariant) body = NULL;
  GHashTableIter iter;
  gpointer value;
  gsize size;

  if (self->connection == NULL || self->n_subscribers == 0)
    return;
  body = g_variant_ref_sink (g_variant_new ("(ss)", hook, data_json));
  size = signal_size (body);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      JunoDBusPeer *peer = value;

      if (!peer->subscribed)
        continue;
      if (size > JUNO_DBUS_MAX_MESSAGE_SIZE)
        drop (self, peer);
      else if (g_queue_is_empty (&peer->held) && (!peer->pinging || peer->sent < JUNO_DBUS_SUBSCRIBER_WINDOW))
        send_signal (peer, body);
      else if (peer->held_size + size <= JUNO_DBUS_SUBSCRIBER_HELD)
        {
          /* in order: nothing is sent past what is held */
          g_queue_push_tail (&peer->held, g_variant_ref (body));
          peer->held_size += size;
        }
      else
        drop (self, peer);
    }
}
