/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-quota.c: what each user (uid) holds, across its connections
 *
 * dbus-broker's model (src/util/user.c): resources are charged to the
 * user of the peer that holds them, as well as to the peer, so one user
 * cannot starve the others by opening more connections. A JunoUser counts
 * the connections and the calls in flight of one uid; it lives while one
 * of its endpoints does. Peers without a uid (TCP) are charged to no user:
 * their per-connection limits and the broker's totals bound them.
 *
 * The uid the broker runs as is not limited by the per-user quotas: on a
 * per-user broker every peer is that user, and its per-connection limits
 * and the broker's totals already apply.
 */
#include "config.h"

#include <unistd.h>

#include "juno-broker-private.h"

G_STATIC_ASSERT (JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED_VALUE == JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED);

struct _JunoUser
{
  uid_t uid;
  gboolean exempt;         /* the broker's own uid: not limited */
  guint connections;
  guint calls;
  gsize output;            /* queued for its connections, not yet written */
};

void
juno_broker_set_user_quotas (JunoBroker *self, guint max_connections, guint max_calls, gsize max_output)
{
  g_return_if_fail (JUNO_IS_BROKER (self));
  self->max_connections_per_user = max_connections;
  self->max_calls_per_user = max_calls;
  self->max_output_per_user = max_output;
}

/* Charges @ep's connection to its user; FALSE when that user already has
 * its quota of connections (the endpoint is then charged to no one). */
gboolean
juno_quota_charge_connection (JunoBroker *self, JunoEndpoint *ep)
{
  JunoUser *user;

  if (self->users == NULL)
    self->users = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  user = g_hash_table_lookup (self->users, GUINT_TO_POINTER (ep->identity->uid));
  if (user == NULL)
    {
      user = g_new0 (JunoUser, 1);
      user->uid = ep->identity->uid;
      /* asked once per user, not per call: geteuid() is a system call */
      user->exempt = ep->identity->uid == geteuid ();
      g_hash_table_insert (self->users, GUINT_TO_POINTER (ep->identity->uid), user);
    }
  /* a client (a D-Bus caller) is no connection of ours: tracked, not refused */
  if (self->max_connections_per_user > 0 && !user->exempt && ep->caller == NULL &&
      user->connections >= self->max_connections_per_user)
    {
      if (user->connections == 0)
        g_hash_table_remove (self->users, GUINT_TO_POINTER (ep->identity->uid));
      return FALSE;
    }
  user->connections++;
  ep->user_account = user;
  return TRUE;
}

void
juno_quota_release_connection (JunoBroker *self, JunoEndpoint *ep)
{
  JunoUser *user = ep->user_account;

  if (user == NULL)
    return;
  ep->user_account = NULL;
  g_warn_if_fail (user->connections > 1 || user->output == 0);
  if (--user->connections == 0 && user->calls == 0)
    g_hash_table_remove (self->users, GUINT_TO_POINTER (user->uid));
}

/* May @ep's user make one more call? */
gboolean
juno_quota_may_call (JunoBroker *self, JunoEndpoint *ep)
{
  JunoUser *user = ep->user_account;

  return user == NULL || self->max_calls_per_user == 0 || user->exempt ||
         user->calls < self->max_calls_per_user;
}

void
juno_quota_charge_call (JunoEndpoint *caller)
{
  if (caller->user_account != NULL)
    caller->user_account->calls++;
}

void
juno_quota_release_call (JunoEndpoint *caller)
{
  if (caller->user_account != NULL)
    caller->user_account->calls--;
}

guint
juno_quota_get_user_calls (JunoEndpoint *ep)
{
  return ep->user_account != NULL ? ep->user_account->calls : 0;
}

JunoUser *
juno_endpoint_get_user_account (JunoEndpoint *ep)
{
  g_return_val_if_fail (ep != NULL, NULL);
  if (ep->user_account == NULL || ep->user_account->exempt)
    return NULL;
  return ep->user_account;
}

/* May @user hold @len more bytes of queued output? */
gboolean
juno_user_output_fits (JunoBroker *self, JunoUser *user, gsize len)
{
  return user == NULL || self->max_output_per_user == 0 || user->output + len <= self->max_output_per_user;
}

void
juno_user_charge_output (JunoUser *user, gsize len)
{
  if (user != NULL)
    user->output += len;
}

void
juno_user_release_output (JunoUser *user, gsize len)
{
  if (user == NULL)
    return;
  g_return_if_fail (user->output >= len);
  user->output -= len;
}
