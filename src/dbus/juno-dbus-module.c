/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-module.c: see juno-dbus-module.h
 *
 * No GObject, skeleton or cached GVariant per module. The subtree's
 * enumerate lists the registry's modules, introspect answers
 * org.juno.Module1 for a registered one, and dispatch sends every
 * org.freedesktop.DBus.Properties call to one vtable that reads the
 * module in the core. The node list is never built to route a call
 * (G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES): a call costs a
 * hash lookup however many modules there are, and a node that names no
 * module answers the standard UnknownObject.
 */
#include "config.h"

#include <string.h>

#include "juno-dbus-generated.h"
#include "juno-dbus-module.h"

/* Declared functions and listened hooks are signalled as invalidated
 * properties, per module, at most this often: a burst of declarations
 * costs a few small signals, never one per declaration. */
#define CHANGED_DELAY_MSEC 100
/* An InterfacesAdded larger than this leaves out the lists (Functions,
 * Hooks, Dependencies), which peers then read with Get. */
#define MAX_ADDED_SIZE (64 * 1024)

#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"
#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"

/* The standard interfaces implemented here, as GDBus describes them. */
static const char standard_xml[] =
  "<node>"
  "  <interface name='" OBJECT_MANAGER_INTERFACE "'>"
  "    <method name='GetManagedObjects'>"
  "      <arg type='a{oa{sa{sv}}}' name='object_paths_interfaces_and_properties' direction='out'/>"
  "    </method>"
  "    <signal name='InterfacesAdded'>"
  "      <arg type='o' name='object_path'/>"
  "      <arg type='a{sa{sv}}' name='interfaces_and_properties'/>"
  "    </signal>"
  "    <signal name='InterfacesRemoved'>"
  "      <arg type='o' name='object_path'/>"
  "      <arg type='as' name='interfaces'/>"
  "    </signal>"
  "  </interface>"
  "  <interface name='" PROPERTIES_INTERFACE "'>"
  "    <method name='Get'>"
  "      <arg type='s' name='interface_name' direction='in'/>"
  "      <arg type='s' name='property_name' direction='in'/>"
  "      <arg type='v' name='value' direction='out'/>"
  "    </method>"
  "    <method name='GetAll'>"
  "      <arg type='s' name='interface_name' direction='in'/>"
  "      <arg type='a{sv}' name='properties' direction='out'/>"
  "    </method>"
  "    <method name='Set'>"
  "      <arg type='s' name='interface_name' direction='in'/>"
  "      <arg type='s' name='property_name' direction='in'/>"
  "      <arg type='v' name='value' direction='in'/>"
  "    </method>"
  "    <signal name='PropertiesChanged'>"
  "      <arg type='s' name='interface_name'/>"
  "      <arg type='a{sv}' name='changed_properties'/>"
  "      <arg type='as' name='invalidated_properties'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

/* org.juno.Module1's properties, in the order of data/org.juno.Broker1.xml
 * (checked against the generated interface info in juno_dbus_modules_new). */
typedef enum
{
  PROP_MODULE_ID,
  PROP_VERSION,
  PROP_ACTIVE,
  PROP_DEPENDENCIES,
  PROP_FUNCTIONS,
  PROP_HOOKS,
  PROP_BROKERS,
  PROP_CONNECTION_ID,
  PROP_TRANSPORT,
  PROP_PEER_PID,
  PROP_PEER_UID,
  PROP_PEER_GID,
  PROP_PEER_USER,
  PROP_PEER_GROUP,
  PROP_PEER_UNIT,
  PROP_PEER_USER_UNIT,
  PROP_PEER_SLICE,
  PROP_PEER_ADDRESS,
  PROP_MESSAGES_IN,
  PROP_MESSAGES_OUT,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_CALLS_MADE,
  PROP_CALLS_RECEIVED,
  N_PROPS
} ModuleProperty;

