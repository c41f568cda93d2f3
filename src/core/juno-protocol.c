/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-protocol.c: one-pass validating JSON scanner and encoder helpers
 *
 * The scanner follows RFC 8259 exactly (no comments, no trailing commas, no
 * single quotes, no control characters inside strings). Nesting is bounded
 * by JUNO_JSON_MAX_DEPTH, so a peer cannot make the recursion deeper than
 * that. Only the top-level keys listed in JunoKey are recorded; a key seen
 * twice keeps its last value, like json-glib.
 *
 * json-glib, which libjuno, junoctl and the dependency check use, is the
 * reference: tests/unit/test-json-differential.c holds the scanner to its
 * verdicts, with the places where json-glib 1.6 is laxer than RFC 8259
 * written down there. RFC 8259 (section 6) lets a parser limit the range of
 * numbers; this one takes exactly the numbers json-glib represents: an
 * integer (no fraction, no exponent) within gint64, any other number
 * finite as a double. Others (1e400, 2^64) are JUNO_PARSE_NUMBER_RANGE,
 * never silently infinity or a wrapped integer. The scan goes on past such
 * a number, so the keys of the message are still recorded.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "juno-protocol.h"

#define N_(text) (text) /* no gettext in the core: libjuno and junoctl translate */

typedef enum
{
  SCAN_OK,
  SCAN_INVALID,
  SCAN_TOO_DEEP,
  SCAN_BAD_UTF8,
  SCAN_NUMBER_RANGE, /* valid, but a number json-glib cannot represent */
} ScanStatus;

typedef struct
{
  const char *p;
  const char *end;
  gboolean number_range; /* saw a number out of range */
} Scanner;

/* What to record while scanning the top-level object. */
typedef struct
{
  const char *const *names;
  const gsize *name_lens;
  guint n_names;
  JunoJsonValue *values; /* n_names entries */
} Capture;

static const char *const message_keys[JUNO_N_KEYS] = {
  [JUNO_KEY_REQUEST_ID] = "requestId",
  [JUNO_KEY_TYPE] = "type",
  [JUNO_KEY_MODULE_ID] = "moduleId",
  [JUNO_KEY_VERSION] = "version",
  [JUNO_KEY_DEPENDENCIES] = "dependencies",
  [JUNO_KEY_FUNCTION] = "function",
  [JUNO_KEY_ARGUMENTS] = "arguments",
  [JUNO_KEY_HOOK] = "hook",
  [JUNO_KEY_DATA] = "data",
  [JUNO_KEY_ERROR] = "error",
};

static const gsize message_key_lens[JUNO_N_KEYS] = {
  [JUNO_KEY_REQUEST_ID] = sizeof "requestId" - 1,
  [JUNO_KEY_TYPE] = sizeof "type" - 1,
  [JUNO_KEY_MODULE_ID] = sizeof "moduleId" - 1,
  [JUNO_KEY_VERSION] = sizeof "version" - 1,
  [JUNO_KEY_DEPENDENCIES] = sizeof "dependencies" - 1,
  [JUNO_KEY_FUNCTION] = sizeof "function" - 1,
  [JUNO_KEY_ARGUMENTS] = sizeof "arguments" - 1,
  [JUNO_KEY_HOOK] = sizeof "hook" - 1,
  [JUNO_KEY_DATA] = sizeof "data" - 1,
  [JUNO_KEY_ERROR] = sizeof "error" - 1,
};

static ScanStatus scan_value (Scanner *s, guint depth, JunoJsonValue *out, const Capture *capture);

