/* test-json-differential.c: the scanner's grammar judged by json-glib
 *
 * Every input goes to juno_json_normalize() (the grammar of the wire, the
 * D-Bus plane, libjuno and junoctl) and to json-glib's JsonParser, and both
 * must reach the same verdict. Where they differ, the input must show one
 * of the documented exceptions (docs/protocol.md, "JSON grammar"): a place
 * where json-glib 1.6 is laxer than RFC 8259, a number json-glib cannot
 * represent, or a lone surrogate escape that json-glib refuses. The
 * exceptions are found here by a separate, deliberately loose lexer, not by
 * the scanner under test, and each must be seen at least once, so the list
 * cannot go stale.
 *
 * Inputs: the corpus of tests/data/json/{must-accept,must-reject,
 * may-either}/ and generated texts: random valid documents, token-level
 * mutations of them and byte-level mutations of both, from a fixed seed
 * (JUNO_DIFF_SEED overrides it; JUNO_DIFF_COUNT the number of inputs).
 * Only texts within the scanner's limits reach json-glib, which 1.6 parses
 * recursively without a bound: nesting up to JUNO_JSON_MAX_DEPTH, size up
 * to the default line limit.
 */
#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "juno-protocol.h"

#define MAX_TEXT (1024 * 1024) /* the broker's default line limit */
#define DEFAULT_SEED 20261204
#define DEFAULT_COUNT 30000

/* The documented differences. LAX_*: json-glib 1.6 accepts, the scanner
 * refuses. LONE_SURROGATE: either way; json-glib 1.6 refuses a lone
 * surrogate escape in some places, and after one at the end of a string
 * reads on past the closing quote, so it takes some broken texts. */
typedef enum
{
  LAX_SINGLE_QUOTE = 1 << 0,
  LAX_COMMENT = 1 << 1,
  LAX_NUMBER_FORM = 1 << 2,  /* 01, 0x10, $10, .5, 1., "- 1" */
  LAX_CONTROL_CHAR = 1 << 3, /* raw 0x01-0x1f in a string */
  LAX_ESCAPE = 1 << 4,       /* \x, \', \0, \U, \u not followed by 4 hex digits */
  LAX_DOCUMENT = 1 << 5,     /* empty, or more than one value */
  LAX_BOM = 1 << 6,
  LAX_NUMBER_RANGE = 1 << 7, /* beyond gint64 / G_MAXDOUBLE */
  LONE_SURROGATE = 1 << 8, /* "\ud800" or "\udc00" not in a pair */
  N_EXCEPTIONS = 9,
} Exception;

#define LAX_ANY (LONE_SURROGATE - 1)

static const char *const exception_names[N_EXCEPTIONS] = {
  "single-quote", "comment", "number-form", "control-char", "escape",
  "document", "bom", "number-range", "lone-surrogate",
};

/* How often each exception explained a difference, over the whole run. */
static guint exception_seen[N_EXCEPTIONS];
static guint n_checked, n_agreed_accept, n_agreed_reject, n_too_big;

/* ------------------------------------------------------------------ */
/* The loose lexer that names the exceptions                           */
/* ------------------------------------------------------------------ */

static gboolean
strict_number (const char *p, gsize n)
{
  gsize i = 0;

  if (i < n && p[i] == '-')
    i++;
  if (i < n && p[i] == '0')
    i++;
  else if (i < n && g_ascii_isdigit (p[i]))
    while (i < n && g_ascii_isdigit (p[i]))
      i++;
  else
    return FALSE;
  if (i < n && p[i] == '.')
    {
      if (++i >= n || !g_ascii_isdigit (p[i]))
        return FALSE;
      while (i < n && g_ascii_isdigit (p[i]))
        i++;
    }
  if (i < n && (p[i] == 'e' || p[i] == 'E'))
    {
      i++;
      if (i < n && (p[i] == '+' || p[i] == '-'))
        i++;
      if (i >= n || !g_ascii_isdigit (p[i]))
        return FALSE;
      while (i < n && g_ascii_isdigit (p[i]))
        i++;
    }
  return i == n;
}

