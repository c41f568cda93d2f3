/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-peers.h: the callers of the D-Bus control plane
 *
 * Each bus peer (unique name) that calls CallFunction, TriggerHook or
 * Subscribe is a client endpoint of its own in the core (transport
 * "dbus"), with the uid and pid the bus reports for it as its peer
 * credentials, its own calls-in-flight quota and its own caller identity,
 * JUNO_DBUS_CALLER_PREFIX followed by its unique name ("dbus::1.42"): the
 * ':' keeps it apart from every moduleId. A peer is forgotten when it
 * leaves the bus; its calls still in flight end then.
 *
 * HookTriggered goes to each subscriber as a unicast signal, under flow
 * control: after JUNO_DBUS_SUBSCRIBER_WINDOW bytes the subscriber is sent
 * an org.freedesktop.DBus.Peer.Ping, which it can only answer once it has
 * read everything before it. Until the answer comes, at most one more
 * window is sent, then up to JUNO_DBUS_SUBSCRIBER_HELD bytes are held
 * here (a burst within one main-loop turn, before any answer can be
 * read); what is over is dropped and counted (HooksDropped in GetStats).
 * So a subscriber that never reads holds at most two windows in the bus's
 * queue and JUNO_DBUS_SUBSCRIBER_HELD in juno, however fast the hooks
 * come.
 */
#pragma once

#include <gio/gio.h>

#include "juno-broker.h"

G_BEGIN_DECLS

#define JUNO_DBUS_SUBSCRIBER_WINDOW (256 * 1024)
#define JUNO_DBUS_SUBSCRIBER_HELD (4 * 1024 * 1024)
/* No signal or reply juno sends is larger: the system bus refuses messages
 * over 32 MiB by default, and disconnects the peer that sends one. */
#define JUNO_DBUS_MAX_MESSAGE_SIZE (30 * 1024 * 1024)

typedef struct _JunoDBusPeers JunoDBusPeers;
typedef struct _JunoDBusPeer JunoDBusPeer;

/* Runs with the peer of an invocation once its credentials are known. */
typedef void (*JunoDBusPeerFunc) (JunoDBusPeer *peer, GDBusMethodInvocation *invocation, gpointer user_data);

JunoDBusPeers *juno_dbus_peers_new (JunoBroker *broker);
void juno_dbus_peers_free (JunoDBusPeers *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoDBusPeers, juno_dbus_peers_free)

/* The call timeout of every peer's calls (see juno_endpoint_set_call_timeout). */
void juno_dbus_peers_set_call_timeout (JunoDBusPeers *self, guint64 timeout_usec);
/* The bus connection peers come from; NULL when it is gone: every peer is
 * then removed, its calls in flight ended. */
void juno_dbus_peers_set_connection (JunoDBusPeers *self, GDBusConnection *connection);

/* Runs @func for the sender of @invocation, now or once the bus told its
 * credentials; @func answers the invocation (it takes the handler's
 * reference). Answers it with an error itself when the peer cannot be
 * had. */
void juno_dbus_peers_dispatch (JunoDBusPeers *self,
                               GDBusMethodInvocation *invocation,
                               JunoDBusPeerFunc func,
                               gpointer user_data);

JunoEndpoint *juno_dbus_peer_get_endpoint (JunoDBusPeer *peer);
const char *juno_dbus_peer_get_name (JunoDBusPeer *peer);

/* HookTriggered subscriptions. Subscribe returns whether the peer was not
 * subscribed yet; Unsubscribe whether it was. */
gboolean juno_dbus_peer_subscribe (JunoDBusPeer *peer);
gboolean juno_dbus_peers_unsubscribe (JunoDBusPeers *self, const char *name);
guint juno_dbus_peers_get_n_subscribers (JunoDBusPeers *self);
void juno_dbus_peers_send_hook (JunoDBusPeers *self, const char *hook, const char *data_json);
guint64 juno_dbus_peers_get_hooks_dropped (JunoDBusPeers *self);

/* Called when the number of subscribers goes from 0 to 1 or back. */
void juno_dbus_peers_set_subscribers_func (JunoDBusPeers *self, GCallback func, gpointer user_data);

G_END_DECLS