static const char *const property_names[N_PROPS] = {
  [PROP_MODULE_ID] = "ModuleId",
  [PROP_VERSION] = "Version",
  [PROP_ACTIVE] = "Active",
  [PROP_DEPENDENCIES] = "Dependencies",
  [PROP_FUNCTIONS] = "Functions",
  [PROP_HOOKS] = "Hooks",
  [PROP_BROKERS] = "Brokers",
  [PROP_CONNECTION_ID] = "ConnectionId",
  [PROP_TRANSPORT] = "Transport",
  [PROP_PEER_PID] = "PeerPid",
  [PROP_PEER_UID] = "PeerUid",
  [PROP_PEER_GID] = "PeerGid",
  [PROP_PEER_USER] = "PeerUser",
  [PROP_PEER_GROUP] = "PeerGroup",
  [PROP_PEER_UNIT] = "PeerUnit",
  [PROP_PEER_USER_UNIT] = "PeerUserUnit",
  [PROP_PEER_SLICE] = "PeerSlice",
  [PROP_PEER_ADDRESS] = "PeerAddress",
  [PROP_MESSAGES_IN] = "MessagesIn",
  [PROP_MESSAGES_OUT] = "MessagesOut",
  [PROP_BYTES_IN] = "BytesIn",
  [PROP_BYTES_OUT] = "BytesOut",
  [PROP_CALLS_MADE] = "CallsMade",
  [PROP_CALLS_RECEIVED] = "CallsReceived",
};

/* What both registrations point to. GDBus may still run a callback it
 * queued before the unregistration, and frees its user data only from a
 * later main-loop turn: unexport clears @modules, so such a callback finds
 * nothing rather than freed memory. */
typedef struct
{
  JunoDBusModules *modules;
} Registration;

struct _JunoDBusModules
{
  JunoBroker *broker;
  GDBusNodeInfo *standard;
  GDBusInterfaceInfo *module_info;      /* generated, static */
  GDBusInterfaceInfo *manager_info;     /* in standard */
  GDBusInterfaceInfo *properties_info;  /* in standard */
  GDBusConnection *connection;          /* while exported */
  Registration *registration;           /* GRcBox, while exported */
  guint manager_id;
  guint subtree_id;
  char *pending_added;                  /* see juno_dbus_modules_emit_added */
  guint flush_id;
  GHashTable *invalidated;              /* moduleId -> InvalidFlags, waiting for changed_id */
  guint changed_id;
};

typedef enum
{
  INVALID_FUNCTIONS = 1 << 0,
  INVALID_HOOKS = 1 << 1,
} InvalidFlags;

/* Values */

/* Adds key: value to an a{sv} builder. Built from the values, not from a
 * format string: GVariant parses a format string on every call, and an
 * InterfacesAdded adds 24 of these (10 % of the instructions a module's
 * InterfacesAdded costs, docs/performance.md). */
static void
vardict_add (GVariantBuilder *builder, const char *key, GVariant *value)
{
  g_variant_builder_add_value (builder, g_variant_new_dict_entry (g_variant_new_string (key),
                                                                  g_variant_new_variant (value)));
}

/* @value (floating, consumed) in serialised form, owned: one buffer
 * instead of a tree of GVariants, about ten times smaller for a module's
 * properties. Replies and signals listing many modules are built from
 * such pieces, so that even with 100 000 modules they stay a few
 * hundred bytes per module while they are being sent. */
static GVariant *
flatten (GVariant *value)
{
  GVariant *flat = g_variant_ref_sink (value);

  (void) g_variant_get_data (flat);
  return flat;
}

static GVariant *
strv_take (const char **strv, guint n)
{
  GVariant *value = g_variant_new_strv (strv, n);

  g_free (strv);
  return value;
}

static GVariant *
dependencies_variant (JunoModule *module)
{
  GVariantBuilder builder;
  guint n = juno_module_get_n_dependencies (module);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  for (guint i = 0; i < n; i++)
    {
      const char *name, *requirement;

      juno_module_get_dependency (module, i, &name, &requirement);
      g_variant_builder_add (&builder, "{ss}", name, requirement);
    }
  return g_variant_builder_end (&builder);
}

static GVariant *
functions_variant (JunoModule *module)
{
  guint n;
  const char **functions = juno_module_dup_functions (module, &n);

  return strv_take (functions, n);
}

static GVariant *
hooks_variant (JunoModule *module)
{
  guint n;
  const char **hooks = juno_module_dup_hooks (module, &n);

  return strv_take (hooks, n);
}

/* Where its instances run: empty when the broker is not federated. */
static GVariant *
brokers_variant (JunoBroker *broker, JunoModule *module)
{
  const char *const *brokers = juno_broker_get_module_brokers (broker, juno_module_get_id (module));

  return g_variant_new_strv (brokers, brokers != NULL ? -1 : 0);
}

static GVariant *
connection_id_variant (JunoEndpoint *endpoint)
{
  return g_variant_new_take_string (g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                     endpoint ? juno_endpoint_get_id (endpoint) : 0));
}

