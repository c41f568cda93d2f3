/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-version-macros.h: symbol export and availability annotations
 *
 * Every public libjuno symbol carries one JUNO_AVAILABLE_IN_x_y. The library is
 * built with hidden visibility, so a symbol without it stays private.
 */
#pragma once

#if !defined (JUNO_INSIDE) && !defined (JUNO_COMPILATION)
#error "Only <juno.h> can be included directly."
#endif

#include <glib.h>

#ifndef _JUNO_EXTERN
#define _JUNO_EXTERN __attribute__((visibility ("default"))) extern
#endif

#define JUNO_AVAILABLE_IN_ALL _JUNO_EXTERN
#define JUNO_AVAILABLE_IN_1_0 _JUNO_EXTERN
