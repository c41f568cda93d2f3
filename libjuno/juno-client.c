/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-client.c: JunoClient, one module's connection to the broker
 *
 * States: closed (no link), connecting (a link exists, not yet active),
 * active, and waiting to reconnect (no link, a retry timer). Requests made
 * while a link exists but the module is not active are queued and sent on
 * activation, after the declarations and listens; requests made with no link
 * fail at once. When a link dies, every pending request fails with
 * JUNO_ERROR_DISCONNECTED, so nothing is left waiting.
 *
 * Request ids are a per-client counter, skipped forward past any id still
 * in flight, so an id is never reused while a request with it is pending.
 * Requests live in juno-client-requests.c, the wire side in
 * juno-client-messages.c.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "juno.h"
#include "juno-client-private.h"
#include "juno-error-private.h"
#include "juno-link.h"
#include "juno-common.h"

enum
{
  PROP_0,
  PROP_MODULE_ID,
  PROP_VERSION,
  PROP_ADDRESS,
  PROP_ACTIVE,
  PROP_RECONNECT,
  PROP_DEFAULT_TIMEOUT,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_ACTIVATED,
  SIGNAL_DEACTIVATED,
  SIGNAL_DISCONNECTED,
  SIGNAL_HOOK_TRIGGERED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (JunoClient, juno_client, G_TYPE_OBJECT)


static void
function_free (JunoFunctionEntry *function)
{
  if (function->notify != NULL)
    function->notify (function->user_data);
  g_free (function);
}

static void
juno_client_dispose (GObject *object)
{
  JunoClient *self = JUNO_CLIENT (object);

  if (self->retry_source != NULL)
    g_source_destroy (self->retry_source);
  g_clear_pointer (&self->retry_source, g_source_unref);
  if (self->process_source != NULL)
    g_source_destroy (self->process_source);
  g_clear_pointer (&self->process_source, g_source_unref);
  if (self->link != NULL)
    {
      juno_link_close (self->link);
      g_clear_pointer (&self->link, juno_link_unref);
    }
  juno_client_clear_inbox (self);
  g_hash_table_remove_all (self->functions);
  g_hash_table_remove_all (self->requests);
  G_OBJECT_CLASS (juno_client_parent_class)->dispose (object);
}

static void
juno_client_finalize (GObject *object)
{
  JunoClient *self = JUNO_CLIENT (object);

  g_free (self->module_id);
  g_free (self->version);
  g_free (self->address);
  g_free (self->register_id);
  g_hash_table_unref (self->dependencies);
  g_hash_table_unref (self->functions);
  g_hash_table_unref (self->requests);
  g_ptr_array_unref (self->hooks);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (juno_client_parent_class)->finalize (object);
}

static void
juno_client_init (JunoClient *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->reconnect = TRUE;
  self->default_timeout = JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC * 1000;
  self->dependencies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->functions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) function_free);
  self->requests = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) juno_request_free);
  self->hooks = g_ptr_array_new_with_free_func (g_free);
  g_queue_init (&self->queue);
  g_queue_init (&self->inbox);
  self->retry_delay_ms = RETRY_DELAY_MIN_MS;
}

