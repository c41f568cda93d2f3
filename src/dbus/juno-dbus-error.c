/* juno-dbus-error.c: see juno-dbus-error.h */
#include "config.h"

#include "juno-dbus-error.h"

static const GDBusErrorEntry error_entries[] = {
  { JUNO_DBUS_ERROR_MALFORMED_REQUEST, JUNO_DBUS_ERROR_PREFIX "MalformedRequest" },
  { JUNO_DBUS_ERROR_INVALID_REQUEST_ID, JUNO_DBUS_ERROR_PREFIX "InvalidRequestId" },
  { JUNO_DBUS_ERROR_UNKNOWN_TYPE, JUNO_DBUS_ERROR_PREFIX "UnknownType" },
  { JUNO_DBUS_ERROR_UNREGISTERED_MODULE, JUNO_DBUS_ERROR_PREFIX "UnregisteredModule" },
  { JUNO_DBUS_ERROR_UNKNOWN_MODULE, JUNO_DBUS_ERROR_PREFIX "UnknownModule" },
  { JUNO_DBUS_ERROR_UNKNOWN_FUNCTION, JUNO_DBUS_ERROR_PREFIX "UnknownFunction" },
  { JUNO_DBUS_ERROR_INVALID_MODULE_ID, JUNO_DBUS_ERROR_PREFIX "InvalidModuleId" },
  { JUNO_DBUS_ERROR_DUPLICATE_MODULE, JUNO_DBUS_ERROR_PREFIX "DuplicateModule" },
  { JUNO_DBUS_ERROR_CALLEE_DISCONNECTED, JUNO_DBUS_ERROR_PREFIX "CalleeDisconnected" },
  { JUNO_DBUS_ERROR_CALL_TIMED_OUT, JUNO_DBUS_ERROR_PREFIX "CallTimedOut" },
  { JUNO_DBUS_ERROR_MESSAGE_TOO_LARGE, JUNO_DBUS_ERROR_PREFIX "MessageTooLarge" },
  { JUNO_DBUS_ERROR_TOO_MANY_CALLS, JUNO_DBUS_ERROR_PREFIX "TooManyCalls" },
  { JUNO_DBUS_ERROR_INVALID_ARGS, JUNO_DBUS_ERROR_PREFIX "InvalidArgs" },
  { JUNO_DBUS_ERROR_FAILED, JUNO_DBUS_ERROR_PREFIX "Failed" },
  { JUNO_DBUS_ERROR_NOT_SUBSCRIBED, JUNO_DBUS_ERROR_PREFIX "NotSubscribed" },
};

GQuark
juno_dbus_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("juno-dbus-error-quark", &quark, error_entries,
                                      G_N_ELEMENTS (error_entries));
  return (GQuark) quark;
}

static const char *
describe_code (int code)
{
  switch (code)
    {
    case JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST:
      return "the request is malformed";
    case JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID:
      return "invalid request id";
    case JUNO_PROTOCOL_ERROR_UNKNOWN_TYPE:
      return "unknown message type";
    case JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE:
      return "the module is not registered or not active";
    case JUNO_PROTOCOL_ERROR_UNKNOWN_MODULE:
      return "no active module of that name";
    case JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION:
      return "the module has not declared that function, or the name is not module.function";
    case JUNO_PROTOCOL_ERROR_INVALID_MODULE_ID:
      return "invalid moduleId";
    case JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE:
      return "duplicate module";
    case JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED:
      return "the callee disconnected before it answered";
    case JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT:
      return "the callee did not answer in time";
    case JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE:
      return "the message is too large";
    case JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS:
      return "too many calls in flight";
    default:
      return NULL;
    }
}

GError *
juno_dbus_error_new_from_code (int protocol_code)
{
  const char *what = describe_code (protocol_code);

  if (what == NULL)
    return g_error_new (JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED, "The callee answered with error code %d",
                        protocol_code);
  return g_error_new (JUNO_DBUS_ERROR, protocol_code, "%s (protocol error %d)", what, protocol_code);
}
