/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-error.h: the errors of the D-Bus control plane
 *
 * One code per protocol error (the same numbers as JunoProtocolError, so a
 * code from the core converts with a cast), plus InvalidArgs for D-Bus
 * callers that pass bad JSON or names, and Failed for a callee's own code
 * that juno does not know. On the bus they are
 * org.juno.Broker1.Error.<Name>.
 */
#pragma once

#include <gio/gio.h>

#include "juno-names.h"

G_BEGIN_DECLS

#define JUNO_DBUS_ERROR (juno_dbus_error_quark ())

typedef enum
{
  JUNO_DBUS_ERROR_MALFORMED_REQUEST = JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST,
  JUNO_DBUS_ERROR_INVALID_REQUEST_ID = JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID,
  JUNO_DBUS_ERROR_UNKNOWN_TYPE = JUNO_PROTOCOL_ERROR_UNKNOWN_TYPE,
  JUNO_DBUS_ERROR_UNREGISTERED_MODULE = JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE,
  JUNO_DBUS_ERROR_UNKNOWN_MODULE = JUNO_PROTOCOL_ERROR_UNKNOWN_MODULE,
  JUNO_DBUS_ERROR_UNKNOWN_FUNCTION = JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION,
  JUNO_DBUS_ERROR_INVALID_MODULE_ID = JUNO_PROTOCOL_ERROR_INVALID_MODULE_ID,
  JUNO_DBUS_ERROR_DUPLICATE_MODULE = JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE,
  JUNO_DBUS_ERROR_CALLEE_DISCONNECTED = JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED,
  JUNO_DBUS_ERROR_CALL_TIMED_OUT = JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT,
  JUNO_DBUS_ERROR_MESSAGE_TOO_LARGE = JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE,
  JUNO_DBUS_ERROR_TOO_MANY_CALLS = JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS,
  JUNO_DBUS_ERROR_LIMIT_REACHED = JUNO_PROTOCOL_ERROR_LIMIT_REACHED,
  JUNO_DBUS_ERROR_INVALID_ARGS = 1000,
  JUNO_DBUS_ERROR_FAILED = 1001,
  JUNO_DBUS_ERROR_NOT_SUBSCRIBED = 1002,
} JunoDBusError;

GQuark juno_dbus_error_quark (void);

/* A GError for a protocol code (from the core or a callee's answer). */
GError *juno_dbus_error_new_from_code (int protocol_code);

G_END_DECLS