static void
juno_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  JunoClient *self = JUNO_CLIENT (object);

  switch (prop_id)
    {
    case PROP_MODULE_ID:
      g_value_set_string (value, self->module_id);
      break;
    case PROP_VERSION:
      g_value_set_string (value, self->version);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_ACTIVE:
      g_value_set_boolean (value, self->active);
      break;
    case PROP_RECONNECT:
      g_value_set_boolean (value, self->reconnect);
      break;
    case PROP_DEFAULT_TIMEOUT:
      g_value_set_int (value, self->default_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
juno_client_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  JunoClient *self = JUNO_CLIENT (object);

  switch (prop_id)
    {
    case PROP_MODULE_ID:
      self->module_id = g_value_dup_string (value);
      break;
    case PROP_VERSION:
      self->version = g_value_dup_string (value);
      break;
    case PROP_ADDRESS:
      juno_client_set_address (self, g_value_get_string (value));
      break;
    case PROP_RECONNECT:
      juno_client_set_reconnect (self, g_value_get_boolean (value));
      break;
    case PROP_DEFAULT_TIMEOUT:
      juno_client_set_default_timeout (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
juno_client_class_init (JunoClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  /* The library's messages (GError texts) come from juno's catalogue. */
  juno_i18n_bind ();

  object_class->dispose = juno_client_dispose;
  object_class->finalize = juno_client_finalize;
  object_class->get_property = juno_client_get_property;
  object_class->set_property = juno_client_set_property;

  /**
   * JunoClient:module-id:
   *
   * The module id the client registers with.
   *
   * Since: 1.0
   */
  props[PROP_MODULE_ID] =
    g_param_spec_string ("module-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * JunoClient:version:
   *
   * The module's version, a semantic version such as "1.0.0".
   *
   * Since: 1.0
   */
  props[PROP_VERSION] =
    g_param_spec_string ("version", NULL, NULL, "0.0.0",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * JunoClient:address:
   *
   * The broker's address: a Unix socket path (optionally prefixed with
   * `unix:`) or `HOST:PORT` (optionally prefixed with `tcp:`). %NULL means
   * the default socket, see juno_default_address(). Takes effect on the
   * next connection.
   *
   * Since: 1.0
   */
  props[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * JunoClient:active:
   *
   * Whether the module is registered and all its dependencies are met, so
   * that its requests are served rather than queued.
   *
   * Since: 1.0
   */
  props[PROP_ACTIVE] =
    g_param_spec_boolean ("active", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * JunoClient:reconnect:
   *
   * Whether to reconnect, with back-off, when an established connection to
   * the broker is lost. On reconnection the client registers again,
   * declares its functions and listens to its hooks again.
   *
   * Since: 1.0
   */
  props[PROP_RECONNECT] =
    g_param_spec_boolean ("reconnect", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * JunoClient:default-timeout:
   *
   * The timeout of calls made with a timeout of -1, in milliseconds.
   * The default, 35000 (35 s), is a little above the broker's default
   * call timeout (30 s), so that a call to a module that does not answer
   * normally ends with the broker's %JUNO_ERROR_CALL_TIMED_OUT, and else,
   * when the broker itself is stuck or runs without a call timeout, with
   * %JUNO_ERROR_TIMED_OUT. 0 means no timeout of the client's own (the
   * broker still applies its own); set it only when that is wanted.
   *
   * Since: 1.0
   */
  props[PROP_DEFAULT_TIMEOUT] =
    g_param_spec_int ("default-timeout", NULL, NULL, 0, G_MAXINT,
                      JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC * 1000,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * JunoClient::activated:
   * @client: the client
   *
   * The module became active (the broker sent `juno.activated`).
   *
   * Since: 1.0
   */
  signals[SIGNAL_ACTIVATED] =
    g_signal_new ("activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * JunoClient::deactivated:
   * @client: the client
   *
   * The module stopped being active: a dependency went away, or the
   * connection was lost.
   *
   * Since: 1.0
   */
  signals[SIGNAL_DEACTIVATED] =
    g_signal_new ("deactivated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * JunoClient::disconnected:
   * @client: the client
   * @error: why the connection was lost
   *
   * An established connection to the broker was lost. With
   * #JunoClient:reconnect set the client then tries again.
   *
   * Since: 1.0
   */
  signals[SIGNAL_DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * JunoClient::hook-triggered:
   * @client: the client
   * @hook: the hook's full name, "module.hook"
   * @data: the hook's data
   *
   * A hook the client listens to was triggered; also emitted for the
   * broker's forced hooks `juno.activated` and `juno.deactivated`. The
   * signal detail is the hook's full name, so
   * `hook-triggered::clipboard.changed` sees only that hook.
   *
   * Since: 1.0
   */
  signals[SIGNAL_HOOK_TRIGGERED] =
    g_signal_new ("hook-triggered", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                  JSON_TYPE_NODE);
}

/* -- state -------------------------------------------------------------- */

static void
flush_queue (JunoClient *self)
{
  JunoRequest *request;

  while (self->active && (request = g_queue_pop_head (&self->queue)) != NULL)
    {
      request->queued = FALSE;
      juno_client_send_request (self, request);
    }
}

void
juno_client_set_active (JunoClient *self, gboolean active)
{
  if (self->active == active)
    return;
  self->active = active;

  if (active && !self->declared)
    {
      GHashTableIter iter;
      const char *name;

      /* Before anything queued, so that queued calls can rely on them. */
      self->declared = TRUE;
      g_hash_table_iter_init (&iter, self->functions);
      while (g_hash_table_iter_next (&iter, (gpointer *) &name, NULL))
        juno_client_send_declaration (self, name);
      for (guint i = 0; i < self->hooks->len; i++)
        juno_client_send_listen (self, g_ptr_array_index (self->hooks, i));
    }
  if (active)
    {
      self->retry_delay_ms = RETRY_DELAY_MIN_MS;
      flush_queue (self);
    }

  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ACTIVE]);
  g_signal_emit (self, signals[active ? SIGNAL_ACTIVATED : SIGNAL_DEACTIVATED], 0);

  if (active && self->connect_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

      if (self->connect_cancel_source != NULL)
        g_source_destroy (self->connect_cancel_source);
      g_clear_pointer (&self->connect_cancel_source, g_source_unref);
      g_task_return_boolean (task, TRUE);
    }
}

static void
fail_connect_task (JunoClient *self, const GError *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

  if (self->connect_cancel_source != NULL)
    g_source_destroy (self->connect_cancel_source);
  g_clear_pointer (&self->connect_cancel_source, g_source_unref);
  if (task != NULL)
    g_task_return_error (task, g_error_copy (error));
}

static gboolean
on_retry (gpointer user_data)
{
  JunoClient *self = user_data;

  g_clear_pointer (&self->retry_source, g_source_unref);
  juno_client_start_link (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (JunoClient *self)
{
  g_debug ("Reconnecting to the broker in %u ms", self->retry_delay_ms);
  self->retry_source = g_timeout_source_new (self->retry_delay_ms);
  g_source_set_callback (self->retry_source, on_retry, self, NULL);
  g_source_attach (self->retry_source, self->context);
  self->retry_delay_ms = MIN (self->retry_delay_ms * 2, RETRY_DELAY_MAX_MS);
}

/* The link died or was closed: fail everything pending, then report it
 * and reconnect if that is wanted. */
void
juno_client_lose_link (JunoClient *self, const GError *error)
{
  G_GNUC_UNUSED g_autoptr(GObject) keep = g_object_ref (G_OBJECT (self)); /* may be dropped by a handler */
  g_autoptr(GList) pending = NULL;
  gboolean was_registered = self->registered;

  if (self->link != NULL)
    {
      juno_link_close (self->link);
      g_clear_pointer (&self->link, juno_link_unref);
    }
  /* what is left came on that link */
  juno_client_clear_inbox (self);
  self->generation++;
  self->registered = FALSE;
  self->declared = FALSE;

  pending = g_hash_table_get_values (self->requests);
  for (GList *l = pending; l != NULL; l = l->next)
    juno_request_fail (self, l->data,
                  g_error_new (JUNO_ERROR, JUNO_ERROR_DISCONNECTED,
                               _("Connection to the broker lost: %s"), error->message));
  juno_client_set_active (self, FALSE);

  if (self->connect_task != NULL)
    {
      fail_connect_task (self, error);
      return;
    }
  if (was_registered)
    g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0, error);
  if (self->reconnect && self->link == NULL && self->retry_source == NULL)
    schedule_retry (self);
}

void
juno_client_emit_hook_triggered (JunoClient *self, const char *hook, JsonNode *data)
{
  g_signal_emit (self, signals[SIGNAL_HOOK_TRIGGERED], g_quark_from_string (hook), hook, data);
}

/* -- public API --------------------------------------------------------- */

/**
 * juno_client_new:
 * @module_id: the module id to register with: 1 to 128 letters, digits,
 *   `-` and `_`
 * @version: the module's semantic version, such as "1.0.0"
 *
 * Creates a client for the default broker socket; set
 * #JunoClient:address to use another. The client belongs to the
 * thread-default main context of the calling thread.
 *
 * Returns: (transfer full): a new client
 *
 * Since: 1.0
 */
JunoClient *
juno_client_new (const char *module_id,
                 const char *version)
{
  g_return_val_if_fail (module_id != NULL, NULL);
  g_return_val_if_fail (version != NULL, NULL);

  return g_object_new (JUNO_TYPE_CLIENT, "module-id", module_id, "version", version, NULL);
}

/**
 * juno_client_get_module_id:
 * @client: a #JunoClient
 *
 * Returns: the module id
 *
 * Since: 1.0
 */
const char *
juno_client_get_module_id (JunoClient *client)
{
  g_return_val_if_fail (JUNO_IS_CLIENT (client), NULL);
  return client->module_id;
}

/**
 * juno_client_get_version:
 * @client: a #JunoClient
 *
 * Returns: the module's version
 *
 * Since: 1.0
 */
const char *
juno_client_get_version (JunoClient *client)
{
  g_return_val_if_fail (JUNO_IS_CLIENT (client), NULL);
  return client->version;
}

/**
 * juno_client_get_address:
 * @client: a #JunoClient
 *
 * Returns: (nullable): the broker's address, %NULL for the default
 *
 * Since: 1.0
 */
const char *
juno_client_get_address (JunoClient *client)
{
  g_return_val_if_fail (JUNO_IS_CLIENT (client), NULL);
  return client->address;
}

/**
 * juno_client_set_address:
 * @client: a #JunoClient
 * @address: (nullable): a socket path, `HOST:PORT`, or %NULL for the default
 *
 * Sets #JunoClient:address.
 *
 * Since: 1.0
 */
void
juno_client_set_address (JunoClient *client,
                         const char *address)
{
  g_return_if_fail (JUNO_IS_CLIENT (client));

  if (g_strcmp0 (client->address, address) == 0)
    return;
  g_free (client->address);
  client->address = g_strdup (address);
  g_object_notify_by_pspec (G_OBJECT (client), props[PROP_ADDRESS]);
}

/**
 * juno_client_get_active:
 * @client: a #JunoClient
 *
 * Returns: whether the module is active, see #JunoClient:active
 *
 * Since: 1.0
 */
gboolean
juno_client_get_active (JunoClient *client)
{
  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  return client->active;
}

/**
 * juno_client_get_reconnect:
 * @client: a #JunoClient
 *
 * Returns: whether the client reconnects, see #JunoClient:reconnect
 *
 * Since: 1.0
 */
gboolean
juno_client_get_reconnect (JunoClient *client)
{
  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  return client->reconnect;
}

/**
 * juno_client_set_reconnect:
 * @client: a #JunoClient
 * @reconnect: whether to reconnect
 *
 * Sets #JunoClient:reconnect.
 *
 * Since: 1.0
 */
void
juno_client_set_reconnect (JunoClient *client,
                           gboolean    reconnect)
{
  g_return_if_fail (JUNO_IS_CLIENT (client));

  reconnect = !!reconnect;
  if (client->reconnect == reconnect)
    return;
  client->reconnect = reconnect;
  if (!reconnect && client->retry_source != NULL)
    {
      g_source_destroy (client->retry_source);
      g_clear_pointer (&client->retry_source, g_source_unref);
    }
  g_object_notify_by_pspec (G_OBJECT (client), props[PROP_RECONNECT]);
}

/**
 * juno_client_get_default_timeout:
 * @client: a #JunoClient
 *
 * Returns: the default call timeout in milliseconds (35000 unless set),
 *   0 for none
 *
 * Since: 1.0
 */
int
juno_client_get_default_timeout (JunoClient *client)
{
  g_return_val_if_fail (JUNO_IS_CLIENT (client), 0);
  return client->default_timeout;
}

/**
 * juno_client_set_default_timeout:
 * @client: a #JunoClient
 * @timeout_msec: milliseconds, 0 for none
 *
 * Sets #JunoClient:default-timeout.
 *
 * Since: 1.0
 */
void
juno_client_set_default_timeout (JunoClient *client,
                                 int         timeout_msec)
{
  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (timeout_msec >= 0);

  if (client->default_timeout == timeout_msec)
    return;
  client->default_timeout = timeout_msec;
  g_object_notify_by_pspec (G_OBJECT (client), props[PROP_DEFAULT_TIMEOUT]);
}

/**
 * juno_client_add_dependency:
 * @client: a #JunoClient
 * @module_id: the module depended on
 * @requirement: a semver requirement, such as "^1.2.0" or ">=1.0, <2.0"
 *
 * Adds a dependency, sent when the client registers. The module stays
 * inactive, and its requests queued, until every dependency is met.
 *
 * Since: 1.0
 */
void
juno_client_add_dependency (JunoClient *client,
                            const char *module_id,
                            const char *requirement)
{
  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (module_id != NULL);
  g_return_if_fail (requirement != NULL);

  g_hash_table_insert (client->dependencies, g_strdup (module_id), g_strdup (requirement));
}

static gboolean
on_connect_cancelled (GCancellable *cancellable, gpointer user_data)
{
  JunoClient *self = user_data;
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 _("Operation was cancelled"));

  juno_client_lose_link (self, error);
  return G_SOURCE_REMOVE;
}

/**
 * juno_client_connect_async:
 * @client: a #JunoClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the module is active, or on failure
 * @user_data: data for @callback
 *
 * Connects to the broker and registers the module. Completes when the
 * broker activates the module (all its dependencies met), so requests made
 * from the callback on are served at once.
 *
 * A failure to connect or to register is reported, not retried; once
 * connected, a lost connection is retried if #JunoClient:reconnect is set.
 *
 * Since: 1.0
 */
void
juno_client_connect_async (JunoClient          *client,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (JUNO_IS_CLIENT (client));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (client, cancellable, callback, user_data);
  g_task_set_source_tag (task, juno_client_connect_async);
  if (client->link != NULL || client->connect_task != NULL || client->retry_source != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The client is already connected or connecting"));
      return;
    }

  client->connect_task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      client->connect_cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (client->connect_cancel_source, G_SOURCE_FUNC (on_connect_cancelled),
                             client, NULL);
      g_source_attach (client->connect_cancel_source, client->context);
    }
  client->retry_delay_ms = RETRY_DELAY_MIN_MS;
  juno_client_start_link (client);
}

/**
 * juno_client_connect_finish:
 * @client: a #JunoClient
 * @result: the #GAsyncResult
 * @error: return location for an error
 *
 * Finishes juno_client_connect_async(). A refused registration yields a
 * %JUNO_ERROR such as %JUNO_ERROR_DUPLICATE_MODULE; an unreachable broker a
 * #GIOErrorEnum error.
 *
 * Returns: %TRUE once the module is active
 *
 * Since: 1.0
 */
gboolean
juno_client_connect_finish (JunoClient    *client,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, client), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * juno_client_connect_sync:
 * @client: a #JunoClient
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Like juno_client_connect_async(), but blocks until the module is active
 * or the connection failed, running a private main context as
 * juno_client_call_sync() does. The client's own signals (#JunoClient::activated,
 * #JunoClient:active) are emitted during the call.
 *
 * Returns: %TRUE once the module is active
 *
 * Since: 1.0
 */
gboolean
juno_client_connect_sync (JunoClient    *client,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  JunoSync sync;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  if (!juno_client_sync_begin (client, &sync, TRUE, error))
    return FALSE;
  juno_client_connect_async (client, cancellable, juno_client_on_sync_done, &result);
  return juno_client_connect_finish (client, juno_client_sync_end (client, &sync, &result), error);
}

/**
 * juno_client_close:
 * @client: a #JunoClient
 *
 * Closes the connection and stops reconnecting. Pending requests fail with
 * %JUNO_ERROR_DISCONNECTED; a pending connect fails too. The client may be
 * connected again later.
 *
 * Since: 1.0
 */
void
juno_client_close (JunoClient *client)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (JUNO_IS_CLIENT (client));

  if (client->retry_source != NULL)
    {
      g_source_destroy (client->retry_source);
      g_clear_pointer (&client->retry_source, g_source_unref);
    }
  if (client->link == NULL)
    return;

  error = g_error_new_literal (JUNO_ERROR, JUNO_ERROR_DISCONNECTED, _("The client was closed"));
  {
    gboolean reconnect = client->reconnect;

    client->reconnect = FALSE;
    juno_client_lose_link (client, error);
    client->reconnect = reconnect;
  }
}

/**
 * juno_client_declare_function:
 * @client: a #JunoClient
 * @name: the function's bare name: letters, digits and `_`
 * @handler: (scope notified) (closure user_data) (destroy notify): called
 *   for each call of the function
 * @user_data: data for @handler
 * @notify: (nullable): frees @user_data when the client is finalized or the
 *   function is declared again
 * @error: return location for an error
 *
 * Declares a function other modules call as "module-id.name". The
 * declaration is sent once the module is active, and again after every
 * reconnection. Declaring a name again replaces its handler.
 *
 * Returns: %TRUE, or %FALSE with %JUNO_ERROR_INVALID_ARGUMENT for a bad name
 *
 * Since: 1.0
 */
gboolean
juno_client_declare_function (JunoClient          *client,
                              const char          *name,
                              JunoFunctionHandler  handler,
                              gpointer             user_data,
                              GDestroyNotify       notify,
                              GError             **error)
{
  JunoFunctionEntry *function;
  gboolean known;

  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (handler != NULL, FALSE);

  if (!juno_function_name_is_valid (name, -1))
    {
      g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                   _("Invalid function name '%s': use letters, digits and '_'"), name);
      if (notify != NULL)
        notify (user_data);
      return FALSE;
    }

  function = g_new0 (JunoFunctionEntry, 1);
  function->handler = handler;
  function->user_data = user_data;
  function->notify = notify;
  known = g_hash_table_contains (client->functions, name);
  g_hash_table_insert (client->functions, g_strdup (name), function);
  if (!known && client->declared)
    juno_client_send_declaration (client, name);
  return TRUE;
}

/**
 * juno_client_listen:
 * @client: a #JunoClient
 * @hook: the hook's full name, "module.hook"
 * @error: return location for an error
 *
 * Listens to a hook: #JunoClient::hook-triggered is emitted, with @hook as
 * detail, each time it fires. The request is sent once the module is
 * active, and again after every reconnection. Use
 * juno_client_roundtrip_async() to know when the broker has taken it.
 *
 * Returns: %TRUE, or %FALSE with %JUNO_ERROR_INVALID_ARGUMENT for a bad name
 *
 * Since: 1.0
 */
gboolean
juno_client_listen (JunoClient  *client,
                    const char  *hook,
                    GError     **error)
{
  g_return_val_if_fail (JUNO_IS_CLIENT (client), FALSE);
  g_return_val_if_fail (hook != NULL, FALSE);

  if (!juno_hook_address_is_valid (hook, NULL))
    {
      g_set_error (error, JUNO_ERROR, JUNO_ERROR_INVALID_ARGUMENT,
                   _("Invalid hook name '%s': expected MODULE.HOOK"), hook);
      return FALSE;
    }
  for (guint i = 0; i < client->hooks->len; i++)
    if (g_str_equal (g_ptr_array_index (client->hooks, i), hook))
      return TRUE;

  g_ptr_array_add (client->hooks, g_strdup (hook));
  if (client->declared)
    juno_client_send_listen (client, hook);
  return TRUE;
}
