/* fuzz-normalize.c: juno_json_normalize(), the checker of JSON from D-Bus,
 * libjuno and junoctl
 *
 * Checks: a refusal leaves the output alone; an accepted text comes out
 * with no whitespace outside strings and no newline at all, normalizing it
 * again changes nothing, and the message parser agrees with it.
 */
#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "juno-protocol.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GString) out = g_string_new ("<");
  g_autoptr(GString) again = g_string_new (NULL);
  JunoJsonKind kind;
  JunoParseResult result;
  JunoMessage msg;
  gboolean in_string = FALSE;

  fuzz_init ();
  result = juno_json_normalize ((const char *) data, size, out, &kind);
  FUZZ_ASSERT (juno_parse_result_to_string (result) != NULL);
  if (result != JUNO_PARSE_OK)
    {
      FUZZ_ASSERT (out->len == 1 && kind == JUNO_JSON_ABSENT);
      return 0;
    }

  FUZZ_ASSERT (out->len > 1 && out->len <= size + 1);
  FUZZ_ASSERT (memchr (out->str, '\n', out->len) == NULL);
  for (gsize i = 1; i < out->len; i++)
    {
      char c = out->str[i];

      if (in_string && c == '\\')
        i++;
      else if (c == '"')
        in_string = !in_string;
      else if (!in_string)
        FUZZ_ASSERT (c != ' ' && c != '\t' && c != '\r');
    }
  FUZZ_ASSERT (!in_string);

  FUZZ_ASSERT (juno_json_normalize (out->str + 1, out->len - 1, again, NULL) == JUNO_PARSE_OK);
  FUZZ_ASSERT (strcmp (again->str, out->str + 1) == 0);
  FUZZ_ASSERT (juno_message_parse (out->str + 1, out->len - 1, &msg) ==
               (kind == JUNO_JSON_OBJECT ? JUNO_PARSE_OK : JUNO_PARSE_NOT_OBJECT));
  return 0;
}
