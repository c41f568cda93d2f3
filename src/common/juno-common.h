/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-common.h: the rules every side of juno shares
 *
 * A small static library, linked by the core, the D-Bus plane, the daemon,
 * libjuno and junoctl, so that each rule exists once: the grammar of names
 * (juno-name-check.c), the default socket path (juno-socket-path.c), the
 * texts of the protocol error codes (juno-protocol-error.c) and where their
 * translations are (juno-i18n.c). It knows no
 * registry and opens no socket; the constants it builds on are in
 * juno-names.h.
 */
#pragma once

#include <glib.h>

#include "juno-names.h"

G_BEGIN_DECLS

/* Names. @len is the length in bytes, or -1 for a NUL-terminated string.
 *
 *   moduleId          1 to JUNO_MODULE_ID_MAX_LENGTH of A-Z a-z 0-9 _ -
 *   function name     1 or more of A-Z a-z 0-9 _
 *   hook name         1 or more bytes, none of them a dot
 *   "module.function" a moduleId, a dot, a function name
 *   "module.hook"     a moduleId, a dot, a hook name
 *
 * The address checks store the length of the moduleId part in
 * @module_len (nullable) when they return TRUE. */
gboolean juno_module_id_is_valid (const char *id, gssize len);
/* A broker's or a federation's name (docs/federation.md): 1 to
 * JUNO_BROKER_NAME_MAX_LENGTH of A-Z a-z 0-9 _ - (a NATS subject token). */
gboolean juno_broker_name_is_valid (const char *name);
gboolean juno_function_name_is_valid (const char *name, gssize len);
gboolean juno_hook_name_is_valid (const char *name, gssize len);
gboolean juno_function_address_is_valid (const char *address, gsize *module_len);
gboolean juno_hook_address_is_valid (const char *address, gsize *module_len);

/* Hook patterns, which observers listen to (docs/protocol.md, "Observers"):
 * "*" (every hook), or a module part and a hook part joined by one dot,
 * where '*' in a part matches any run of characters within that part. The
 * module part holds moduleId characters and '*', the hook part any bytes
 * but a dot. A hook address is a pattern that matches itself. */
gboolean juno_hook_pattern_is_valid (const char *pattern);
gboolean juno_hook_pattern_match (const char *pattern, const char *address);

/* Paths. */
const char *juno_get_runtime_dir (void);
char *juno_default_socket_path (void);

/* Translations (text domain GETTEXT_PACKAGE). juno_get_locale_dir():
 * $JUNO_LOCALEDIR when it is an absolute path, else LOCALEDIR.
 * juno_i18n_bind() binds the domain there (what a library does);
 * juno_i18n_init() also sets the locale and the default domain (what a
 * program's main() does first). */
const char *juno_get_locale_dir (void);
void juno_i18n_bind (void);
void juno_i18n_init (void);

/* Protocol error codes (JunoProtocolError). */
const char *juno_protocol_error_get_text (int code);
const char *juno_protocol_error_get_dbus_name (int code);
char *juno_protocol_error_dup_message (int code);

G_END_DECLS
