/* juno-dbus-module.h: the org.juno.Module1 objects and module descriptions
 *
 * Helpers of JunoDBusService: they read the broker's public API (the module
 * object JSON, endpoint counters and credentials) and fill D-Bus values.
 */
#pragma once

#include "juno-broker.h"
#include "juno-dbus-generated.h"

G_BEGIN_DECLS

char *juno_dbus_module_path (const char *module_id);
JunoDBusObjectSkeleton *juno_dbus_module_object_new (JunoBroker *broker, const char *module_id);
/* Registry state (Active, Functions, Hooks) and counters. */
void juno_dbus_module_object_refresh (JunoDBusObjectSkeleton *object, JunoBroker *broker);
/* Counters only (the throttled timer). */
void juno_dbus_module_object_refresh_counters (JunoDBusObjectSkeleton *object, JunoBroker *broker);
/* a{sv} for GetModuleInfo, or NULL when the module is unknown. */
GVariant *juno_dbus_module_info (JunoBroker *broker, const char *module_id, gboolean exported);

G_END_DECLS