/* Independent of the scanner's check: libc's conversions and errno. */
static gboolean
number_out_of_range (const char *p, gsize n)
{
  g_autofree char *copy = g_strndup (p, n);

  errno = 0;
  if (strpbrk (copy, ".eE") == NULL)
    {
      g_ascii_strtoll (copy, NULL, 10);
      return errno == ERANGE;
    }
  return isinf (g_ascii_strtod (copy, NULL));
}

static guint
hex4_at (const guchar *p, const guchar *end, gboolean *ok)
{
  guint v = 0;

  *ok = end - p >= 4;
  for (int i = 0; *ok && i < 4; i++)
    {
      if (!g_ascii_isxdigit (p[i]))
        *ok = FALSE;
      else
        v = (v << 4) | (guint) g_ascii_xdigit_value (p[i]);
    }
  return v;
}

static guint
lex_string (const guchar **pp, const guchar *end)
{
  const guchar *p = *pp;
  guchar quote = *p++;
  guint found = quote == '\'' ? LAX_SINGLE_QUOTE : 0;

  while (p < end && *p != quote)
    {
      if (*p < 0x20)
        {
          found |= LAX_CONTROL_CHAR;
          p++;
        }
      else if (*p == '\\')
        {
          gboolean ok;
          guint u;

          if (++p >= end)
            break;
          if (strchr ("\"\\/bfnrt", *p) != NULL && *p != '\0')
            {
              p++;
              continue;
            }
          if (*p != 'u')
            {
              found |= LAX_ESCAPE;
              continue; /* the escaped byte is read as text */
            }
          u = hex4_at (p + 1, end, &ok);
          if (!ok)
            {
              found |= LAX_ESCAPE;
              continue;
            }
          p += 5;
          if (u >= 0xd800 && u <= 0xdbff)
            {
              guint lo = 0;

              ok = FALSE;
              if (end - p >= 6 && p[0] == '\\' && p[1] == 'u')
                lo = hex4_at (p + 2, end, &ok);
              if (ok && lo >= 0xdc00 && lo <= 0xdfff)
                p += 6; /* a pair */
              else
                found |= LONE_SURROGATE;
            }
          else if (u >= 0xdc00 && u <= 0xdfff)
            found |= LONE_SURROGATE;
        }
      else
        p++;
    }
  *pp = p < end ? p + 1 : p;
  return found;
}

/* Which documented exceptions @text shows. Loose on purpose: it lexes what
 * json-glib's scanner would, and only has to find the features. */
static guint
classify (const char *text, gsize len)
{
  const guchar *p = (const guchar *) text, *end = p + len;
  guint found = 0, values = 0;
  int depth = 0;

  if (len >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    found |= LAX_BOM, p += 3;

  while (p < end)
    {
      guchar c = *p;

      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == ',')
        p++;
      else if (c == '/')
        {
          /* json-glib 1.6 reads "/ ... /" as a comment too, besides C's */
          found |= LAX_COMMENT;
          p++;
        }
      else if (c == '"' || c == '\'')
        {
          values += depth == 0;
          found |= lex_string (&p, end);
        }
      else if (c == '{' || c == '[')
        {
          values += depth == 0;
          depth++;
          p++;
        }
      else if (c == '}' || c == ']')
        {
          depth--;
          p++;
        }
      else if (g_ascii_isdigit (c) || c == '-' || c == '+' || c == '.' || c == '$')
        {
          const guchar *start = p;

          values += depth == 0;
          while (p < end && (g_ascii_isalnum (*p) || *p == '.' || *p == '-' || *p == '+' || *p == '$'))
            p++;
          if (!strict_number ((const char *) start, (gsize) (p - start)))
            found |= LAX_NUMBER_FORM;
          else if (number_out_of_range ((const char *) start, (gsize) (p - start)))
            found |= LAX_NUMBER_RANGE;
        }
      else if (g_ascii_isalpha (c))
        {
          values += depth == 0;
          while (p < end && g_ascii_isalnum (*p))
            p++;
        }
      else
        p++;
    }
  if (values != 1)
    found |= LAX_DOCUMENT;
  return found;
}

/* ------------------------------------------------------------------ */
/* The two judges                                                      */
/* ------------------------------------------------------------------ */

