/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-protocol-error.c: one text and one D-Bus name per protocol error code
 *
 * libjuno's GErrors, junoctl's messages and the D-Bus plane's errors all
 * take their text from this table, so a code reads the same everywhere.
 * A new code gets a value in JunoProtocolError (juno-names.h), a row here,
 * a row in docs/error-codes.md and docs/dbus-api.md, and a value in
 * libjuno's JunoError.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "juno-common.h"

typedef struct
{
  const char *dbus_name;
  const char *text;  /* untranslated */
} ErrorInfo;

#define DBUS_NAME(suffix) JUNO_DBUS_ERROR_PREFIX suffix

static const ErrorInfo errors[] = {
  [JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST] = { DBUS_NAME ("MalformedRequest"), N_("Malformed request") },
  [JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID] = { DBUS_NAME ("InvalidRequestId"), N_("Invalid request id") },
  [JUNO_PROTOCOL_ERROR_UNKNOWN_TYPE] = { DBUS_NAME ("UnknownType"), N_("Unknown message type") },
  [JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE] = { DBUS_NAME ("UnregisteredModule"),
                                                N_("Module is not registered or not active") },
  [JUNO_PROTOCOL_ERROR_UNKNOWN_MODULE] = { DBUS_NAME ("UnknownModule"),
                                           N_("Unknown module: no active module of that name") },
  [JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION] = { DBUS_NAME ("UnknownFunction"), N_("Unknown function") },
  [JUNO_PROTOCOL_ERROR_INVALID_MODULE_ID] = { DBUS_NAME ("InvalidModuleId"), N_("Invalid module id") },
  [JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE] = { DBUS_NAME ("DuplicateModule"),
                                             N_("A module with this id is already registered") },
  [JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED] = { DBUS_NAME ("CalleeDisconnected"),
                                                N_("The called module disconnected before answering") },
  [JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT] = { DBUS_NAME ("CallTimedOut"),
                                           N_("The broker timed out waiting for the answer") },
  [JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE] = { DBUS_NAME ("MessageTooLarge"), N_("Message too large") },
  [JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS] = { DBUS_NAME ("TooManyCalls"), N_("Too many calls in flight") },
  [JUNO_PROTOCOL_ERROR_LIMIT_REACHED] = { DBUS_NAME ("LimitReached"), N_("A limit of the broker was reached") },
  [JUNO_PROTOCOL_ERROR_ACCESS_DENIED] = { DBUS_NAME ("AccessDenied"), N_("Access denied by the broker's policy") },
  [JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED] = { DBUS_NAME ("QuotaExceeded"), N_("The user's quota is used up") },
};

G_STATIC_ASSERT (G_N_ELEMENTS (errors) == JUNO_PROTOCOL_ERROR_N_CODES);

static const ErrorInfo *
lookup (int code)
{
  if (code < 0 || (gsize) code >= G_N_ELEMENTS (errors) || errors[code].text == NULL)
    return NULL;
  return &errors[code];
}

/* The translated text of a code the protocol defines, else NULL (a callee
 * may answer a call with any integer). */
const char *
juno_protocol_error_get_text (int code)
{
  const ErrorInfo *info = lookup (code);

  return info != NULL ? g_dgettext (GETTEXT_PACKAGE, info->text) : NULL;
}

/* org.juno.Broker1.Error.<Name> of a code the protocol defines, else NULL. */
const char *
juno_protocol_error_get_dbus_name (int code)
{
  const ErrorInfo *info = lookup (code);

  return info != NULL ? info->dbus_name : NULL;
}

/* The text for any code: the table's, or one naming a callee's own code. */
char *
juno_protocol_error_dup_message (int code)
{
  const char *text = juno_protocol_error_get_text (code);

  if (text != NULL)
    return g_strdup (text);
  return g_strdup_printf (_("The module answered with error %d"), code);
}
