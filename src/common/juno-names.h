/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-names.h: every well-known string of juno in one place
 *
 * Protocol error codes, the built-in module's name and functions, journal
 * field keys and environment variables. Both the daemon and the client side
 * include this header, so a code is defined once.
 */
#pragma once

#define JUNO_BUILTIN_MODULE_ID "juno"

#define JUNO_HOOK_ACTIVATED            "activated"
#define JUNO_HOOK_DEACTIVATED          "deactivated"
#define JUNO_HOOK_MODULE_CONNECTED     "moduleConnected"
#define JUNO_HOOK_MODULE_DISCONNECTED  "moduleDisconnected"
#define JUNO_HOOK_MODULE_ACTIVATED     "moduleActivated"
#define JUNO_HOOK_MODULE_DEACTIVATED   "moduleDeactivated"

#define JUNO_FUNCTION_LIST_MODULES     "listModules"
#define JUNO_FUNCTION_GET_MODULE_INFO  "getModuleInfo"
#define JUNO_FUNCTION_GET_STATS        "getStats"

/* The request id the broker uses when a request had none it could echo. */
#define JUNO_UNDEFINED_REQUEST_ID      "undefined"

/* Journal fields (g_log_structured): `journalctl JUNO_MODULE=auth` */
#define JUNO_LOG_FIELD_MODULE_ID       "JUNO_MODULE"
#define JUNO_LOG_FIELD_CONNECTION_ID   "JUNO_CONNECTION"
#define JUNO_LOG_FIELD_REQUEST_ID      "JUNO_REQUEST"
#define JUNO_LOG_FIELD_ERROR           "JUNO_ERROR"
#define JUNO_LOG_FIELD_FUNCTION        "JUNO_FUNCTION"
#define JUNO_LOG_FIELD_HOOK            "JUNO_HOOK"
/* the peer's identity and the policy rule that decided */
#define JUNO_LOG_FIELD_PEER_UID        "JUNO_PEER_UID"
#define JUNO_LOG_FIELD_PEER_PID        "JUNO_PEER_PID"
#define JUNO_LOG_FIELD_PEER_USER       "JUNO_PEER_USER"
#define JUNO_LOG_FIELD_PEER_UNIT       "JUNO_PEER_UNIT"
#define JUNO_LOG_FIELD_PEER_ADDRESS    "JUNO_PEER_ADDRESS"
#define JUNO_LOG_FIELD_TRANSPORT       "JUNO_TRANSPORT"
#define JUNO_LOG_FIELD_POLICY_RULE     "JUNO_POLICY_RULE"

/* Journal MESSAGE_IDs of key events, explained in data/juno.catalog */
#define JUNO_MESSAGE_ID_READY              "d52b32d8555a4c569b7284d52959346a"
#define JUNO_MESSAGE_ID_MODULE_REGISTERED  "1d4329b3a8e94c7a9575d4c8929a7d09"
#define JUNO_MESSAGE_ID_DBUS_LOST          "266b9168634c49209e2b4f7d8852deaa"
#define JUNO_MESSAGE_ID_ACCESS_DENIED      "426f3fbb1412497c8b062a0d34d7adbf"
#define JUNO_MESSAGE_ID_POLICY_LOADED      "fb9202f1b1be4bc189b3817864df3986"
/* The broker's journal entries carry SYSLOG_IDENTIFIER=juno: journalctl -t juno */
#define JUNO_SYSLOG_IDENTIFIER             "juno"

#define JUNO_ENV_NOTIFY_SOCKET         "NOTIFY_SOCKET"

/* The default socket (juno_default_socket_path(), juno-socket-path.c) */
#define JUNO_SOCKET_NAME               "juno.sock"
#define JUNO_SYSTEM_SOCKET_PATH        "/run/juno/" JUNO_SOCKET_NAME

/* Call timeouts, in seconds. The broker fails a call it forwarded with
 * CallTimedOut after JUNO_CALL_TIMEOUT_DEFAULT_SEC (juno --call-timeout).
 * Clients (libjuno's JunoClient:default-timeout, junoctl) wait a little
 * longer by default, so that with default settings they see the broker's
 * answer rather than give up first, yet never wait forever. */