/* A floating value of @module. Only the properties before PROP_TRANSPORT
 * exist for juno, which has no endpoint. */
/* "127.0.0.1:5000" for a TCP peer, "" otherwise */
static GVariant *
peer_address_variant (JunoEndpoint *endpoint)
{
  g_autofree char *text = NULL;

  if (juno_endpoint_get_peer_address (endpoint) == NULL || juno_endpoint_get_peer_port (endpoint) == 0)
    return g_variant_new_string ("");
  text = g_strdup_printf ("%s:%u", juno_endpoint_get_peer_address (endpoint),
                          (unsigned) juno_endpoint_get_peer_port (endpoint));
  return g_variant_new_string (text);
}

/* Left out of GetModuleInfo when unknown (the object has them all). */
static gboolean
property_known (JunoEndpoint *endpoint, gboolean credentials, ModuleProperty prop)
{
  switch (prop)
    {
    case PROP_PEER_PID:
    case PROP_PEER_UID:
    case PROP_PEER_GID:
      return credentials;
    case PROP_PEER_USER:
      return juno_endpoint_get_peer_user (endpoint) != NULL;
    case PROP_PEER_GROUP:
      return juno_endpoint_get_peer_group (endpoint) != NULL;
    case PROP_PEER_UNIT:
      return juno_endpoint_get_peer_unit (endpoint) != NULL;
    case PROP_PEER_USER_UNIT:
      return juno_endpoint_get_peer_user_unit (endpoint) != NULL;
    case PROP_PEER_SLICE:
      return juno_endpoint_get_peer_slice (endpoint) != NULL;
    case PROP_PEER_ADDRESS:
      return juno_endpoint_get_peer_port (endpoint) != 0;
    default:
      return TRUE;
    }
}

static GVariant *
property_value (JunoBroker *broker, JunoModule *module, ModuleProperty prop)
{
  JunoEndpoint *endpoint = juno_module_get_endpoint (module);
  const JunoEndpointStats *stats = endpoint != NULL ? juno_endpoint_get_stats (endpoint) : NULL;
  pid_t pid = 0;
  uid_t uid = (uid_t) -1;

  switch (prop)
    {
    case PROP_MODULE_ID:
      return g_variant_new_string (juno_module_get_id (module));
    case PROP_VERSION:
      return g_variant_new_string (juno_module_get_version (module));
    case PROP_ACTIVE:
      return g_variant_new_boolean (juno_module_get_active (module));
    case PROP_DEPENDENCIES:
      return dependencies_variant (module);
    case PROP_FUNCTIONS:
      return functions_variant (module);
    case PROP_HOOKS:
      return hooks_variant (module);
    case PROP_BROKERS:
      return brokers_variant (broker, module);
    case PROP_CONNECTION_ID:
      return connection_id_variant (endpoint);
    case PROP_TRANSPORT:
      return g_variant_new_string (juno_endpoint_get_transport (endpoint));
    case PROP_PEER_PID:
      juno_endpoint_get_peer_credentials (endpoint, &pid, NULL, NULL);
      return g_variant_new_uint32 ((guint32) pid);
    case PROP_PEER_UID:
      juno_endpoint_get_peer_credentials (endpoint, NULL, &uid, NULL);
      return g_variant_new_uint32 ((guint32) uid);
    case PROP_PEER_GID:
      {
        gid_t gid = (gid_t) -1;

        juno_endpoint_get_peer_credentials (endpoint, NULL, NULL, &gid);
        return g_variant_new_uint32 ((guint32) gid);
      }
    case PROP_PEER_USER:
      return g_variant_new_string (juno_endpoint_get_peer_user (endpoint) ?: "");
    case PROP_PEER_GROUP:
      return g_variant_new_string (juno_endpoint_get_peer_group (endpoint) ?: "");
    case PROP_PEER_UNIT:
      return g_variant_new_string (juno_endpoint_get_peer_unit (endpoint) ?: "");
    case PROP_PEER_USER_UNIT:
      return g_variant_new_string (juno_endpoint_get_peer_user_unit (endpoint) ?: "");
    case PROP_PEER_SLICE:
      return g_variant_new_string (juno_endpoint_get_peer_slice (endpoint) ?: "");
    case PROP_PEER_ADDRESS:
      return peer_address_variant (endpoint);
    case PROP_MESSAGES_IN:
      return g_variant_new_uint64 (stats->messages_in);
    case PROP_MESSAGES_OUT:
      return g_variant_new_uint64 (stats->messages_out);
    case PROP_BYTES_IN:
      return g_variant_new_uint64 (stats->bytes_in);
    case PROP_BYTES_OUT:
      return g_variant_new_uint64 (stats->bytes_out);
    case PROP_CALLS_MADE:
      return g_variant_new_uint64 (stats->calls_made);
    case PROP_CALLS_RECEIVED:
      return g_variant_new_uint64 (stats->calls_received);
    case N_PROPS:
    default:
      g_assert_not_reached ();
    }
}

