/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-federation-module.h: what the federation module (juno-federation.so)
 * gives the daemon
 *
 * The module exports one symbol, JUNO_FEDERATION_MODULE_ENTRY, a function
 * returning a table of the functions behind juno_federation_new, _stop and
 * _get_state. The module calls the daemon's own functions (the core, the
 * poller, juno_federation_options_check), which the executable exports
 * (export_dynamic): a module and a daemon of different builds would
 * disagree on their structures, so the loader refuses a table whose ABI,
 * size or version is not its own.
 */
#pragma once

#include "juno-federation.h"

G_BEGIN_DECLS

#define JUNO_FEDERATION_MODULE_ABI 1
#define JUNO_FEDERATION_MODULE_ENTRY "juno_federation_module_entry"

typedef struct
{
  guint abi;           /* JUNO_FEDERATION_MODULE_ABI */
  gsize size;          /* sizeof (JunoFederationModule) */
  const char *version; /* PACKAGE_VERSION of the build */
  JunoFederation *(*create) (JunoBroker *broker, JunoPoller *poller, const JunoFederationOptions *options,
                             GError **error);
  void (*stop) (JunoFederation *self);
  const char *(*get_state) (JunoFederation *self);
} JunoFederationModule;

typedef const JunoFederationModule *(*JunoFederationModuleEntry) (void);

G_END_DECLS