G_ALWAYS_INLINE static inline void
skip_ws (Scanner *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

/* Bytes a string may hold as they are: printable ASCII but '"' and '\\'. */
static const guint8 plain_string_byte[256] = {
  [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,           /* 0x22 '"' */
  [0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  [0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  [0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,           /* 0x5c '\\' */
  [0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  [0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Steps over one UTF-8 sequence of 2 to 4 bytes (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static gboolean
skip_utf8 (Scanner *s)
{
  const guchar *p = (const guchar *) s->p;
  gsize left = (gsize) (s->end - s->p);
  guchar lo = 0x80, hi = 0xbf;
  gsize n;

  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    n = 2;
  else if (p[0] >= 0xe0 && p[0] <= 0xef)
    {
      n = 3;
      if (p[0] == 0xe0)
        lo = 0xa0;
      else if (p[0] == 0xed)
        hi = 0x9f;
    }
  else if (p[0] >= 0xf0 && p[0] <= 0xf4)
    {
      n = 4;
      if (p[0] == 0xf0)
        lo = 0x90;
      else if (p[0] == 0xf4)
        hi = 0x8f;
    }
  else
    return FALSE;

  if (left < n || p[1] < lo || p[1] > hi)
    return FALSE;
  for (gsize i = 2; i < n; i++)
    if ((p[i] & 0xc0) != 0x80)
      return FALSE;
  s->p += n;
  return TRUE;
}

#define ONES G_GUINT64_CONSTANT (0x0101010101010101)
#define HIGHS G_GUINT64_CONSTANT (0x8080808080808080)

/* Whether none of 8 bytes is '"', '\\', a control character or non-ASCII:
 * the classic "has a zero byte" test, (x - 1) & ~x & 0x80, per byte. */
static inline gboolean
all_plain (guint64 w)
{
  guint64 quote = w ^ (ONES * '"');
  guint64 backslash = w ^ (ONES * '\\');
  guint64 special = ((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash) |
                    (w - ONES * 0x20) | w;

  return (special & HIGHS) == 0;
}

G_ALWAYS_INLINE static inline ScanStatus
scan_string (Scanner *s, gboolean *escaped)
{
  s->p++; /* opening quote */
  while (s->p < s->end)
    {
      guchar c;

      /* long runs of plain text (a big payload) go 8 bytes at a time */
      while (s->end - s->p >= 8)
        {
          guint64 w;

          memcpy (&w, s->p, sizeof w);
          if (!all_plain (w))
            break;
          s->p += 8;
        }
      if (s->p >= s->end)
        break;
      c = (guchar) *s->p;

      if (plain_string_byte[c])
        {
          s->p++;
          continue;
        }
      if (c == '"')
        {
          s->p++;
          return SCAN_OK;
        }
      if (c >= 0x80)
        {
          if (!skip_utf8 (s))
            return SCAN_BAD_UTF8;
          continue;
        }
      if (c != '\\')
        return SCAN_INVALID; /* a control character */

      *escaped = TRUE;
      if (++s->p >= s->end)
        return SCAN_INVALID;
      switch (*s->p)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          s->p++;
          break;
        case 'u':
          if (s->end - s->p < 5)
            return SCAN_INVALID;
          for (int i = 1; i <= 4; i++)
            if (!g_ascii_isxdigit (s->p[i]))
              return SCAN_INVALID;
          s->p += 5;
          break;
        default:
          return SCAN_INVALID;
        }
    }
  return SCAN_INVALID;
}

G_ALWAYS_INLINE static inline gboolean
scan_digits (Scanner *s)
{
  const char *start = s->p;

  while (s->p < s->end && g_ascii_isdigit (*s->p))
    s->p++;
  return s->p > start;
}

/* Whether the valid JSON number @text is one json-glib represents (see the
 * top of this file). Called only for the rare numbers that might not be:
 * those with an exponent or with 19 digits or more before the point. */
static gboolean
number_in_range (const char *text, gsize len)
{
  static const char int64_max[] = "9223372036854775807", int64_min[] = "9223372036854775808";
  const char *p = text, *end = text + len, *digits;
  gboolean negative = FALSE, integer = TRUE;
  gint64 magnitude = G_MININT64; /* decimal exponent of the first non-zero digit */
  gint64 exponent = 0;
  gsize n;

  if (*p == '-')
    negative = TRUE, p++;
  for (digits = p; p < end && g_ascii_isdigit (*p); p++)
    if (magnitude == G_MININT64 && *p != '0')
      magnitude = 0;
    else if (magnitude != G_MININT64)
      magnitude++;
  n = (gsize) (p - digits);

  if (p < end && *p == '.')
    {
      gint64 position = 0;

      integer = FALSE;
      for (p++; p < end && g_ascii_isdigit (*p); p++)
        {
          position--;
          if (magnitude == G_MININT64 && *p != '0')
            magnitude = position;
        }
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      gboolean minus = FALSE;

      integer = FALSE;
      p++;
      if (*p == '+' || *p == '-')
        minus = *p++ == '-';
      for (; p < end; p++)
        exponent = MIN (exponent * 10 + (*p - '0'), 1000000000); /* far past any double */
      if (minus)
        exponent = -exponent;
    }

  if (integer)
    return n < sizeof int64_max - 1 ||
           (n == sizeof int64_max - 1 && memcmp (digits, negative ? int64_min : int64_max, n) <= 0);
  if (magnitude == G_MININT64 || magnitude + exponent < 308)
    return TRUE; /* zero, or below 10^308 < G_MAXDOUBLE */
  if (magnitude + exponent > 308)
    return FALSE;
  {
    /* between 10^308 and 10^309: let strtod say whether it overflows */
    g_autofree char *copy = g_strndup (text, len);

    return !isinf (g_ascii_strtod (copy, NULL));
  }
}

G_ALWAYS_INLINE static inline ScanStatus
scan_number (Scanner *s)
{
  const char *start = s->p, *digits;
  gboolean exponent = FALSE;

  if (*s->p == '-')
    s->p++;
  if (s->p >= s->end)
    return SCAN_INVALID;
  digits = s->p;
  if (*s->p == '0')
    s->p++;
  else if (!scan_digits (s))
    return SCAN_INVALID;

  if (s->p < s->end && *s->p == '.')
    {
      s->p++;
      if (!scan_digits (s))
        return SCAN_INVALID;
    }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      exponent = TRUE;
      s->p++;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (!scan_digits (s))
        return SCAN_INVALID;
    }
  /* 18 digits always fit a gint64 */
  if (G_UNLIKELY (exponent || s->p - digits > 18) &&
      !number_in_range (start, (gsize) (s->p - start)))
    s->number_range = TRUE;
  return SCAN_OK;
}

G_ALWAYS_INLINE static inline ScanStatus
scan_literal (Scanner *s, const char *word)
{
  gsize n = word[0] == 'f' ? 5 : 4; /* true, false, null */

  if ((gsize) (s->end - s->p) < n || memcmp (s->p, word, n) != 0)
    return SCAN_INVALID;
  s->p += n;
  return SCAN_OK;
}

static int
capture_index (const Capture *capture, const char *key, gsize len, gboolean escaped)
{
  g_autofree char *decoded = NULL;

  if (escaped)
    {
      JunoJsonValue v = { key - 1, (guint32) (len + 2), JUNO_JSON_STRING, TRUE };

      decoded = juno_json_value_dup_string (&v);
      if (decoded == NULL)
        return -1;
      key = decoded;
      len = strlen (decoded);
    }

  for (guint i = 0; i < capture->n_names; i++)
    if (capture->name_lens[i] == len && (len == 0 || capture->names[i][0] == key[0]) &&
        memcmp (capture->names[i], key, len) == 0)
      return (int) i;
  return -1;
}

static ScanStatus
scan_object (Scanner *s, guint depth, const Capture *capture)
{
  s->p++; /* '{' */
  skip_ws (s);
  if (s->p < s->end && *s->p == '}')
    {
      s->p++;
      return SCAN_OK;
    }

  for (;;)
    {
      const char *key;
      gboolean escaped = FALSE;
      JunoJsonValue value;
      ScanStatus st;
      int slot = -1;

      skip_ws (s);
      if (s->p >= s->end || *s->p != '"')
        return SCAN_INVALID;
      key = s->p + 1;
      if ((st = scan_string (s, &escaped)) != SCAN_OK)
        return st;
      if (capture != NULL)
        slot = capture_index (capture, key, (gsize) (s->p - 1 - key), escaped);

      skip_ws (s);
      if (s->p >= s->end || *s->p != ':')
        return SCAN_INVALID;
      s->p++;
      skip_ws (s);
      /* recorded in place: no copy of the value afterwards */
      if ((st = scan_value (s, depth, slot >= 0 ? &capture->values[slot] : &value, NULL)) != SCAN_OK)
        return st;

      skip_ws (s);
      if (s->p >= s->end)
        return SCAN_INVALID;
      if (*s->p == '}')
        {
          s->p++;
          return SCAN_OK;
        }
      if (*s->p != ',')
        return SCAN_INVALID;
      s->p++;
    }
}

/* Validates the object or array at s->p, which @depth containers enclose,
 * without recording anything: the arguments and data a message carries
 * are checked here in one loop, with an explicit stack instead of
 * recursion. */
static ScanStatus
skip_container (Scanner *s, guint depth)
{
  gboolean is_object[JUNO_JSON_MAX_DEPTH];
  gboolean escaped;
  guint level = 0;
  ScanStatus st;

open:
  /* s->p is at '{' or '[' */
  if (depth + level >= JUNO_JSON_MAX_DEPTH)
    return SCAN_TOO_DEEP;
  is_object[level++] = *s->p == '{';
  s->p++;
  skip_ws (s);
  if (s->p >= s->end)
    return SCAN_INVALID;
  if (*s->p == (is_object[level - 1] ? '}' : ']'))
    {
      s->p++;
      goto closed;
    }

element:
  if (is_object[level - 1])
    {
      if (s->p >= s->end || *s->p != '"')
        return SCAN_INVALID;
      if ((st = scan_string (s, &escaped)) != SCAN_OK)
        return st;
      skip_ws (s);
      if (s->p >= s->end || *s->p != ':')
        return SCAN_INVALID;
      s->p++;
      skip_ws (s);
    }
  if (s->p >= s->end)
    return SCAN_INVALID;
  switch (*s->p)
    {
    case '{':
    case '[':
      goto open;
    case '"':
      st = scan_string (s, &escaped);
      break;
    case 't':
      st = scan_literal (s, "true");
      break;
    case 'f':
      st = scan_literal (s, "false");
      break;
    case 'n':
      st = scan_literal (s, "null");
      break;
    default:
      st = scan_number (s);
      break;
    }
  if (st != SCAN_OK)
    return st;

next:
  skip_ws (s);
  if (s->p >= s->end)
    return SCAN_INVALID;
  if (*s->p == ',')
    {
      s->p++;
      skip_ws (s);
      goto element;
    }
  if (*s->p != (is_object[level - 1] ? '}' : ']'))
    return SCAN_INVALID;
  s->p++;

closed:
  if (--level == 0)
    return SCAN_OK;
  goto next;
}

/* @depth counts the containers already open around this value. */
static ScanStatus
scan_value (Scanner *s, guint depth, JunoJsonValue *out, const Capture *capture)
{
  const char *start = s->p;
  ScanStatus st;

  if (s->p >= s->end)
    return SCAN_INVALID;

  out->escaped = FALSE;
  switch (*s->p)
    {
    case '{':
      if (depth >= JUNO_JSON_MAX_DEPTH)
        return SCAN_TOO_DEEP;
      out->kind = JUNO_JSON_OBJECT;
      st = capture != NULL ? scan_object (s, depth + 1, capture) : skip_container (s, depth);
      break;
    case '[':
      if (depth >= JUNO_JSON_MAX_DEPTH)
        return SCAN_TOO_DEEP;
      out->kind = JUNO_JSON_ARRAY;
      st = skip_container (s, depth);
      break;
    case '"':
      out->kind = JUNO_JSON_STRING;
      st = scan_string (s, &out->escaped);
      break;
    case 't':
      out->kind = JUNO_JSON_TRUE;
      st = scan_literal (s, "true");
      break;
    case 'f':
      out->kind = JUNO_JSON_FALSE;
      st = scan_literal (s, "false");
      break;
    case 'n':
      out->kind = JUNO_JSON_NULL;
      st = scan_literal (s, "null");
      break;
    default:
      out->kind = JUNO_JSON_NUMBER;
      st = scan_number (s);
      break;
    }

  out->text = start;
  out->len = (guint32) (s->p - start);
  return st;
}

static ScanStatus
scan_document (const char *text, gsize len, JunoJsonValue *root, const Capture *capture)
{
  Scanner s = { text, text + len };
  ScanStatus st;

  skip_ws (&s);
  if ((st = scan_value (&s, 0, root, capture)) != SCAN_OK)
    return st;
  skip_ws (&s);
  if (s.p != s.end)
    return SCAN_INVALID;
  return G_UNLIKELY (s.number_range) ? SCAN_NUMBER_RANGE : SCAN_OK;
}

JunoParseResult
juno_message_parse (const char *line, gsize len, JunoMessage *msg)
{
  Capture capture = { message_keys, message_key_lens, JUNO_N_KEYS, msg->keys };
  JunoJsonValue root;
  Scanner peek = { line, line + len };

  memset (msg, 0, sizeof *msg);
  if (len > G_MAXUINT32)
    return JUNO_PARSE_INVALID_JSON;

  skip_ws (&peek);
  switch (scan_document (line, len, &root, peek.p < peek.end && *peek.p == '{' ? &capture : NULL))
    {
    case SCAN_BAD_UTF8:
      return JUNO_PARSE_INVALID_UTF8;
    case SCAN_TOO_DEEP:
      /* a line that is not UTF-8 is refused as such, wherever the fault */
      return g_utf8_validate_len (line, len, NULL) ? JUNO_PARSE_TOO_DEEP : JUNO_PARSE_INVALID_UTF8;
    case SCAN_INVALID:
      return g_utf8_validate_len (line, len, NULL) ? JUNO_PARSE_INVALID_JSON : JUNO_PARSE_INVALID_UTF8;
    case SCAN_NUMBER_RANGE:
      /* the keys are recorded: the reply can carry the request's id */
      return root.kind == JUNO_JSON_OBJECT ? JUNO_PARSE_NUMBER_RANGE : JUNO_PARSE_NOT_OBJECT;
    case SCAN_OK:
    default:
      break;
    }
  return root.kind == JUNO_JSON_OBJECT ? JUNO_PARSE_OK : JUNO_PARSE_NOT_OBJECT;
}

gboolean
juno_json_object_lookup (const char *text, gsize len, const char *key, JunoJsonValue *out)
{
  const char *names[1] = { key };
  gsize name_lens[1] = { strlen (key) };
  Capture capture = { names, name_lens, 1, out };
  JunoJsonValue root;

  memset (out, 0, sizeof *out);
  if (len == 0 || text[0] != '{' || len > G_MAXUINT32)
    return FALSE;
  if (scan_document (text, len, &root, &capture) != SCAN_OK)
    return FALSE;
  return out->kind != JUNO_JSON_ABSENT;
}

void
juno_json_iter_init (JunoJsonIter *iter, const JunoJsonValue *object)
{
  g_return_if_fail (object->kind == JUNO_JSON_OBJECT && object->len >= 2);

  iter->p = object->text + 1;
  iter->end = object->text + object->len - 1;
}

gboolean
juno_json_iter_next (JunoJsonIter *iter, JunoJsonValue *key, JunoJsonValue *value)
{
  Scanner s = { iter->p, iter->end, FALSE };
  ScanStatus st;

  skip_ws (&s);
  if (s.p < s.end && *s.p == ',')
    {
      s.p++;
      skip_ws (&s);
    }
  if (s.p >= s.end || *s.p != '"')
    return FALSE;
  key->text = s.p;
  key->kind = JUNO_JSON_STRING;
  key->escaped = FALSE;
  if (scan_string (&s, &key->escaped) != SCAN_OK)
    return FALSE;
  key->len = (guint32) (s.p - key->text);
  skip_ws (&s);
  if (s.p >= s.end || *s.p != ':')
    return FALSE;
  s.p++;
  skip_ws (&s);
  /* one level is open: the object itself */
  st = scan_value (&s, 1, value, NULL);
  if (st != SCAN_OK)
    return FALSE;
  iter->p = s.p;
  return TRUE;
}

static guint
hex4 (const char *p)
{
  guint v = 0;

  for (int i = 0; i < 4; i++)
    v = (v << 4) | (guint) g_ascii_xdigit_value (p[i]);
  return v;
}

char *
juno_json_value_get_string (const JunoJsonValue *value, char *buffer, gsize size, char **decoded)
{
  g_return_val_if_fail (value->kind == JUNO_JSON_STRING && value->len >= 2, NULL);

  if (!value->escaped && value->len - 2 < size)
    {
      memcpy (buffer, value->text + 1, value->len - 2);
      buffer[value->len - 2] = '\0';
      return buffer;
    }
  *decoded = juno_json_value_dup_string (value);
  return *decoded;
}

char *
juno_json_value_dup_string (const JunoJsonValue *value)
{
  const char *p, *end;
  GString *out;

  g_return_val_if_fail (value->kind == JUNO_JSON_STRING && value->len >= 2, NULL);

  p = value->text + 1;
  end = value->text + value->len - 1;
  if (!value->escaped)
    return g_strndup (p, (gsize) (end - p));

  out = g_string_sized_new ((gsize) (end - p));
  while (p < end)
    {
      gunichar u;

      if (*p != '\\')
        {
          g_string_append_c (out, *p++);
          continue;
        }
      p++;
      switch (*p)
        {
        case 'b': g_string_append_c (out, '\b'); p++; continue;
        case 'f': g_string_append_c (out, '\f'); p++; continue;
        case 'n': g_string_append_c (out, '\n'); p++; continue;
        case 'r': g_string_append_c (out, '\r'); p++; continue;
        case 't': g_string_append_c (out, '\t'); p++; continue;
        case 'u': break;
        default: g_string_append_c (out, *p++); continue;
        }

      u = hex4 (p + 1);
      p += 5;
      if (u >= 0xD800 && u <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u')
        {
          guint lo = hex4 (p + 2);

          if (lo >= 0xDC00 && lo <= 0xDFFF)
            {
              u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
              p += 6;
            }
        }
      if (u == 0)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      if (u >= 0xD800 && u <= 0xDFFF)
        u = 0xFFFD; /* a lone surrogate has no UTF-8 form */
      g_string_append_unichar (out, u);
    }
  return g_string_free (out, FALSE);
}

gboolean
juno_json_value_get_int64 (const JunoJsonValue *value, gint64 *out)
{
  char buf[24];
  char *endp = NULL;
  gint64 v;

  if (value->kind != JUNO_JSON_NUMBER || value->len >= sizeof buf)
    return FALSE;
  if (value->len <= 9 && value->text[0] != '-')
    {
      /* the usual case, a message type: digits only, no overflow possible */
      v = 0;
      for (guint i = 0; i < value->len; i++)
        {
          if (!g_ascii_isdigit (value->text[i]))
            goto general;
          v = v * 10 + (value->text[i] - '0');
        }
      *out = v;
      return TRUE;
    }

general:
  if (memchr (value->text, '.', value->len) || memchr (value->text, 'e', value->len) ||
      memchr (value->text, 'E', value->len))
    return FALSE;

  memcpy (buf, value->text, value->len);
  buf[value->len] = '\0';
  errno = 0;
  v = g_ascii_strtoll (buf, &endp, 10);
  if (errno != 0 || *endp != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

void
juno_json_append_string (GString *out, const char *str)
{
  const char *p = str;

  /* the plain prefix (usually all of it) in one copy */
  while (*p != '\0' && *p != '"' && *p != '\\' && (guchar) *p >= 0x20)
    p++;
  g_string_append_c (out, '"');
  juno_out_append (out, str, (gsize) (p - str));
  for (; *p; p++)
    {
      guchar c = (guchar) *p;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) c);
        }
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static inline gboolean
is_ws (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Appends valid JSON @text without its whitespace: runs between blanks
 * are copied whole, strings are stepped over (they hold no raw blank the
 * grammar lets through, and their escapes stay as written). */
static void
append_compact (GString *out, const char *text, gsize len)
{
  const char *p = text, *end = text + len, *run = text;

  while (p < end)
    {
      if (*p == '"')
        {
          for (p++; *p != '"'; p++)
            if (*p == '\\')
              p++;
          p++;
        }
      else if (is_ws (*p))
        {
          juno_out_append (out, run, (gsize) (p - run));
          while (p < end && is_ws (*p))
            p++;
          run = p;
        }
      else
        p++;
    }
  juno_out_append (out, run, (gsize) (end - run));
}

JunoParseResult
juno_json_normalize (const char *text, gsize len, GString *out, JunoJsonKind *kind)
{
  JunoJsonValue root;
  ScanStatus st;

  g_return_val_if_fail (text != NULL || len == 0, JUNO_PARSE_INVALID_JSON);
  g_return_val_if_fail (out != NULL, JUNO_PARSE_INVALID_JSON);

  if (kind != NULL)
    *kind = JUNO_JSON_ABSENT;
  if (len > G_MAXUINT32)
    return JUNO_PARSE_INVALID_JSON;

  st = scan_document (text, len, &root, NULL);
  if (st == SCAN_BAD_UTF8)
    return JUNO_PARSE_INVALID_UTF8;
  if (st == SCAN_NUMBER_RANGE)
    return JUNO_PARSE_NUMBER_RANGE;
  if (st != SCAN_OK)
    {
      /* as juno_message_parse: text that is not UTF-8 is refused as such */
      if (!g_utf8_validate_len (text, len, NULL))
        return JUNO_PARSE_INVALID_UTF8;
      return st == SCAN_TOO_DEEP ? JUNO_PARSE_TOO_DEEP : JUNO_PARSE_INVALID_JSON;
    }
  /* NUL bytes outside strings fail the grammar; inside, skip_utf8 and the
   * plain-byte table refuse them */
  append_compact (out, root.text, root.len);
  if (kind != NULL)
    *kind = (JunoJsonKind) root.kind;
  return JUNO_PARSE_OK;
}

G_STATIC_ASSERT (JUNO_JSON_MAX_DEPTH == 64); /* written out below, one literal for xgettext */

const char *
juno_parse_result_to_string (JunoParseResult result)
{
  /* marked for translation: libjuno and junoctl show these to users */
  switch (result)
    {
    case JUNO_PARSE_OK:
      return N_("is valid JSON");
    case JUNO_PARSE_INVALID_JSON:
      return N_("is not valid JSON (RFC 8259)");
    case JUNO_PARSE_TOO_DEEP:
      return N_("is nested deeper than 64 levels");
    case JUNO_PARSE_NOT_OBJECT:
      return N_("is not a JSON object");
    case JUNO_PARSE_INVALID_UTF8:
      return N_("is not valid UTF-8");
    case JUNO_PARSE_NUMBER_RANGE:
      return N_("holds a number out of range (an integer beyond 64 bits or a number beyond a double)");
    default:
      return N_("cannot be read");
    }
}
