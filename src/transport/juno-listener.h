/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-listener.h: the socket side of the broker
 *
 * A JunoListener owns the listening sockets (Unix, TCP, or sockets handed
 * over by systemd) and every accepted connection, and turns each connection
 * into a broker endpoint. Limits: connections at once, the length of one
 * line, and the output a connection may leave unread before it is cut off.
 */
#pragma once

#include <gio/gio.h>

#include "juno-broker.h"
#include "juno-poller.h"

G_BEGIN_DECLS

#define JUNO_TYPE_LISTENER (juno_listener_get_type ())
G_DECLARE_FINAL_TYPE (JunoListener, juno_listener, JUNO, LISTENER, GObject)

typedef struct
{
  guint max_connections;
  gsize max_message_size;
  gsize max_output_backlog;
  gsize max_total_buffer;  /* output of all connections; partial lines of all connections */
} JunoListenerLimits;

JunoListener *juno_listener_new (JunoBroker *broker, const JunoListenerLimits *limits, GError **error);
/* The epoll set of the connections; the daemon adds its signalfd to it. */
JunoPoller *juno_listener_get_poller (JunoListener *self);

gboolean juno_listener_listen_unix (JunoListener *self, const char *path, GError **error);
/* Returns the bound port in @bound_port (useful with port 0). */
gboolean juno_listener_listen_tcp (JunoListener *self, const char *address, guint16 port,
                                   guint16 *bound_port, GError **error);
/* Takes ownership of a listening socket fd (socket activation). */
gboolean juno_listener_adopt_fd (JunoListener *self, int fd, GError **error);

/* Closes every connection (their endpoints leave the broker) and listener. */
void juno_listener_close (JunoListener *self);

guint juno_listener_get_n_connections (JunoListener *self);
/* "unix:/path" and "tcp:127.0.0.1:2203" for each listening socket */
GStrv juno_listener_dup_addresses (JunoListener *self);

G_END_DECLS
