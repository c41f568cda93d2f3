/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno.h: the one header applications include for libjuno */
#pragma once

#define JUNO_INSIDE

#include "juno-version.h"
#include "juno-version-macros.h"
#include "juno-error.h"
#include "juno-enum-types.h"
#include "juno-invocation.h"
#include "juno-client.h"

#undef JUNO_INSIDE