static int
property_lookup (const char *name)
{
  for (int i = 0; i < N_PROPS; i++)
    if (strcmp (property_names[i], name) == 0)
      return i;
  return -1;
}

static gboolean
is_list (ModuleProperty prop)
{
  return prop == PROP_DEPENDENCIES || prop == PROP_FUNCTIONS || prop == PROP_HOOKS;
}

/* a{sv}: every org.juno.Module1 property of @module, or all but the lists. */
static GVariant *
module_properties_full (JunoBroker *broker, JunoModule *module, gboolean lists)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  for (int i = 0; i < N_PROPS; i++)
    if (lists || !is_list ((ModuleProperty) i))
      vardict_add (&builder, property_names[i], property_value (broker, module, (ModuleProperty) i));
  return g_variant_builder_end (&builder);
}

static GVariant *
module_properties (JunoBroker *broker, JunoModule *module)
{
  return module_properties_full (broker, module, TRUE);
}

/* a{sa{sv}}: the interfaces of a module object and their properties. */
static GVariant *
module_interfaces_full (JunoBroker *broker, JunoModule *module, gboolean lists)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sa{sv}}"));
  g_variant_builder_add_value (&builder, g_variant_new_dict_entry (g_variant_new_string (JUNO_DBUS_MODULE_INTERFACE),
                                                                   module_properties_full (broker, module, lists)));
  return g_variant_builder_end (&builder);
}

static GVariant *
module_interfaces (JunoBroker *broker, JunoModule *module)
{
  return module_interfaces_full (broker, module, TRUE);
}

char *
juno_dbus_module_path (const char *module_id)
{
  g_autofree char *escaped = g_dbus_escape_object_path (module_id);

  return g_strconcat (JUNO_DBUS_MODULE_PATH_PREFIX "/", escaped, NULL);
}

/* The module with an object of that id: registered, and not juno. */
static JunoModule *
lookup_module (JunoBroker *broker, const char *module_id)
{
  JunoModule *module = juno_broker_lookup_module (broker, module_id);

  return module != NULL && juno_module_get_endpoint (module) != NULL ? module : NULL;
}

/* The module a node of the subtree stands for: one path per module, so
 * the node must be exactly the escaped moduleId ("_61" is not "a"). */
static JunoModule *
lookup_node (JunoDBusModules *self, const char *node)
{
  g_autofree char *module_id = NULL;
  g_autofree char *canonical = NULL;
  JunoModule *module;

  if (node == NULL || *node == '\0')
    return NULL;
  module_id = (char *) g_dbus_unescape_object_path (node);
  if (module_id == NULL || (module = lookup_module (self->broker, module_id)) == NULL)
    return NULL;
  canonical = g_dbus_escape_object_path (module_id);
  return strcmp (canonical, node) == 0 ? module : NULL;
}

/* The module subtree */

static char **
subtree_enumerate (GDBusConnection *connection, const char *sender, const char *object_path,
                   gpointer user_data)
{
  Registration *registration = user_data;
  g_autofree JunoModule **modules = NULL;
  char **nodes;
  guint n;

  if (registration->modules == NULL)
    return g_new0 (char *, 1);
  modules = juno_broker_dup_modules (registration->modules->broker, &n);
  nodes = g_new (char *, n + 1);
  for (guint i = 0; i < n; i++)
    nodes[i] = g_dbus_escape_object_path (juno_module_get_id (modules[i]));
  nodes[n] = NULL;
  return nodes;
}

