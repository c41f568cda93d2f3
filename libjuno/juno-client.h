/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-client.h: JunoClient, a Juno module in a GLib program */
#pragma once

#if !defined (JUNO_INSIDE) && !defined (JUNO_COMPILATION)
#error "Only <juno.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "juno-version-macros.h"
#include "juno-invocation.h"

G_BEGIN_DECLS

/**
 * JunoClient:
 *
 * A connection to a juno broker as one module. Its signals, handlers and
 * callbacks run in the thread-default #GMainContext of the thread that
 * created it; its socket I/O runs in a thread of libjuno's own, so
 * synchronous calls block without running that context.
 *
 * Since: 1.0
 */
#define JUNO_TYPE_CLIENT (juno_client_get_type ())
JUNO_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (JunoClient, juno_client, JUNO, CLIENT, GObject)

/**
 * JunoFunctionHandler:
 * @client: the client the function was declared on
 * @invocation: the call, to be answered once
 * @user_data: the data given to juno_client_declare_function()
 *
 * Handles one call of a declared function.
 *
 * Since: 1.0
 */
typedef void (*JunoFunctionHandler) (JunoClient     *client,
                                     JunoInvocation *invocation,
                                     gpointer        user_data);

JUNO_AVAILABLE_IN_1_0
JunoClient *juno_client_new (const char *module_id,
                             const char *version);

JUNO_AVAILABLE_IN_1_0
const char *juno_client_get_module_id (JunoClient *client);
JUNO_AVAILABLE_IN_1_0
const char *juno_client_get_version (JunoClient *client);
JUNO_AVAILABLE_IN_1_0
const char *juno_client_get_address (JunoClient *client);
JUNO_AVAILABLE_IN_1_0
void juno_client_set_address (JunoClient *client,
                              const char *address);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_get_active (JunoClient *client);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_get_reconnect (JunoClient *client);
JUNO_AVAILABLE_IN_1_0
void juno_client_set_reconnect (JunoClient *client,
                                gboolean    reconnect);
JUNO_AVAILABLE_IN_1_0
int juno_client_get_default_timeout (JunoClient *client);
JUNO_AVAILABLE_IN_1_0
void juno_client_set_default_timeout (JunoClient *client,
                                      int         timeout_msec);

JUNO_AVAILABLE_IN_1_0
void juno_client_add_dependency (JunoClient *client,
                                 const char *module_id,
                                 const char *requirement);

JUNO_AVAILABLE_IN_1_0
void juno_client_connect_async (JunoClient          *client,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_connect_finish (JunoClient    *client,
                                     GAsyncResult  *result,
                                     GError       **error);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_connect_sync (JunoClient    *client,
                                   GCancellable  *cancellable,
                                   GError       **error);
JUNO_AVAILABLE_IN_1_0
void juno_client_close (JunoClient *client);

JUNO_AVAILABLE_IN_1_0
gboolean juno_client_declare_function (JunoClient          *client,
                                       const char          *name,
                                       JunoFunctionHandler  handler,
                                       gpointer             user_data,
                                       GDestroyNotify       notify,
                                       GError             **error);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_listen (JunoClient  *client,
                             const char  *hook,
                             GError     **error);

JUNO_AVAILABLE_IN_1_0
void juno_client_call_async (JunoClient          *client,
                             const char          *function,
                             JsonNode            *arguments,
                             int                  timeout_msec,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);
JUNO_AVAILABLE_IN_1_0
JsonNode *juno_client_call_finish (JunoClient    *client,
                                   GAsyncResult  *result,
                                   GError       **error);
JUNO_AVAILABLE_IN_1_0
JsonNode *juno_client_call_sync (JunoClient    *client,
                                 const char    *function,
                                 JsonNode      *arguments,
                                 int            timeout_msec,
                                 GCancellable  *cancellable,
                                 GError       **error);

JUNO_AVAILABLE_IN_1_0
void juno_client_call_json_async (JunoClient          *client,
                                  const char          *function,
                                  const char          *arguments,
                                  int                  timeout_msec,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
JUNO_AVAILABLE_IN_1_0
JsonNode *juno_client_call_json_finish (JunoClient    *client,
                                        GAsyncResult  *result,
                                        GError       **error);
JUNO_AVAILABLE_IN_1_0
JsonNode *juno_client_call_json_sync (JunoClient    *client,
                                      const char    *function,
                                      const char    *arguments,
                                      int            timeout_msec,
                                      GCancellable  *cancellable,
                                      GError       **error);

JUNO_AVAILABLE_IN_1_0
void juno_client_trigger_async (JunoClient          *client,
                                const char          *hook,
                                JsonNode            *data,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_trigger_finish (JunoClient    *client,
                                     GAsyncResult  *result,
                                     GError       **error);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_trigger_sync (JunoClient    *client,
                                   const char    *hook,
                                   JsonNode      *data,
                                   GCancellable  *cancellable,
                                   GError       **error);

JUNO_AVAILABLE_IN_1_0
void juno_client_trigger_json_async (JunoClient          *client,
                                     const char          *hook,
                                     const char          *data,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_trigger_json_finish (JunoClient    *client,
                                          GAsyncResult  *result,
                                          GError       **error);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_trigger_json_sync (JunoClient    *client,
                                        const char    *hook,
                                        const char    *data,
                                        GCancellable  *cancellable,
                                        GError       **error);

JUNO_AVAILABLE_IN_1_0
void juno_client_call_variant_async (JunoClient          *client,
                                     const char          *function,
                                     GVariant            *arguments,
                                     int                  timeout_msec,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data);
JUNO_AVAILABLE_IN_1_0
GVariant *juno_client_call_variant_finish (JunoClient    *client,
                                           GAsyncResult  *result,
                                           GError       **error);
JUNO_AVAILABLE_IN_1_0
GVariant *juno_client_call_variant_sync (JunoClient    *client,
                                         const char    *function,
                                         GVariant      *arguments,
                                         int            timeout_msec,
                                         GCancellable  *cancellable,
                                         GError       **error);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_trigger_variant_sync (JunoClient    *client,
                                           const char    *hook,
                                           GVariant      *data,
                                           GCancellable  *cancellable,
                                           GError       **error);

JUNO_AVAILABLE_IN_1_0
void juno_client_roundtrip_async (JunoClient          *client,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_roundtrip_finish (JunoClient    *client,
                                       GAsyncResult  *result,
                                       GError       **error);
JUNO_AVAILABLE_IN_1_0
gboolean juno_client_roundtrip_sync (JunoClient    *client,
                                     GCancellable  *cancellable,
                                     GError       **error);

JUNO_AVAILABLE_IN_1_0
char *juno_default_address (void);

G_END_DECLS