/* Nesting as json-glib would recurse into it, strings skipped. */
static guint
max_depth (const char *text, gsize len)
{
  guint depth = 0, deepest = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        deepest = MAX (deepest, ++depth);
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return deepest;
}

static JsonNode *
json_glib_parse (const char *text, gsize len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, (gssize) len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  return root != NULL ? json_node_copy (root) : json_node_new (JSON_NODE_NULL);
}

static char *
printable (const char *text, gsize len)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < MIN (len, 400); i++)
    {
      guchar c = (guchar) text[i];

      if (c >= 0x20 && c < 0x7f && c != '\\')
        g_string_append_c (s, (char) c);
      else
        g_string_append_printf (s, "\\x%02x", c);
    }
  if (len > 400)
    g_string_append_printf (s, "... (%" G_GSIZE_FORMAT " bytes)", len);
  return g_string_free (s, FALSE);
}

/* Runs both judges on @text. @expect: 1 the scanner must accept, 0 it must
 * refuse, -1 either (then it must agree with json-glib, up to the
 * exceptions). Returns FALSE, with a message, on a disagreement. */
static gboolean
judge (const char *text, gsize len, int expect, const char *origin)
{
  g_autofree char *copy = g_memdup2 (text, len > 0 ? len : 1); /* exact size, for ASan */
  g_autoptr(GString) compact = g_string_new (NULL);
  g_autoptr(JsonNode) glib_root = NULL;
  JunoJsonKind kind;
  JunoParseResult result, line_result;
  JunoMessage msg;
  gboolean juno_ok, glib_ok;
  guint exceptions;

  result = juno_json_normalize (copy, len, compact, &kind);
  juno_ok = result == JUNO_PARSE_OK;

  /* the message parser is the same grammar */
  line_result = juno_message_parse (copy, len, &msg);
  switch (result)
    {
    case JUNO_PARSE_OK:
      g_assert_cmpint (line_result, ==, kind == JUNO_JSON_OBJECT ? JUNO_PARSE_OK : JUNO_PARSE_NOT_OBJECT);
      break;
    case JUNO_PARSE_NUMBER_RANGE:
      g_assert_true (line_result == JUNO_PARSE_NUMBER_RANGE || line_result == JUNO_PARSE_NOT_OBJECT);
      break;
    default:
      g_assert_cmpint (line_result, ==, result);
    }

  if (expect >= 0 && juno_ok != (expect == 1))
    {
      g_autofree char *shown = printable (text, len);

      g_test_message ("%s: the scanner %s it (%s): %s", origin, juno_ok ? "accepts" : "refuses",
                      juno_parse_result_to_string (result), shown);
      return FALSE;
    }

  if (result == JUNO_PARSE_TOO_DEEP || max_depth (text, len) > JUNO_JSON_MAX_DEPTH || len > MAX_TEXT)
    {
      /* beyond the limits: refused, and json-glib is not asked */
      g_assert_false (juno_ok);
      n_too_big++;
      return TRUE;
    }

  n_checked++;
  glib_root = json_glib_parse (text, len);
  glib_ok = glib_root != NULL;
  if (juno_ok)
    {
      /* the compact form is the same document, for json-glib too */
      g_autoptr(JsonNode) again = json_glib_parse (compact->str, compact->len);
      g_autoptr(GString) twice = g_string_new (NULL);

      g_assert_cmpint (juno_json_normalize (compact->str, compact->len, twice, NULL), ==, JUNO_PARSE_OK);
      g_assert_cmpstr (twice->str, ==, compact->str);
      g_assert_true ((again != NULL) == glib_ok);
      if (glib_ok)
        g_assert_true (json_node_equal (glib_root, again));
    }
  if (juno_ok == glib_ok)
    {
      if (juno_ok)
        n_agreed_accept++;
      else
        n_agreed_reject++;
      return TRUE;
    }

  exceptions = classify (text, len) & (juno_ok ? LONE_SURROGATE : LAX_ANY | LONE_SURROGATE);
  if (exceptions == 0)
    {
      g_autofree char *shown = printable (text, len);

      g_test_message ("%s: json-glib %s, the scanner %s (%s), and no documented exception explains it: %s",
                      origin, glib_ok ? "accepts" : "refuses", juno_ok ? "accepts" : "refuses",
                      juno_parse_result_to_string (result), shown);
      return FALSE;
    }
  for (guint i = 0; i < N_EXCEPTIONS; i++)
    if (exceptions & (1u << i))
      exception_seen[i]++;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The corpus                                                          */
/* ------------------------------------------------------------------ */

static const struct CorpusDir
{
  const char *name;
  int expect;
  guint min_files;
} corpus_dirs[] = {
  { "must-accept", 1, 90 },
  { "must-reject", 0, 180 },
  { "may-either", -1, 30 },
};

/* may-either: what the scanner decides (docs/protocol.md). */
static const struct
{
  const char *file;
  gboolean accept;
} may_either_verdicts[] = {
  { "i_number_double_huge_neg_exp.json", TRUE }, /* 123.456e-789: rounds to 0 */
  { "i_number_real_underflow.json", TRUE },
  { "i_number_huge_exp.json", FALSE },
  { "i_number_neg_int_huge_exp.json", FALSE },
  { "i_number_pos_double_huge_exp.json", FALSE },
  { "i_number_real_neg_overflow.json", FALSE },
  { "i_number_real_pos_overflow.json", FALSE },
  { "i_number_too_big_neg_int.json", FALSE },
  { "i_number_too_big_pos_int.json", FALSE },
  { "i_number_very_big_negative_int.json", FALSE },
  { "i_object_key_lone_2nd_surrogate.json", TRUE },
  { "i_string_1st_surrogate_but_2nd_missing.json", TRUE },
  { "i_string_1st_valid_surrogate_2nd_invalid.json", TRUE },
  { "i_string_incomplete_surrogate_and_escape_valid.json", TRUE },
  { "i_string_incomplete_surrogate_pair.json", TRUE },
  { "i_string_incomplete_surrogates_escape_valid.json", TRUE },
  { "i_string_invalid_lonely_surrogate.json", TRUE },
  { "i_string_invalid_surrogate.json", TRUE },
  { "i_string_inverted_surrogates_U+1D11E.json", TRUE },
  { "i_string_lone_second_surrogate.json", TRUE },
  { "i_structure_500_nested_arrays.json", FALSE }, /* deeper than 64 */
  { "i_structure_UTF-8_BOM_empty_object.json", FALSE },
};

static int
may_either_verdict (const char *file)
{
  for (guint i = 0; i < G_N_ELEMENTS (may_either_verdicts); i++)
    if (strcmp (may_either_verdicts[i].file, file) == 0)
      return may_either_verdicts[i].accept;
  /* the rest are bytes that are not UTF-8 (or UTF-16): refused */
  return 0;
}

typedef struct
{
  const struct CorpusDir *dir;
  char *name;
  char *path;
} CorpusFile;

static void
corpus_file_free (gpointer data)
{
  CorpusFile *file = data;

  g_free (file->name);
  g_free (file->path);
  g_free (file);
}

static char *
corpus_dir_path (const char *name)
{
  return g_build_filename (g_test_get_dir (G_TEST_DIST), "data", "json", name, NULL);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static GPtrArray *
list_corpus (const char *dir_name)
{
  g_autofree char *path = corpus_dir_path (dir_name);
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  GPtrArray *names;
  const char *name;

  if (d == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return names;
}

static void
test_corpus_dir (gconstpointer data)
{
  const struct CorpusDir *dir = data;
  g_autoptr(GPtrArray) names = list_corpus (dir->name);

  g_assert_nonnull (names);
  g_assert_cmpuint (names->len, >=, dir->min_files);
}

static void
test_corpus_file (gconstpointer data)
{
  const CorpusFile *file = data;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  int expect = file->dir->expect;

  g_file_get_contents (file->path, &text, &len, &error);
  g_assert_no_error (error);
  if (expect < 0)
    expect = may_either_verdict (file->name);
  g_assert_true (judge (text, len, expect, file->name));
}

/* ------------------------------------------------------------------ */
/* Generated inputs                                                    */
/* ------------------------------------------------------------------ */

static const char *const numbers[] = {
  "0", "-0", "1", "-1", "42", "0.5", "-0.25", "10.0", "1e5", "1E+5", "1e-5", "-2.5E-3",
  "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
  "18446744073709551616", "123456789012345678901234567890", "1.7976931348623157e308",
  "1.7976931348623159e308", "1e308", "1e309", "-1e400", "1e400", "1e-400", "0e999", "0.0",
  "5e-324", "100000000000000000000.5",
};

static const char *const strings[] = {
  "\"\"", "\"a\"", "\"hello world\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0041\\u00e9\"",
  "\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\x7f\"", "\"\\u0000\"",
  "\"requestId\"", "\"{[,:]}\"", "\"\\udc00\"",
};

static const char *const whitespace[] = { "", "", "", " ", "\n", "\t", "\r\n", "  " };

static void
gen_value (GRand *rand, GString *out, guint depth)
{
  guint pick = g_rand_int_range (rand, 0, depth >= 6 ? 5 : 8);

  switch (pick)
    {
    case 0:
      g_string_append (out, numbers[g_rand_int_range (rand, 0, G_N_ELEMENTS (numbers))]);
      break;
    case 1:
    case 2:
      g_string_append (out, strings[g_rand_int_range (rand, 0, G_N_ELEMENTS (strings))]);
      break;
    case 3:
      g_string_append (out, (const char *[]){ "true", "false", "null" }[g_rand_int_range (rand, 0, 3)]);
      break;
    case 4:
      g_string_append (out, g_rand_boolean (rand) ? "{}" : "[]");
      break;
    default:
      {
        gboolean object = g_rand_boolean (rand);
        guint n = (guint) g_rand_int_range (rand, 0, 5);

        g_string_append_c (out, object ? '{' : '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            g_string_append (out, whitespace[g_rand_int_range (rand, 0, G_N_ELEMENTS (whitespace))]);
            if (object)
              {
                g_string_append (out, strings[g_rand_int_range (rand, 0, G_N_ELEMENTS (strings))]);
                g_string_append (out, whitespace[g_rand_int_range (rand, 0, G_N_ELEMENTS (whitespace))]);
                g_string_append_c (out, ':');
              }
            gen_value (rand, out, depth + 1);
            g_string_append (out, whitespace[g_rand_int_range (rand, 0, G_N_ELEMENTS (whitespace))]);
          }
        g_string_append_c (out, object ? '}' : ']');
      }
    }
}

static GString *
gen_document (GRand *rand)
{
  GString *out = g_string_new (whitespace[g_rand_int_range (rand, 0, G_N_ELEMENTS (whitespace))]);

  gen_value (rand, out, 0);
  g_string_append (out, whitespace[g_rand_int_range (rand, 0, G_N_ELEMENTS (whitespace))]);
  return out;
}

/* Bytes worth inserting: JSON's structure, the lax forms, UTF-8 edges. */
static const char mutation_bytes[] = "{}[],:\" \t\n\r\\/*'0123456789-+.eExu$tfnal\x01\x1f\x7f\xc3\xa9\xed\xa0\xff\xef\xbb\xbf";

static const char *const mutation_tokens[] = {
  "{", "}", "[", "]", ",", ":", "\"", "'", "//", "/*", "*/", "1", "-", "01", "0x1", ".5", "1.", "1e400",
  "true", "nul", "\\u", "\\ud800", "\\x", "\t", "\n", "\xef\xbb\xbf", "{}", "\"a\":",
};

static void
mutate (GRand *rand, GString *text)
{
  guint n = (guint) g_rand_int_range (rand, 1, 4);

  for (guint i = 0; i < n; i++)
    {
      gsize at = text->len > 0 ? (gsize) g_rand_int_range (rand, 0, (gint32) text->len + 1) : 0;

      switch (g_rand_int_range (rand, 0, 5))
        {
        case 0: /* delete a byte */
          if (at < text->len)
            g_string_erase (text, (gssize) at, 1);
          break;
        case 1: /* replace a byte */
          if (at < text->len)
            text->str[at] = mutation_bytes[g_rand_int_range (rand, 0, sizeof mutation_bytes - 1)];
          break;
        case 2: /* insert a byte */
          g_string_insert_c (text, (gssize) at, mutation_bytes[g_rand_int_range (rand, 0, sizeof mutation_bytes - 1)]);
          break;
        case 3: /* insert a token */
          g_string_insert (text, (gssize) at, mutation_tokens[g_rand_int_range (rand, 0, G_N_ELEMENTS (mutation_tokens))]);
          break;
        default: /* truncate */
          g_string_truncate (text, at);
          break;
        }
    }
}

static guint64
env_number (const char *name, guint64 fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' ? g_ascii_strtoull (value, NULL, 10) : fallback;
}

static void
test_generated (void)
{
  guint32 seed = (guint32) env_number ("JUNO_DIFF_SEED", DEFAULT_SEED);
  guint count = (guint) env_number ("JUNO_DIFF_COUNT", DEFAULT_COUNT);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GPtrArray) corpus = g_ptr_array_new_with_free_func (g_free);
  guint failures = 0;

  g_test_message ("seed %u, %u inputs (JUNO_DIFF_SEED, JUNO_DIFF_COUNT)", seed, count);

  /* small corpus files seed the byte-level mutations */
  for (guint d = 0; d < G_N_ELEMENTS (corpus_dirs); d++)
    {
      g_autoptr(GPtrArray) names = list_corpus (corpus_dirs[d].name);
      g_autofree char *dir = corpus_dir_path (corpus_dirs[d].name);

      g_assert_nonnull (names);
      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
          char *text = NULL;
          gsize len = 0;

          if (g_file_get_contents (path, &text, &len, NULL) && len < 200 && strlen (text) == len)
            g_ptr_array_add (corpus, text);
          else
            g_free (text);
        }
    }
  g_assert_cmpuint (corpus->len, >, 100);

  for (guint i = 0; i < count && failures < 10; i++)
    {
      g_autoptr(GString) text = NULL;
      g_autofree char *origin = NULL;
      int expect = -1;

      switch (i % 3)
        {
        case 0: /* a valid document: both accept, up to the exceptions */
          text = gen_document (rand);
          origin = g_strdup_printf ("generated #%u", i);
          break;
        case 1: /* a mutated document */
          text = gen_document (rand);
          mutate (rand, text);
          origin = g_strdup_printf ("mutated document #%u", i);
          break;
        default: /* a mutated corpus file */
          text = g_string_new (g_ptr_array_index (corpus, g_rand_int_range (rand, 0, (gint32) corpus->len)));
          mutate (rand, text);
          origin = g_strdup_printf ("mutated corpus #%u", i);
          break;
        }
      if (!judge (text->str, text->len, expect, origin))
        failures++;
    }
  g_test_message ("checked %u (agreed: %u accepted, %u refused), %u beyond the limits", n_checked,
                  n_agreed_accept, n_agreed_reject, n_too_big);
  g_assert_cmpuint (failures, ==, 0);
  g_assert_cmpuint (n_agreed_accept, >, count / 10);
  g_assert_cmpuint (n_agreed_reject, >, count / 10);
}

/* Runs last: each documented exception explained at least one difference. */
static void
test_exceptions_seen (void)
{
  gboolean all = TRUE;

  for (guint i = 0; i < N_EXCEPTIONS; i++)
    {
      g_test_message ("exception %s: %u inputs", exception_names[i], exception_seen[i]);
      all = all && exception_seen[i] > 0;
    }
  g_assert_true (all);
}

/* The exceptions as the documentation lists them, one input each. */
static const struct
{
  const char *name;
  const char *text;
  Exception exception;
  gboolean scanner_accepts; /* and json-glib refuses */
} documented[] = {
  { "single-quoted-key", "{'a':1}", LAX_SINGLE_QUOTE, FALSE },
  { "single-quoted-value", "[\"a\",'b']", LAX_SINGLE_QUOTE, FALSE },
  { "block-comment", "/* c */ {}", LAX_COMMENT, FALSE },
  { "comment-inside", "[1,/* c */2]", LAX_COMMENT, FALSE },
  { "slash-comment", "{/ c /}", LAX_COMMENT, FALSE },
  { "leading-zero", "01", LAX_NUMBER_FORM, FALSE },
  { "negative-leading-zero", "[-01]", LAX_NUMBER_FORM, FALSE },
  { "hex", "0x10", LAX_NUMBER_FORM, FALSE },
  { "hex-dollar", "[$10]", LAX_NUMBER_FORM, FALSE },
  { "leading-dot", ".5", LAX_NUMBER_FORM, FALSE },
  { "trailing-dot", "[1.]", LAX_NUMBER_FORM, FALSE },
  { "sign-apart", "[- 1]", LAX_NUMBER_FORM, FALSE },
  { "raw-tab", "[\"a\tb\"]", LAX_CONTROL_CHAR, FALSE },
  { "raw-newline", "{\"a\":\"x\ny\"}", LAX_CONTROL_CHAR, FALSE },
  { "raw-0x01", "\"\x01\"", LAX_CONTROL_CHAR, FALSE },
  { "escape-x", "\"\\x41\"", LAX_ESCAPE, FALSE },
  { "escape-quote", "\"\\'\"", LAX_ESCAPE, FALSE },
  { "escape-zero", "\"\\0\"", LAX_ESCAPE, FALSE },
  { "escape-upper-u", "\"\\U0041\"", LAX_ESCAPE, FALSE },
  { "empty", "", LAX_DOCUMENT, FALSE },
  { "blank", " \n ", LAX_DOCUMENT, FALSE },
  { "two-objects", "{}{}", LAX_DOCUMENT, FALSE },
  { "bom", "\xef\xbb\xbf{}", LAX_BOM, FALSE },
  { "huge-exponent", "[1e400]", LAX_NUMBER_RANGE, FALSE },
  { "huge-negative", "{\"n\":-1e400}", LAX_NUMBER_RANGE, FALSE },
  { "past-int64", "[9223372036854775808]", LAX_NUMBER_RANGE, FALSE },
  { "past-uint64", "[18446744073709551616]", LAX_NUMBER_RANGE, FALSE },
  { "lone-high-surrogate", "\"\\ud800\"", LONE_SURROGATE, TRUE },
  { "lone-low-surrogate", "\"\\udc00\"", LONE_SURROGATE, TRUE },
  { "surrogate-eats-quote", "[\"\\ud800\"\\u\"]", LONE_SURROGATE, FALSE },
};

static void
test_documented (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  const char *text = documented[i].text;
  gsize len = strlen (text);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(JsonNode) root = json_glib_parse (text, len);
  gboolean strict = documented[i].scanner_accepts;

  /* json-glib 1.6 really differs here, and the lexer names the reason */
  g_assert_cmpint (juno_json_normalize (text, len, out, NULL) == JUNO_PARSE_OK, ==, strict);
#if !JSON_CHECK_VERSION(1, 7, 0)
  g_assert_cmpint (root != NULL, ==, !strict);
#endif
  g_assert_cmpuint (classify (text, len) & documented[i].exception, !=, 0);
  g_assert_true (judge (text, len, strict ? 1 : 0, documented[i].name));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (documented); i++)
    {
      g_autofree char *path = g_strdup_printf ("/json/differential/documented/%s", documented[i].name);

      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_documented);
    }
  for (guint d = 0; d < G_N_ELEMENTS (corpus_dirs); d++)
    {
      const struct CorpusDir *dir = &corpus_dirs[d];
      g_autoptr(GPtrArray) names = list_corpus (dir->name);
      g_autofree char *dir_path = corpus_dir_path (dir->name);
      g_autofree char *test_path = g_strdup_printf ("/json/differential/corpus/%s", dir->name);

      g_test_add_data_func (test_path, dir, test_corpus_dir);
      for (guint j = 0; names != NULL && j < names->len; j++)
        {
          const char *name = g_ptr_array_index (names, j);
          CorpusFile *file = g_new0 (CorpusFile, 1);
          g_autofree char *path = g_strdup_printf ("/json/differential/corpus/%s/%s", dir->name, name);

          file->dir = dir;
          file->name = g_strdup (name);
          file->path = g_build_filename (dir_path, name, NULL);
          g_test_add_data_func_full (path, file, test_corpus_file, corpus_file_free);
        }
    }
  g_test_add_func ("/json/differential/generated", test_generated);
  g_test_add_func ("/json/differential/zz/every-exception-seen", test_exceptions_seen);

  return g_test_run ();
}
