/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-dbus-error.c: see juno-dbus-error.h
 *
 * The names and texts of the protocol codes come from the common table
 * (juno-protocol-error.c); only the errors of the D-Bus plane itself are
 * named here.
 */
#include "config.h"

#include "juno-common.h"
#include "juno-dbus-error.h"

static const GDBusErrorEntry plane_errors[] = {
  { JUNO_DBUS_ERROR_INVALID_ARGS, JUNO_DBUS_ERROR_PREFIX "InvalidArgs" },
  { JUNO_DBUS_ERROR_FAILED, JUNO_DBUS_ERROR_PREFIX "Failed" },
  { JUNO_DBUS_ERROR_NOT_SUBSCRIBED, JUNO_DBUS_ERROR_PREFIX "NotSubscribed" },
  { JUNO_DBUS_ERROR_RESERVED_HOOK, JUNO_DBUS_ERROR_PREFIX "ReservedHook" },
};

GQuark
juno_dbus_error_quark (void)
{
  static gsize quark = 0;

  if (g_once_init_enter (&quark))
    {
      GQuark domain = g_quark_from_static_string ("juno-dbus-error-quark");

      for (int code = 0; code < JUNO_PROTOCOL_ERROR_N_CODES; code++)
        if (juno_protocol_error_get_dbus_name (code) != NULL) /* reserved codes have none */
          g_dbus_error_register_error (domain, code, juno_protocol_error_get_dbus_name (code));
      for (gsize i = 0; i < G_N_ELEMENTS (plane_errors); i++)
        g_dbus_error_register_error (domain, plane_errors[i].error_code, plane_errors[i].dbus_error_name);
      g_once_init_leave (&quark, domain);
    }
  return (GQuark) quark;
}

GError *
juno_dbus_error_new_from_code (int protocol_code)
{
  g_autofree char *message = juno_protocol_error_dup_message (protocol_code);

  if (juno_protocol_error_get_text (protocol_code) == NULL)
    return g_error_new_literal (JUNO_DBUS_ERROR, JUNO_DBUS_ERROR_FAILED, message);
  return g_error_new (JUNO_DBUS_ERROR, protocol_code, "%s (protocol error %d)", message, protocol_code);
}
