/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-invocation.h: one call of a declared function, to be answered once */
#pragma once

#if !defined (JUNO_INSIDE) && !defined (JUNO_COMPILATION)
#error "Only <juno.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "juno-version-macros.h"

G_BEGIN_DECLS

typedef struct _JunoClient JunoClient;

/**
 * JunoInvocation:
 *
 * A call of one of the client's functions by another module. The handler
 * answers it with juno_invocation_return_value() or
 * juno_invocation_return_error(), right away or later (keep a reference in
 * the meantime). An invocation dropped without an answer is answered with
 * %JUNO_ERROR_HANDLER_FAILED at once, so the caller never waits for nothing.
 *
 * Since: 1.0
 */
#define JUNO_TYPE_INVOCATION (juno_invocation_get_type ())
JUNO_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (JunoInvocation, juno_invocation, JUNO, INVOCATION, GObject)

JUNO_AVAILABLE_IN_1_0
JunoClient *juno_invocation_get_client (JunoInvocation *invocation);
JUNO_AVAILABLE_IN_1_0
const char *juno_invocation_get_function (JunoInvocation *invocation);
JUNO_AVAILABLE_IN_1_0
const char *juno_invocation_get_caller (JunoInvocation *invocation);
JUNO_AVAILABLE_IN_1_0
JsonNode *juno_invocation_get_arguments (JunoInvocation *invocation);
JUNO_AVAILABLE_IN_1_0
gboolean juno_invocation_get_answered (JunoInvocation *invocation);

JUNO_AVAILABLE_IN_1_0
void juno_invocation_return_value (JunoInvocation *invocation,
                                   JsonNode       *value);
JUNO_AVAILABLE_IN_1_0
void juno_invocation_return_error (JunoInvocation *invocation,
                                   int             code);
JUNO_AVAILABLE_IN_1_0
void juno_invocation_return_gerror (JunoInvocation *invocation,
                                    const GError   *error);

JUNO_AVAILABLE_IN_1_0
char *juno_invocation_dup_arguments_json (JunoInvocation *invocation);
JUNO_AVAILABLE_IN_1_0
GVariant *juno_invocation_dup_arguments_variant (JunoInvocation *invocation);
JUNO_AVAILABLE_IN_1_0
void juno_invocation_return_variant (JunoInvocation *invocation,
                                     GVariant       *value);
JUNO_AVAILABLE_IN_1_0
gboolean juno_invocation_return_json (JunoInvocation  *invocation,
                                      const char      *result,
                                      GError         **error);

G_END_DECLS