static GDBusInterfaceInfo **
subtree_introspect (GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *node, gpointer user_data)
{
  Registration *registration = user_data;
  JunoDBusModules *self = registration->modules;
  GDBusInterfaceInfo **interfaces;

  /* the subtree's root only has children */
  if (self == NULL || node == NULL)
    return NULL;
  /* Properties on any node, so that a Get on a module that left reaches
   * the vtable and answers UnknownObject */
  interfaces = g_new0 (GDBusInterfaceInfo *, 3);
  interfaces[0] = g_dbus_interface_info_ref (self->properties_info);
  if (lookup_node (self, node) != NULL)
    interfaces[1] = g_dbus_interface_info_ref (self->module_info);
  return interfaces;
}

static void
return_unknown_object (GDBusMethodInvocation *invocation, const char *object_path)
{
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                                         "No module object at %s", object_path);
}

/* @interface_name is org.juno.Module1, or the error is returned. */
static gboolean
check_interface (GDBusMethodInvocation *invocation, const char *interface_name, const char *object_path)
{
  if (strcmp (interface_name, JUNO_DBUS_MODULE_INTERFACE) == 0)
    return TRUE;
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE,
                                         "No interface %s with properties at %s", interface_name, object_path);
  return FALSE;
}

/* The property named, or -1 with the error returned. */
static int
check_property (GDBusMethodInvocation *invocation, const char *property_name)
{
  int prop = property_lookup (property_name);

  if (prop < 0)
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
                                           "No property %s on " JUNO_DBUS_MODULE_INTERFACE, property_name);
  return prop;
}

/* org.freedesktop.DBus.Properties of a module node (GDBus checked the
 * method and its signature against properties_info). */
static void
module_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *method_name, GVariant *parameters,
                    GDBusMethodInvocation *invocation, gpointer user_data)
{
  Registration *registration = user_data;
  const char *node = strrchr (object_path, '/');
  JunoBroker *broker;
  const char *iface = NULL;
  const char *name = NULL;
  JunoModule *module;
  int prop;

  if (registration->modules == NULL ||
      (module = lookup_node (registration->modules, node ? node + 1 : NULL)) == NULL)
    {
      return_unknown_object (invocation, object_path);
      return;
    }
  broker = registration->modules->broker;

  if (strcmp (method_name, "Get") == 0)
    {
      g_variant_get (parameters, "(&s&s)", &iface, &name);
      if (check_interface (invocation, iface, object_path) && (prop = check_property (invocation, name)) >= 0)
        g_dbus_method_invocation_return_value (invocation,
                                               g_variant_new ("(v)", property_value (broker, module, (ModuleProperty) prop)));
    }
  else if (strcmp (method_name, "GetAll") == 0)
    {
      g_variant_get (parameters, "(&s)", &iface);
      if (check_interface (invocation, iface, object_path))
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a{sv})", module_properties (broker, module)));
    }
  else if (strcmp (method_name, "Set") == 0)
    {
      g_variant_get (parameters, "(&s&sv)", &iface, &name, NULL);
      if (check_interface (invocation, iface, object_path) && check_property (invocation, name) >= 0)
        g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY,
                                               "Property %s is read-only", name);
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No method %s.%s", interface_name, method_name);
}

static const GDBusInterfaceVTable module_vtable = {
  .method_call = module_method_call,
};

static const GDBusInterfaceVTable *
subtree_dispatch (GDBusConnection *connection, const char *sender, const char *object_path,
                  const char *interface_name, const char *node, gpointer *out_user_data,
                  gpointer user_data)
{
  /* org.juno.Module1 has no methods: GDBus answers its calls itself */
  *out_user_data = user_data;
  return &module_vtable;
}

/* The ObjectManager */

static GVariant *
managed_objects (JunoDBusModules *self)
{
  g_autofree JunoModule **modules = juno_broker_dup_modules (self->broker, NULL);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{oa{sa{sv}}}"));
  for (JunoModule **m = modules; *m != NULL; m++)
    {
      g_autofree char *path = juno_dbus_module_path (juno_module_get_id (*m));
      g_autoptr(GVariant) entry = flatten (g_variant_new ("{o@a{sa{sv}}}", path, module_interfaces (self->broker, *m)));

      g_variant_builder_add_value (&builder, entry);
    }
  return g_variant_builder_end (&builder);
}

static void
manager_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                     const char *interface_name, const char *method_name, GVariant *parameters,
                     GDBusMethodInvocation *invocation, gpointer user_data)
{
  Registration *registration = user_data;

  /* GetManagedObjects, the interface's one method */
  if (registration->modules == NULL)
    return_unknown_object (invocation, object_path);
  else
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(@a{oa{sa{sv}}})", managed_objects (registration->modules)));
}

