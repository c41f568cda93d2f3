/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-error-private.h: helpers shared inside libjuno */
#pragma once

#include "juno-error.h"

G_BEGIN_DECLS

void juno_set_protocol_error (GError **error, int code);

G_END_DECLS
