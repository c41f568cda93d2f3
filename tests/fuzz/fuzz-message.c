/* fuzz-message.c: the line scanner and message parser
 *
 * One input is one line. Checks: the recorded keys lie inside the line;
 * juno_json_normalize() reaches the same verdict on the same bytes; the
 * decoders accept whatever the scanner recorded.
 */
#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "juno-protocol.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *line = (const char *) data;
  g_autoptr(GString) compact = g_string_new (NULL);
  JunoMessage msg;
  JunoParseResult result, normalized;
  JunoJsonKind kind;

  fuzz_init ();
  result = juno_message_parse (line, size, &msg);
  normalized = juno_json_normalize (line, size, compact, &kind);

  switch (result)
    {
    case JUNO_PARSE_OK:
      FUZZ_ASSERT (normalized == JUNO_PARSE_OK && kind == JUNO_JSON_OBJECT);
      break;
    case JUNO_PARSE_NOT_OBJECT:
      FUZZ_ASSERT ((normalized == JUNO_PARSE_OK && kind != JUNO_JSON_OBJECT) ||
                   normalized == JUNO_PARSE_NUMBER_RANGE);
      break;
    case JUNO_PARSE_NUMBER_RANGE:
      FUZZ_ASSERT (normalized == JUNO_PARSE_NUMBER_RANGE);
      break;
    default:
      FUZZ_ASSERT (normalized == result);
    }
  /* a line that is not UTF-8 (or holds NUL) is refused as such, wherever the fault */
  FUZZ_ASSERT ((result == JUNO_PARSE_INVALID_UTF8) == !g_utf8_validate_len (line, size, NULL));

  if (result != JUNO_PARSE_OK && result != JUNO_PARSE_NUMBER_RANGE)
    return 0;

  for (guint k = 0; k < JUNO_N_KEYS; k++)
    {
      const JunoJsonValue *v = &msg.keys[k];
      gint64 n;

      if (v->kind == JUNO_JSON_ABSENT)
        continue;
      FUZZ_ASSERT (v->text >= line && v->text + v->len <= line + size && v->len > 0);
      if (v->kind == JUNO_JSON_STRING)
        {
          g_autofree char *s = juno_json_value_dup_string (v);

          FUZZ_ASSERT (v->len >= 2 && v->text[0] == '"' && v->text[v->len - 1] == '"');
          FUZZ_ASSERT (s == NULL || g_utf8_validate (s, -1, NULL));
        }
      if (v->kind == JUNO_JSON_OBJECT)
        {
          JunoJsonIter iter;
          JunoJsonValue key, value;

          juno_json_iter_init (&iter, v);
          while (juno_json_iter_next (&iter, &key, &value))
            FUZZ_ASSERT (key.kind == JUNO_JSON_STRING && value.text + value.len <= v->text + v->len);
        }
      (void) juno_json_value_get_int64 (v, &n);
    }
  return 0;
}