static const GDBusInterfaceVTable manager_vtable = {
  .method_call = manager_method_call,
};

static const GDBusSubtreeVTable subtree_vtable = {
  .enumerate = subtree_enumerate,
  .introspect = subtree_introspect,
  .dispatch = subtree_dispatch,
};

/* Signals */

static gboolean
can_emit (JunoDBusModules *self)
{
  return self->connection != NULL && !g_dbus_connection_is_closed (self->connection);
}

/* Sends @params (floating, consumed) as a broadcast signal, flattened: a
 * signal waits in GDBus's queue until the bus reads it, and in a burst of
 * registrations thousands wait at once (an InterfacesAdded is ~5 KB as a
 * tree, ~0.7 KB flat). */
static void
emit (JunoDBusModules *self, const char *path, const char *interface_name, const char *member, GVariant *params)
{
  g_autoptr(GVariant) body = flatten (params);
  g_autoptr(GError) error = NULL;

  if (!g_dbus_connection_emit_signal (self->connection, NULL, path, interface_name, member, body, &error))
    g_debug ("Cannot emit %s.%s on %s: %s", interface_name, member, path, error->message);
}

/* (oa{sa{sv}}), flat */
static GVariant *
added_params (const char *path, GVariant *interfaces)
{
  GVariant *items[2] = { g_variant_new_object_path (path), interfaces };

  return flatten (g_variant_new_tuple (items, G_N_ELEMENTS (items)));
}

static void
send_added (JunoDBusModules *self, const char *module_id)
{
  g_autofree char *path = NULL;
  g_autoptr(GVariant) params = NULL;
  JunoModule *module = lookup_module (self->broker, module_id);

  if (module == NULL)
    return;
  path = juno_dbus_module_path (module_id);
  params = added_params (path, module_interfaces (self->broker, module));
  /* bounded: long lists are read on demand */
  if (g_variant_get_size (params) > MAX_ADDED_SIZE)
    {
      g_variant_unref (params);
      params = added_params (path, module_interfaces_full (self->broker, module, FALSE));
    }
  emit (self, JUNO_DBUS_PATH, OBJECT_MANAGER_INTERFACE, "InterfacesAdded", params);
}

void
juno_dbus_modules_flush (JunoDBusModules *self)
{
  g_autofree char *module_id = g_steal_pointer (&self->pending_added);

  if (module_id != NULL && can_emit (self))
    send_added (self, module_id);
}

static gboolean
on_flush (gpointer data)
{
  JunoDBusModules *self = data;

  self->flush_id = 0;
  juno_dbus_modules_flush (self);
  return G_SOURCE_REMOVE;
}

/* The broker announces a module before it resolves its dependencies, and
 * most modules become active in that same call: InterfacesAdded waits for
 * it, to carry Active true at once instead of being followed by a
 * PropertiesChanged. That is one signal less per registration, which
 * matters in a burst: every signal waits in GDBus's queue until the bus
 * reads it. Whatever the broker does next sends a waiting InterfacesAdded
 * first, and an idle sends it when nothing follows. */
void
juno_dbus_modules_emit_added (JunoDBusModules *self, const char *module_id)
{
  juno_dbus_modules_flush (self);
  if (!can_emit (self))
    return;
  self->pending_added = g_strdup (module_id);
  if (self->flush_id == 0)
    self->flush_id = g_idle_add_full (G_PRIORITY_HIGH, on_flush, self, NULL);
}

void
juno_dbus_modules_emit_removed (JunoDBusModules *self, const char *module_id)
{
  static const char *const interfaces[] = { JUNO_DBUS_MODULE_INTERFACE, NULL };
  g_autofree char *path = NULL;

  g_hash_table_remove (self->invalidated, module_id);
  /* gone before it was announced: nothing to take back */
  if (g_strcmp0 (self->pending_added, module_id) == 0)
    {
      g_clear_pointer (&self->pending_added, g_free);
      return;
    }
  juno_dbus_modules_flush (self);
  if (!can_emit (self))
    return;
  path = juno_dbus_module_path (module_id);
  emit (self, JUNO_DBUS_PATH, OBJECT_MANAGER_INTERFACE, "InterfacesRemoved",
        g_variant_new ("(o^as)", path, interfaces));
}

