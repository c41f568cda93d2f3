/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-error.c: the JUNO_ERROR domain and its messages
 *
 * The protocol codes and their texts are defined once, in the common
 * library (juno-names.h, juno-protocol-error.c); the static asserts keep the
 * public enum equal to them.
 */
#include "config.h"

#include <glib/gi18n-lib.h>


#include "juno-common.h"
#include "juno-error-private.h"

G_STATIC_ASSERT ((int) JUNO_ERROR_MALFORMED_REQUEST == JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST);
G_STATIC_ASSERT ((int) JUNO_ERROR_INVALID_REQUEST_ID == JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
G_STATIC_ASSERT ((int) JUNO_ERROR_UNKNOWN_TYPE == JUNO_PROTOCOL_ERROR_UNKNOWN_TYPE);
G_STATIC_ASSERT ((int) JUNO_ERROR_NOT_ACTIVE == JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE);
G_STATIC_ASSERT ((int) JUNO_ERROR_UNKNOWN_MODULE == JUNO_PROTOCOL_ERROR_UNKNOWN_MODULE);
G_STATIC_ASSERT ((int) JUNO_ERROR_UNKNOWN_FUNCTION == JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION);
G_STATIC_ASSERT ((int) JUNO_ERROR_INVALID_MODULE_ID == JUNO_PROTOCOL_ERROR_INVALID_MODULE_ID);
G_STATIC_ASSERT ((int) JUNO_ERROR_DUPLICATE_MODULE == JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE);
G_STATIC_ASSERT ((int) JUNO_ERROR_CALLEE_DISCONNECTED == JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED);
G_STATIC_ASSERT ((int) JUNO_ERROR_CALL_TIMED_OUT == JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT);
G_STATIC_ASSERT ((int) JUNO_ERROR_MESSAGE_TOO_LARGE == JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE);
G_STATIC_ASSERT ((int) JUNO_ERROR_TOO_MANY_CALLS == JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS);
G_STATIC_ASSERT ((int) JUNO_ERROR_LIMIT_REACHED == JUNO_PROTOCOL_ERROR_LIMIT_REACHED);
G_STATIC_ASSERT ((int) JUNO_ERROR_ACCESS_DENIED == JUNO_PROTOCOL_ERROR_ACCESS_DENIED);
G_STATIC_ASSERT ((int) JUNO_ERROR_QUOTA_EXCEEDED == JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED);

/**
 * juno_error_quark:
 *
 * The quark of the %JUNO_ERROR domain.
 *
 * Returns: the error domain quark
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (juno-error-quark, juno_error)

/**
 * juno_error_is_timeout:
 * @error: (nullable): an error
 *
 * Whether @error says a call took too long, on the broker's side
 * (%JUNO_ERROR_CALL_TIMED_OUT) or the client's (%JUNO_ERROR_TIMED_OUT).
 *
 * Returns: %TRUE for a timeout
 *
 * Since: 1.0
 */
gboolean
juno_error_is_timeout (const GError *error)
{
  return g_error_matches (error, JUNO_ERROR, JUNO_ERROR_CALL_TIMED_OUT) ||
         g_error_matches (error, JUNO_ERROR, JUNO_ERROR_TIMED_OUT);
}

/**
 * juno_error_is_disconnected:
 * @error: (nullable): an error
 *
 * Whether @error says the connection to the broker is gone
 * (%JUNO_ERROR_DISCONNECTED or %JUNO_ERROR_NOT_CONNECTED).
 *
 * Returns: %TRUE when the broker could not be reached
 *
 * Since: 1.0
 */
gboolean
juno_error_is_disconnected (const GError *error)
{
  return g_error_matches (error, JUNO_ERROR, JUNO_ERROR_DISCONNECTED) ||
         g_error_matches (error, JUNO_ERROR, JUNO_ERROR_NOT_CONNECTED);
}

/* A GError for a code from the broker or a callee, with the common text;
 * the code a libjuno callee sends for a failed handler has its own. */
void
juno_set_protocol_error (GError **error, int code)
{
  g_autofree char *message = NULL;

  if (code == JUNO_ERROR_HANDLER_FAILED)
    {
      g_set_error_literal (error, JUNO_ERROR, code,
                           _("The called module's handler failed (it raised an error or dropped the call)"));
      return;
    }
  message = juno_protocol_error_dup_message (code);
  g_set_error_literal (error, JUNO_ERROR, code, message);
}
