/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-name-check.c: the grammar of moduleIds, function and hook names
 *
 * The broker, its D-Bus plane, libjuno and junoctl all decide with these
 * functions, so a name one of them accepts is accepted by all. The grammar
 * is written in juno-common.h and docs/protocol.md.
 */
#include "config.h"

#include <string.h>

#include "juno-common.h"

static gboolean
all_chars (const char *text, gsize len, const char *extra)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (text[i]) && (text[i] == '\0' || strchr (extra, text[i]) == NULL))
      return FALSE;
  return TRUE;
}

static gsize
length_of (const char *text, gssize len)
{
  return len < 0 ? strlen (text) : (gsize) len;
}

gboolean
juno_module_id_is_valid (const char *id, gssize len)
{
  gsize n;

  g_return_val_if_fail (id != NULL, FALSE);

  n = length_of (id, len);
  return n > 0 && n <= JUNO_MODULE_ID_MAX_LENGTH && all_chars (id, n, "-_");
}

gboolean
juno_broker_name_is_valid (const char *name)
{
  gsize n;

  g_return_val_if_fail (name != NULL, FALSE);

  n = strlen (name);
  return n > 0 && n <= JUNO_BROKER_NAME_MAX_LENGTH && all_chars (name, n, "-_");
}

gboolean
juno_function_name_is_valid (const char *name, gssize len)
{
  gsize n;

  g_return_val_if_fail (name != NULL, FALSE);

  n = length_of (name, len);
  return n > 0 && all_chars (name, n, "_");
}

gboolean
juno_hook_name_is_valid (const char *name, gssize len)
{
  gsize n;

  g_return_val_if_fail (name != NULL, FALSE);

  n = length_of (name, len);
  return n > 0 && memchr (name, '.', n) == NULL && memchr (name, '\0', n) == NULL;
}

/* A moduleId before the first dot, and @rest_is_valid for what follows. */
static gboolean
address_is_valid (const char *address, gsize *module_len, gboolean (*rest_is_valid) (const char *, gssize))
{
  const char *dot;

  g_return_val_if_fail (address != NULL, FALSE);

  dot = strchr (address, '.');
  if (dot == NULL || !juno_module_id_is_valid (address, dot - address) || !rest_is_valid (dot + 1, -1))
    return FALSE;
  if (module_len != NULL)
    *module_len = (gsize) (dot - address);
  return TRUE;
}

gboolean
juno_function_address_is_valid (const char *address, gsize *module_len)
{
  return address_is_valid (address, module_len, juno_function_name_is_valid);
}

gboolean
juno_hook_address_is_valid (const char *address, gsize *module_len)
{
  return address_is_valid (address, module_len, juno_hook_name_is_valid);
}

gboolean
juno_hook_pattern_is_valid (const char *pattern)
{
  const char *dot;

  g_return_val_if_fail (pattern != NULL, FALSE);

  if (strcmp (pattern, "*") == 0)
    return TRUE;
  dot = strchr (pattern, '.');
  return dot != NULL && dot > pattern && dot - pattern <= JUNO_MODULE_ID_MAX_LENGTH &&
         all_chars (pattern, (gsize) (dot - pattern), "-_*") && juno_hook_name_is_valid (dot + 1, -1);
}

/* '*' matches any run of bytes of @text[0..len); iterative, with one
 * backtrack point, so the time is at most the product of the lengths. */
static gboolean
glob_match (const char *pattern, gsize plen, const char *text, gsize len)
{
  gsize p = 0, t = 0, star = G_MAXSIZE, mark = 0;

  while (t < len)
    {
      if (p < plen && pattern[p] == '*')
        {
          star = p++;
          mark = t;
        }
      else if (p < plen && pattern[p] == text[t])
        {
          p++;
          t++;
        }
      else if (star != G_MAXSIZE)
        {
          p = star + 1;
          t = ++mark;
        }
      else
        return FALSE;
    }
  while (p < plen && pattern[p] == '*')
    p++;
  return p == plen;
}

gboolean
juno_hook_pattern_match (const char *pattern, const char *address)
{
  const char *pdot, *adot;

  g_return_val_if_fail (pattern != NULL && address != NULL, FALSE);

  if (strcmp (pattern, "*") == 0)
    return TRUE;
  pdot = strchr (pattern, '.');
  adot = strchr (address, '.');
  if (pdot == NULL || adot == NULL)
    return FALSE;
  return glob_match (pattern, (gsize) (pdot - pattern), address, (gsize) (adot - address)) &&
         glob_match (pdot + 1, strlen (pdot + 1), adot + 1, strlen (adot + 1));
}