static gboolean
on_changed_delay (gpointer data)
{
  JunoDBusModules *self = data;
  g_autoptr(GHashTable) invalidated = g_steal_pointer (&self->invalidated);
  GHashTableIter iter;
  gpointer key, value;

  self->changed_id = 0;
  self->invalidated = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  juno_dbus_modules_flush (self);
  if (!can_emit (self))
    return G_SOURCE_REMOVE;
  g_hash_table_iter_init (&iter, invalidated);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autofree char *path = NULL;
      const char *names[3] = { NULL, NULL, NULL };
      guint flags = GPOINTER_TO_UINT (value), n = 0;

      if (lookup_module (self->broker, key) == NULL)
        continue;
      if (flags & INVALID_FUNCTIONS)
        names[n++] = property_names[PROP_FUNCTIONS];
      if (flags & INVALID_HOOKS)
        names[n++] = property_names[PROP_HOOKS];
      path = juno_dbus_module_path (key);
      emit (self, path, PROPERTIES_INTERFACE, "PropertiesChanged",
            g_variant_new ("(s@a{sv}^as)", JUNO_DBUS_MODULE_INTERFACE,
                           g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0), names));
    }
  return G_SOURCE_REMOVE;
}

/* Functions and Hooks: the change is marked, and one PropertiesChanged per
 * module invalidates the lists CHANGED_DELAY_MSEC later, whatever the
 * number of changes in between. Its size does not depend on the lists. */
static void
invalidate (JunoDBusModules *self, const char *module_id, InvalidFlags flag)
{
  gpointer old = NULL;

  if (g_hash_table_lookup_extended (self->invalidated, module_id, NULL, &old))
    g_hash_table_insert (self->invalidated, g_strdup (module_id), GUINT_TO_POINTER (GPOINTER_TO_UINT (old) | flag));
  else
    g_hash_table_insert (self->invalidated, g_strdup (module_id), GUINT_TO_POINTER (flag));
  if (self->changed_id == 0)
    self->changed_id = g_timeout_add (CHANGED_DELAY_MSEC, on_changed_delay, self);
}

void
juno_dbus_modules_emit_changed (JunoDBusModules *self, const char *module_id, JunoDBusModuleChange what)
{
  static const ModuleProperty props[] = {
    [JUNO_DBUS_MODULE_CHANGED_ACTIVE] = PROP_ACTIVE,
    [JUNO_DBUS_MODULE_CHANGED_FUNCTIONS] = PROP_FUNCTIONS,
    [JUNO_DBUS_MODULE_CHANGED_HOOKS] = PROP_HOOKS,
  };
  g_autofree char *path = NULL;
  GVariantBuilder changed;
  JunoModule *module;

  g_return_if_fail ((guint) what < G_N_ELEMENTS (props));
  /* the waiting InterfacesAdded of this module carries the change */
  if (g_strcmp0 (self->pending_added, module_id) == 0)
    {
      juno_dbus_modules_flush (self);
      return;
    }
  juno_dbus_modules_flush (self);
  if (!can_emit (self) || (module = lookup_module (self->broker, module_id)) == NULL)
    return;
  if (what != JUNO_DBUS_MODULE_CHANGED_ACTIVE)
    {
      invalidate (self, module_id, what == JUNO_DBUS_MODULE_CHANGED_FUNCTIONS ? INVALID_FUNCTIONS : INVALID_HOOKS);
      return;
    }
  path = juno_dbus_module_path (module_id);
  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  vardict_add (&changed, property_names[props[what]], property_value (self->broker, module, props[what]));
  emit (self, path, PROPERTIES_INTERFACE, "PropertiesChanged",
        g_variant_new ("(sa{sv}@as)", JUNO_DBUS_MODULE_INTERFACE, &changed, g_variant_new_strv (NULL, 0)));
}

/* Lifecycle */

JunoDBusModules *
juno_dbus_modules_new (JunoBroker *broker)
{
  g_autoptr(GError) error = NULL;
  JunoDBusModules *self = g_new0 (JunoDBusModules, 1);
  guint n;

  self->broker = g_object_ref (broker);
  self->standard = g_dbus_node_info_new_for_xml (standard_xml, &error);
  if (self->standard == NULL)
    g_error ("The standard interfaces do not parse: %s", error->message);
  self->manager_info = g_dbus_node_info_lookup_interface (self->standard, OBJECT_MANAGER_INTERFACE);
  self->properties_info = g_dbus_node_info_lookup_interface (self->standard, PROPERTIES_INTERFACE);
  self->module_info = juno_dbus_module1_interface_info ();
  self->invalidated = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* the table above and the interface XML name the same properties */
  for (int i = 0; i < N_PROPS; i++)
    g_assert (g_dbus_interface_info_lookup_property (self->module_info, property_names[i]) != NULL);
  for (n = 0; self->module_info->properties[n] != NULL; n++)
    ;
  g_assert (n == N_PROPS);
  return self;
}

