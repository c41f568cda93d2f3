/* fuzz-semver.c: the semver version and requirement parsers
 *
 * The input is "VERSION\nVERSION\nREQUIREMENT" (missing parts are empty).
 * Checks: comparison is reflexive and antisymmetric; a version and a
 * requirement that parse can be matched; an error is set exactly when
 * parsing fails; a release version without build metadata satisfies itself
 * as a requirement.
 */
#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "juno-semver.h"

static int
sign (int v)
{
  return (v > 0) - (v < 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto(GStrv) parts = g_strsplit (text, "\n", 3);
  g_auto(JunoVersion) a = { 0 };
  g_auto(JunoVersion) b = { 0 };
  g_autoptr(JunoVersionReq) req = NULL;
  g_autoptr(GError) error = NULL;
  gboolean a_ok, b_ok;
  const char *texts[3] = { "", "", "" };

  fuzz_init ();
  for (guint i = 0; i < 3 && parts[i] != NULL; i++)
    texts[i] = parts[i];

  a_ok = juno_version_parse (texts[0], &a, &error);
  FUZZ_ASSERT (a_ok == (error == NULL));
  g_clear_error (&error);
  b_ok = juno_version_parse (texts[1], &b, &error);
  FUZZ_ASSERT (b_ok == (error == NULL));
  g_clear_error (&error);
  req = juno_version_req_parse (texts[2], &error);
  FUZZ_ASSERT ((req != NULL) == (error == NULL));

  if (a_ok)
    FUZZ_ASSERT (juno_version_compare (&a, &a) == 0);
  if (a_ok && b_ok)
    FUZZ_ASSERT (sign (juno_version_compare (&a, &b)) == -sign (juno_version_compare (&b, &a)));
  if (req != NULL && a_ok)
    (void) juno_version_req_matches (req, &a);
  if (req != NULL && b_ok)
    (void) juno_version_req_matches (req, &b);
  /* the same text as a requirement: a bare version is a caret one, which
   * the version itself satisfies unless it is a pre-release (requirements
   * take no build metadata) */
  if (a_ok && a.pre == NULL && a.build == NULL)
    {
      g_autoptr(JunoVersionReq) self = juno_version_req_parse (texts[0], NULL);

      FUZZ_ASSERT (self != NULL && juno_version_req_matches (self, &a));
    }
  return 0;
}
