/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-observer.c: connections that watch the broker without joining it
 *
 * A connection that has not registered a module is an observer. It may
 * call the built-in module's functions (juno-calls.c), listen to hook
 * patterns ("clock.*", "*.tick", "*") and trigger a hook as a module the
 * policy lets it trigger for; it is never announced (no
 * juno.moduleConnected, no D-Bus ModuleConnected) until it registers.
 *
 * Rules: at most JUNO_OBSERVER_MAX_PATTERNS patterns per connection, each
 * at most --max-name-length bytes; a pattern with no '*' is checked against
 * the policy's Listen rules when it is added, and every delivery is checked
 * again for the concrete hook (quietly: a glob is no request for a hook
 * the observer may not see). Each trigger reaches an observer at most once,
 * however many of its patterns match. The juno.* hooks can never be
 * triggered by an observer, nor by anyone but the broker.
 */
#include "config.h"

#include <string.h>

#include "juno-broker-private.h"

static gboolean
has_pattern (JunoEndpoint *ep, const char *pattern)
{
  for (guint i = 0; i < ep->patterns->len; i++)
    if (strcmp (g_ptr_array_index (ep->patterns, i), pattern) == 0)
      return TRUE;
  return FALSE;
}

void
juno_observer_handle_listen (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  const JunoJsonValue *rid = &msg->keys[JUNO_KEY_REQUEST_ID];
  g_autofree char *pattern = juno_json_value_dup_string (&msg->keys[JUNO_KEY_HOOK]);

  /* what is no pattern gets what an unregistered module got before */
  if (pattern == NULL || !juno_hook_pattern_is_valid (pattern))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE,
                               "the module is not registered, and the hook is no pattern an observer may listen to");
  if (strchr (pattern, '*') == NULL && !juno_broker_check_access (self, ep, JUNO_POLICY_LISTEN, pattern, rid))
    return;
  if (ep->patterns == NULL)
    ep->patterns = g_ptr_array_new_with_free_func (g_free);
  if (!has_pattern (ep, pattern))
    {
      if (strlen (pattern) > self->max_name_length || ep->patterns->len >= JUNO_OBSERVER_MAX_PATTERNS)
        {
          self->stats.limits_reached++;
          juno_broker_log_peer (self, ep, G_LOG_LEVEL_INFO, "Refused a listen (error %d): more than %d "
                                "patterns, or one longer than --max-name-length",
                                JUNO_PROTOCOL_ERROR_LIMIT_REACHED, JUNO_OBSERVER_MAX_PATTERNS);
          juno_broker_send_error (self, ep, rid, JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
          return;
        }
      if (ep->patterns->len == 0)
        {
          if (self->observers == NULL)
            self->observers = g_ptr_array_new ();
          g_ptr_array_add (self->observers, ep);
        }
      g_ptr_array_add (ep->patterns, g_steal_pointer (&pattern));
    }
  juno_broker_begin_reply (self, rid, JUNO_MSG_HOOK_REGISTERED);
  juno_broker_send (self, ep);
}

void
juno_observer_handle_trigger (JunoBroker *self, JunoEndpoint *ep, const JunoMessage *msg)
{
  const JunoJsonValue *rid = &msg->keys[JUNO_KEY_REQUEST_ID];
  const JunoJsonValue *data = &msg->keys[JUNO_KEY_DATA];
  g_autofree char *address = juno_json_value_dup_string (&msg->keys[JUNO_KEY_HOOK]);
  g_autofree char *module_id = NULL;
  gsize module_len;

  /* an observer has no module of its own: it names the one it triggers as */
  if (address == NULL || !juno_hook_address_is_valid (address, &module_len))
    return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE,
                               "the module is not registered, and the hook is not of the form module.hook");
  module_id = g_strndup (address, module_len);
  if (strcmp (module_id, JUNO_BUILTIN_MODULE_ID) == 0)
    {
      self->stats.access_denied++;
      return juno_broker_reject (self, ep, msg, JUNO_PROTOCOL_ERROR_ACCESS_DENIED,
                                 "the hooks of juno are the broker's own");
    }
  if (!juno_broker_check_access (self, ep, JUNO_POLICY_TRIGGER, address, rid))
    return;
  juno_broker_begin_reply (self, rid, JUNO_MSG_HOOK_TRIGGERED);
  juno_broker_send (self, ep);
  if (data->kind == JUNO_JSON_OBJECT)
    juno_registry_deliver_hook (self, module_id, address + module_len + 1, data->text, data->len);
  else
    juno_registry_deliver_hook (self, module_id, address + module_len + 1, "{}", 2);
}

/* Sends the finished hook message in self->out, whose "module.hook" is in
 * self->key, to every observer with a matching pattern that may listen to
 * it; returns how many got it. */
guint
juno_observer_deliver (JunoBroker *self)
{
  g_autofree char *hook = NULL;
  guint delivered = 0;

  if (self->observers == NULL || self->observers->len == 0)
    return 0;
  /* a copy: the policy check may use self->key */
  hook = g_strdup (self->key->str);
  for (guint i = 0; i < self->observers->len; i++)
    {
      JunoEndpoint *ep = g_ptr_array_index (self->observers, i);

      for (guint j = 0; j < ep->patterns->len; j++)
        if (juno_hook_pattern_match (g_ptr_array_index (ep->patterns, j), hook))
          {
            if (juno_broker_endpoint_allowed (self, ep, JUNO_POLICY_LISTEN, hook))
              {
                juno_broker_send_line (self, ep, self->out->str, self->out->len);
                delivered++;
              }
            break;
          }
    }
  self->stats.hooks_delivered += delivered;
  return delivered;
}

void
juno_observer_remove (JunoBroker *self, JunoEndpoint *ep)
{
  if (ep->patterns == NULL)
    return;
  if (ep->patterns->len > 0 && self->observers != NULL)
    g_ptr_array_remove_fast (self->observers, ep);
  g_clear_pointer (&ep->patterns, g_ptr_array_unref);
}