void
juno_dbus_modules_free (JunoDBusModules *self)
{
  if (self == NULL)
    return;
  juno_dbus_modules_unexport (self);
  g_hash_table_unref (self->invalidated);
  g_dbus_node_info_unref (self->standard);
  g_object_unref (self->broker);
  g_free (self);
}

static void
registration_release (gpointer data)
{
  g_rc_box_release (data);
}

gboolean
juno_dbus_modules_export (JunoDBusModules *self, GDBusConnection *connection, GError **error)
{
  g_return_val_if_fail (self->connection == NULL, FALSE);

  self->connection = g_object_ref (connection);
  self->registration = g_rc_box_new0 (Registration);
  self->registration->modules = self;
  self->manager_id = g_dbus_connection_register_object (connection, JUNO_DBUS_PATH, self->manager_info,
                                                        &manager_vtable, g_rc_box_acquire (self->registration),
                                                        registration_release, error);
  if (self->manager_id != 0)
    self->subtree_id = g_dbus_connection_register_subtree (connection, JUNO_DBUS_MODULE_PATH_PREFIX, &subtree_vtable,
                                                           G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES,
                                                           g_rc_box_acquire (self->registration),
                                                           registration_release, error);
  if (self->subtree_id == 0)
    {
      juno_dbus_modules_unexport (self);
      return FALSE;
    }
  return TRUE;
}

void
juno_dbus_modules_unexport (JunoDBusModules *self)
{
  if (self->subtree_id != 0)
    g_dbus_connection_unregister_subtree (self->connection, self->subtree_id);
  if (self->manager_id != 0)
    g_dbus_connection_unregister_object (self->connection, self->manager_id);
  self->subtree_id = 0;
  self->manager_id = 0;
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_clear_handle_id (&self->changed_id, g_source_remove);
  g_hash_table_remove_all (self->invalidated);
  g_clear_pointer (&self->pending_added, g_free);
  if (self->registration != NULL)
    {
      self->registration->modules = NULL;
      g_clear_pointer (&self->registration, g_rc_box_release);
    }
  g_clear_object (&self->connection);
}

/* Broker1 methods */

GVariant *
juno_dbus_module_list (JunoBroker *broker)
{
  g_autofree JunoModule **modules = juno_broker_dup_modules (broker, NULL);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssbo)"));
  for (JunoModule **m = modules; *m != NULL; m++)
    {
      g_autofree char *path = juno_dbus_module_path (juno_module_get_id (*m));
      g_autoptr(GVariant) entry = flatten (g_variant_new ("(ssbo)", juno_module_get_id (*m),
                                                          juno_module_get_version (*m),
                                                          juno_module_get_active (*m), path));

      g_variant_builder_add_value (&builder, entry);
    }
  return g_variant_builder_end (&builder);
}

GVariant *
juno_dbus_module_info (JunoBroker *broker, const char *module_id)
{
  JunoModule *module = juno_broker_lookup_module (broker, module_id);
  GVariantBuilder info;
  JunoEndpoint *endpoint;
  gboolean credentials;

  if (module == NULL)
    return NULL;
  endpoint = juno_module_get_endpoint (module);
  credentials = endpoint != NULL && juno_endpoint_get_peer_credentials (endpoint, NULL, NULL, NULL);
  g_variant_builder_init (&info, G_VARIANT_TYPE_VARDICT);
  /* the object's properties; juno itself has no connection and no object,
   * and a peer without credentials (TCP) gets no PeerPid/PeerUid */
  for (int i = 0; i < N_PROPS; i++)
    {
      if (endpoint == NULL && i >= PROP_TRANSPORT)
        break;
      if (endpoint != NULL && !property_known (endpoint, credentials, (ModuleProperty) i))
        continue;
      vardict_add (&info, property_names[i], property_value (broker, module, (ModuleProperty) i));
    }
  if (endpoint != NULL)
    {
      g_autofree char *path = juno_dbus_module_path (module_id);

      vardict_add (&info, "ObjectPath", g_variant_new_object_path (path));
    }
  return g_variant_builder_end (&info);
}
