/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-service.h: the D-Bus control plane
 *
 * Exports the broker as org.juno.Broker1 at /org/juno/Broker1 and one
 * org.juno.Module1 object per registered module through an ObjectManager.
 * It listens to the broker's GObject signals and calls its public API,
 * nothing else. Losing the bus only turns the control plane off until the
 * bus is back (it connects again and asks for the name again); the broker
 * goes on serving its sockets all along.
 */
#pragma once

#include <gio/gio.h>

#include "juno-broker.h"

G_BEGIN_DECLS

#define JUNO_TYPE_DBUS_SERVICE (juno_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (JunoDBusService, juno_dbus_service, JUNO, DBUS_SERVICE, GObject)

/* Called once: when the name is owned, or when the bus or the name could
 * not be had (@owned FALSE). */
typedef void (*JunoDBusReadyFunc) (JunoDBusService *service, gboolean owned, gpointer user_data);

JunoDBusService *juno_dbus_service_new (JunoBroker *broker, const char *const *addresses);
/* Connects to the bus at @address (NULL: the bus of @bus_type) and asks
 * for the name. */
void juno_dbus_service_start (JunoDBusService *self,
                              GBusType bus_type,
                              const char *address,
                              JunoDBusReadyFunc func,
                              gpointer user_data);
/* D-Bus callers' calls time out after @timeout_usec, or after the
 * broker's call timeout if that is shorter (0: the broker's). Applies to
 * callers seen from now on. */
void juno_dbus_service_set_call_timeout (JunoDBusService *self, guint64 timeout_usec);
/* What ReloadPolicy runs once the caller is known to be root. */
typedef gboolean (*JunoDBusReloadFunc) (gpointer user_data, GError **error);
void juno_dbus_service_set_reload_func (JunoDBusService *self, JunoDBusReloadFunc func, gpointer user_data);

/* Publishes the state of the broker's federation (a JunoFederation, NULL
 * for none) as BrokerName, Federation and FederationBrokers, read from its
 * GObject properties "broker-name" (string), "state" (string) and "brokers"
 * (GStrv) and kept up to date through their notify signals. Without one
 * they are "", "off" and []. */
void juno_dbus_service_set_federation (JunoDBusService *self, GObject *federation);

/* Releases the name and closes the connection (flushing what is queued). */
void juno_dbus_service_stop (JunoDBusService *self);

G_END_DECLS
