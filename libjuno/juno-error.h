/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-error.h: the JUNO_ERROR domain
 *
 * Codes 0 to 11 are the wire protocol's error codes, with the same values, so
 * an error a broker or a called module sends arrives with its code unchanged.
 * Codes from 1000 on belong to the client library itself.
 */
#pragma once

#if !defined (JUNO_INSIDE) && !defined (JUNO_COMPILATION)
#error "Only <juno.h> can be included directly."
#endif

#include <glib.h>

#include "juno-version-macros.h"

G_BEGIN_DECLS

/**
 * JUNO_ERROR:
 *
 * The error domain of libjuno; codes are #JunoError values.
 *
 * Since: 1.0
 */
#define JUNO_ERROR (juno_error_quark ())

/**
 * JunoError:
 * @JUNO_ERROR_MALFORMED_REQUEST: the request was malformed (protocol code 0);
 *   also sent by a called module whose answer could not be encoded
 * @JUNO_ERROR_INVALID_REQUEST_ID: invalid or missing request id (1)
 * @JUNO_ERROR_UNKNOWN_TYPE: unknown message type (2)
 * @JUNO_ERROR_NOT_ACTIVE: the module is not registered or not active (3)
 * @JUNO_ERROR_UNKNOWN_MODULE: the called module is not active (4)
 * @JUNO_ERROR_UNKNOWN_FUNCTION: the function is not declared, or its name is
 *   not of the form `module.function` (5)
 * @JUNO_ERROR_INVALID_MODULE_ID: the module id is not valid (6)
 * @JUNO_ERROR_DUPLICATE_MODULE: the module id is taken (7)
 * @JUNO_ERROR_CALLEE_DISCONNECTED: the called module went away before it
 *   answered (8)
 * @JUNO_ERROR_CALL_TIMED_OUT: the broker gave up waiting for the answer (9)
 * @JUNO_ERROR_MESSAGE_TOO_LARGE: a message exceeded the broker's limit (10)
 * @JUNO_ERROR_TOO_MANY_CALLS: too many calls in flight (11)
 * @JUNO_ERROR_LIMIT_REACHED: a limit of the broker was reached, such as the
 *   names one module may declare (12)
 * @JUNO_ERROR_ACCESS_DENIED: the broker's access policy refused the request
 *   (13)
 * @JUNO_ERROR_QUOTA_EXCEEDED: a per-user quota of the broker is used up (14)
 * @JUNO_ERROR_DISCONNECTED: the connection to the broker was lost while the
 *   request was pending
 * @JUNO_ERROR_NOT_CONNECTED: the client is not connected to a broker
 * @JUNO_ERROR_TIMED_OUT: the client-side timeout of a call expired
 * @JUNO_ERROR_INVALID_ARGUMENT: a name or value given to libjuno is not valid
 * @JUNO_ERROR_PROTOCOL: the broker sent something libjuno did not expect
 * @JUNO_ERROR_HANDLER_FAILED: the called module's handler failed: it raised
 *   an exception (Python, JavaScript) or answered with a #GError of another
 *   domain, or the invocation was dropped without an answer. A libjuno
 *   callee sends this code (1005) on the wire; the caller gets it at once.
 *
 * Error codes of the %JUNO_ERROR domain. A called module may answer with
 * any integer; such a code arrives unchanged even if it is not listed here.
 *
 * Since: 1.0
 */
typedef enum
{
  JUNO_ERROR_MALFORMED_REQUEST = 0,
  JUNO_ERROR_INVALID_REQUEST_ID = 1,
  JUNO_ERROR_UNKNOWN_TYPE = 2,
  JUNO_ERROR_NOT_ACTIVE = 3,
  JUNO_ERROR_UNKNOWN_MODULE = 4,
  JUNO_ERROR_UNKNOWN_FUNCTION = 5,
  JUNO_ERROR_INVALID_MODULE_ID = 6,
  JUNO_ERROR_DUPLICATE_MODULE = 7,
  JUNO_ERROR_CALLEE_DISCONNECTED = 8,
  JUNO_ERROR_CALL_TIMED_OUT = 9,
  JUNO_ERROR_MESSAGE_TOO_LARGE = 10,
  JUNO_ERROR_TOO_MANY_CALLS = 11,
  JUNO_ERROR_LIMIT_REACHED = 12,
  JUNO_ERROR_ACCESS_DENIED = 13,
  JUNO_ERROR_QUOTA_EXCEEDED = 14,
  JUNO_ERROR_DISCONNECTED = 1000,
  JUNO_ERROR_NOT_CONNECTED = 1001,
  JUNO_ERROR_TIMED_OUT = 1002,
  JUNO_ERROR_INVALID_ARGUMENT = 1003,
  JUNO_ERROR_PROTOCOL = 1004,
  JUNO_ERROR_HANDLER_FAILED = 1005,
} JunoError;

JUNO_AVAILABLE_IN_1_0
GQuark juno_error_quark (void);

JUNO_AVAILABLE_IN_1_0
gboolean juno_error_is_timeout (const GError *error);

JUNO_AVAILABLE_IN_1_0
gboolean juno_error_is_disconnected (const GError *error);

G_END_DECLS
