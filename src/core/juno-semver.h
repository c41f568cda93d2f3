/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-semver.h: semantic versions and version requirements
 *
 * Versions follow semver 2.0.0. Requirements accept Cargo's syntax (a bare
 * version is a caret requirement; "=", ">", ">=", "<", "<=", "~", "^", "*",
 * "1.*", "1.2.x", comma-separated comparators that must all hold) and npm's
 * forms ("||" alternatives, space-separated comparators, hyphen ranges
 * "1.2.3 - 1.4.0", "x"/"X"/"*" wildcards, a leading "v").
 *
 * Pre-release versions only match a comparator set that names a pre-release
 * of the same major.minor.patch (Cargo and npm agree on this rule).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 major;
  guint64 minor;
  guint64 patch;
  char *pre;   /* owned; NULL when there is no pre-release part */
  char *build; /* owned; NULL when there is no build metadata */
} JunoVersion;

typedef struct _JunoVersionReq JunoVersionReq;

#define JUNO_SEMVER_ERROR (juno_semver_error_quark ())
typedef enum
{
  JUNO_SEMVER_ERROR_INVALID_VERSION,
  JUNO_SEMVER_ERROR_INVALID_REQUIREMENT,
} JunoSemverError;

GQuark juno_semver_error_quark (void);

/* Parses a strict semver string ("1.2.3", "1.2.3-rc.1+build.5"). No leading
 * "v", no missing parts, no leading zeros in numeric identifiers. Fills @out
 * (which must be zeroed or cleared) and returns TRUE, or sets @error. */
gboolean juno_version_parse (const char *text, JunoVersion *out, GError **error);
void juno_version_clear (JunoVersion *version);
/* Semver precedence: <0, 0, >0; build metadata is ignored. */
int juno_version_compare (const JunoVersion *a, const JunoVersion *b);

JunoVersionReq *juno_version_req_parse (const char *text, GError **error);
gboolean juno_version_req_matches (const JunoVersionReq *req, const JunoVersion *version);
void juno_version_req_free (JunoVersionReq *req);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JunoVersionReq, juno_version_req_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JunoVersion, juno_version_clear)

G_END_DECLS
