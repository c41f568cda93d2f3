/* juno-error-private.h: helpers shared inside libjuno */
#pragma once

#include "juno-error.h"

G_BEGIN_DECLS

/* A translated description of a protocol code, or NULL for codes the
 * protocol does not define (a module may answer with any integer). */
const char *juno_error_describe (int code);
void juno_set_protocol_error (GError **error, int code);

G_END_DECLS
