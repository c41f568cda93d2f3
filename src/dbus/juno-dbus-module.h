/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-module.h: the org.juno.Module1 objects and module descriptions
 *
 * Helpers of JunoDBusService. A module object costs nothing per module:
 * /org/juno/Broker1/module is one subtree registration whose nodes are the
 * broker's registered modules, and the ObjectManager on /org/juno/Broker1
 * is implemented here by hand. Every value is read from the core's public
 * API when a peer asks for it, or when a lifecycle signal says it changed;
 * nothing is cached and nothing runs per message.
 */
#pragma once

#include <gio/gio.h>

#include "juno-broker.h"

G_BEGIN_DECLS

typedef struct _JunoDBusModules JunoDBusModules;

/* The properties whose changes are signalled (PropertiesChanged): Active
 * with its value at once; Functions and Hooks, which can be long and
 * change in bursts, as invalidated, coalesced per module and at most ten
 * times a second. The counters are read live and never signalled. */
typedef enum
{
  JUNO_DBUS_MODULE_CHANGED_ACTIVE,
  JUNO_DBUS_MODULE_CHANGED_FUNCTIONS,
  JUNO_DBUS_MODULE_CHANGED_HOOKS,
} JunoDBusModuleChange;

JunoDBusModules *juno_dbus_modules_new (JunoBroker *broker);
void juno_dbus_modules_free (JunoDBusModules *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoDBusModules, juno_dbus_modules_free)

/* Registers the ObjectManager on JUNO_DBUS_PATH and the module subtree on
 * JUNO_DBUS_MODULE_PATH_PREFIX. */
gboolean juno_dbus_modules_export (JunoDBusModules *self, GDBusConnection *connection, GError **error);
void juno_dbus_modules_unexport (JunoDBusModules *self);

/* InterfacesAdded / InterfacesRemoved / PropertiesChanged, while exported
 * on an open connection. InterfacesAdded waits for the module's activation
 * (it then carries Active true), for the next of these calls, or for
 * juno_dbus_modules_flush, whichever comes first; an idle sends it
 * otherwise. */
void juno_dbus_modules_flush (JunoDBusModules *self);
void juno_dbus_modules_emit_added (JunoDBusModules *self, const char *module_id);
void juno_dbus_modules_emit_removed (JunoDBusModules *self, const char *module_id);
void juno_dbus_modules_emit_changed (JunoDBusModules *self, const char *module_id, JunoDBusModuleChange what);

char *juno_dbus_module_path (const char *module_id);
/* a(ssbo) for ListModules: every module but juno, sorted by moduleId. */
GVariant *juno_dbus_module_list (JunoBroker *broker);
/* a{sv} for GetModuleInfo, or NULL when the module is unknown. */
GVariant *juno_dbus_module_info (JunoBroker *broker, const char *module_id);

G_END_DECLS
