/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-federation-wire.h: what brokers of a federation send each other,
 * checked (docs/federation.md, "Subjects and messages")
 *
 * Every function here takes bytes another broker published and either
 * returns what they mean or says why they are refused. Nothing here knows
 * NATS, so the fuzz target (tests/fuzz/fuzz-federation.c) runs them alone.
 * The protocol's grammar (juno_json_normalize, juno_message_parse) decides
 * first; json-glib only reads what it accepted.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "juno-semver.h"

G_BEGIN_DECLS

#define JUNO_FEDERATION_PROTOCOL_VERSION 1
/* functions and hooks of one remote module */
#define JUNO_FEDERATION_MAX_NAMES 4096

/* A module as another broker announces it. */
typedef struct
{
  char *id;
  char *version_text;
  JunoVersion version;
  char **functions;
  char **hooks;      /* "module.hook" */
} JunoRemoteModule;

void juno_remote_module_free (JunoRemoteModule *module);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoRemoteModule, juno_remote_module_free)

/* A control message (heartbeat, change, page, goodbye): a JSON object of
 * at most @max_size bytes with "v":1. Returns the object, kept alive by
 * *@parser, or NULL with *@why. */
JsonObject *juno_federation_parse_control (const char *data, gsize len, gsize max_size, JsonParser **parser,
                                           const char **why);
/* Members of a control message: NULL or FALSE when absent or mistyped. */
const char *juno_federation_get_string (JsonObject *object, const char *name);
gboolean juno_federation_get_uint (JsonObject *object, const char *name, guint64 *out);
/* A broker's instance id: 16 lowercase hexadecimal digits. */
gboolean juno_federation_instance_is_valid (const char *instance);
/* {"moduleId","version","functions":[...],"hooks":[...]}, every name
 * checked with the broker's own rules; NULL when anything is wrong. */
JunoRemoteModule *juno_federation_parse_module (JsonNode *node);

/* A call another broker forwards: the line the core forwarded there
 * (type 3 with "requestId", a bare "function", "caller" and perhaps
 * "arguments"). On success *@token is the requestId's JSON literal, and
 * *@arguments (NULL when absent) and *@arguments_len point into @data. */
gboolean juno_federation_parse_call (const char *data, gsize len, gsize max_size, char **token, char **function,
                                     char **caller, const char **arguments, gsize *arguments_len, const char **why);
/* An answer to a call: type 4 or 0 with a requestId of the broker's
 * tokens ("j<n>"). *@failed: type 0. */
gboolean juno_federation_parse_answer (const char *data, gsize len, gsize max_size, gboolean *failed, const char **why);

G_END_DECLS