#define JUNO_CALL_TIMEOUT_DEFAULT_SEC         30
#define JUNO_CLIENT_CALL_TIMEOUT_DEFAULT_SEC  35

/* D-Bus control plane */
#define JUNO_DBUS_NAME                 "org.juno.Broker1"
#define JUNO_DBUS_PATH                 "/org/juno/Broker1"
#define JUNO_DBUS_MODULE_PATH_PREFIX   "/org/juno/Broker1/module"
#define JUNO_DBUS_INTERFACE            "org.juno.Broker1"
#define JUNO_DBUS_MODULE_INTERFACE     "org.juno.Module1"
#define JUNO_DBUS_ERROR_PREFIX         "org.juno.Broker1.Error."
/* The "caller" of a call made over D-Bus: this and the unique bus name */
#define JUNO_DBUS_CALLER_PREFIX        "dbus:"

/* Socket activation: FileDescriptorName= values juno knows */
#define JUNO_FD_NAME_UNIX              "unix"
#define JUNO_FD_NAME_TCP               "tcp"

/* Limits of the wire format */
#define JUNO_MODULE_ID_MAX_LENGTH      128
/* Federation (docs/federation.md): broker and federation names */
#define JUNO_BROKER_NAME_MAX_LENGTH    64
#define JUNO_JSON_MAX_DEPTH            64
/* The longest requestId of a function call (type 3), in bytes as written
 * (quotes and escapes included): the broker holds it until the answer. */
#define JUNO_CALL_REQUEST_ID_MAX_LENGTH 4096

/**
 * JunoProtocolError:
 *
 * The integer codes carried by a type 0 message. 0 to 7 are those of the
 * original Juno broker; 8 and up are juno's additions.
 */
typedef enum
{
  JUNO_PROTOCOL_ERROR_MALFORMED_REQUEST = 0,
  JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID = 1,
  JUNO_PROTOCOL_ERROR_UNKNOWN_TYPE = 2,
  JUNO_PROTOCOL_ERROR_UNREGISTERED_MODULE = 3,
  JUNO_PROTOCOL_ERROR_UNKNOWN_MODULE = 4,
  JUNO_PROTOCOL_ERROR_UNKNOWN_FUNCTION = 5,
  JUNO_PROTOCOL_ERROR_INVALID_MODULE_ID = 6,
  JUNO_PROTOCOL_ERROR_DUPLICATE_MODULE = 7,
  JUNO_PROTOCOL_ERROR_CALLEE_DISCONNECTED = 8,
  JUNO_PROTOCOL_ERROR_CALL_TIMED_OUT = 9,
  JUNO_PROTOCOL_ERROR_MESSAGE_TOO_LARGE = 10,
  JUNO_PROTOCOL_ERROR_TOO_MANY_CALLS = 11,
  JUNO_PROTOCOL_ERROR_LIMIT_REACHED = 12,
  JUNO_PROTOCOL_ERROR_ACCESS_DENIED = 13,
  JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED = 14, /* JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED_VALUE */

  /* not a code: keep it last; each code has its text in juno-protocol-error.c */
  JUNO_PROTOCOL_ERROR_N_CODES
} JunoProtocolError;

/* for messages built at compile time */
#define JUNO_PROTOCOL_ERROR_QUOTA_EXCEEDED_VALUE 14

/* Wire message types */
typedef enum
{
  JUNO_MSG_ERROR = 0,
  JUNO_MSG_REGISTER_MODULE = 1,
  JUNO_MSG_MODULE_REGISTERED = 2,
  JUNO_MSG_FUNCTION_CALL = 3,
  JUNO_MSG_FUNCTION_RESPONSE = 4,
  JUNO_MSG_REGISTER_HOOK = 5,
  JUNO_MSG_HOOK_REGISTERED = 6,
  JUNO_MSG_TRIGGER_HOOK = 7,
  JUNO_MSG_HOOK_TRIGGERED = 8,
  JUNO_MSG_DECLARE_FUNCTION = 9,
  JUNO_MSG_FUNCTION_DECLARED = 10,
} JunoMessageType;
