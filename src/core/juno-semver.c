/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-semver.c: semantic versions and version requirements
 *
 * Versions are strict semver 2.0.0: MAJOR.MINOR.PATCH, an optional
 * "-pre.release" part and optional "+build" metadata.  Identifiers are
 * [0-9A-Za-z-]+ and never empty; numeric identifiers (all digits) in the
 * core triple and the pre-release part have no leading zeros (build
 * identifiers may).  MAJOR, MINOR and PATCH must fit a guint64; numeric
 * pre-release identifiers are kept as text and compared by length and then
 * digit by digit, so they have no size limit (as in Cargo's semver crate).
 * No "v" prefix and no whitespace anywhere.  Precedence follows semver
 * 2.0.0 §11; build metadata is ignored.
 *
 * Requirements accept Cargo's VersionReq syntax and the common npm forms:
 *
 *  - a requirement is one or more alternatives separated by "||"; a version
 *    matches when it satisfies every comparator of at least one alternative;
 *  - inside an alternative, comparators are separated by ",", by whitespace
 *    or by both, and all of them must hold;
 *  - a comparator is an optional operator ("=", ">", ">=", "<", "<=", "~",
 *    "~>", "^"), optional whitespace, an optional "v", then a version that
 *    may be partial ("1", "1.2") or use wildcards ("*", "x", "X" in any
 *    position, e.g. "1.*", "1.2.x"; no number may follow a wildcard).
 *    Pre-release and build parts are only allowed on full versions; build
 *    metadata is ignored;
 *  - without an operator a version is a caret requirement ("1.2" is "^1.2",
 *    Cargo's rule; note that npm would read a bare "1.2.3" as "=1.2.3"), and
 *    a version with a wildcard is a wildcard requirement ("1.2.*" is "=1.2");
 *  - "A - B" (whitespace on both sides of the hyphen, no operators) is
 *    ">=A <=B"; a partial B covers the whole range it names ("1.2.3 - 1.4"
 *    is ">=1.2.3 <1.5.0");
 *  - "*", "x" and the empty (or all-whitespace) requirement match every
 *    release; "*" may be combined with other comparators (npm) where it is
 *    a no-op;
 *  - operators are evaluated with Cargo's semantics for partial versions:
 *    "^0.2.3" is ">=0.2.3 <0.3.0", "^0.0.3" is "=0.0.3", "^0.0" is "<0.1.0",
 *    "^0" is "<1.0.0", "~1.2.3" is ">=1.2.3 <1.3.0", "~1" is "<2.0.0",
 *    ">1" is ">=2.0.0", "<=1.4" is "<1.5.0".
 *  - a version with a pre-release part only matches an alternative in which
 *    some comparator names a pre-release of the same MAJOR.MINOR.PATCH
 *    ("*" never matches pre-releases).
 *
 * Decisions for inputs the two ecosystems treat differently:
 *
 *  - an empty "||" alternative ("1.2 ||", "|| 1.2", "||") is an error: npm
 *    reads it as "match anything", which turns a typo into a requirement
 *    that accepts every version;
 *  - ">*" and "<*" are errors (npm makes "<*" match nothing);
 *  - requirements longer than 1024 bytes or with more than 64 comparators
 *    are rejected.
 *
 * All parse errors are reported in JUNO_SEMVER_ERROR; nothing here asserts
 * on, or keeps global state about, its input.
 */
#include "juno-semver.h"

#include <string.h>

#define REQ_MAX_LENGTH 1024
#define REQ_MAX_COMPARATORS 64

G_DEFINE_QUARK (juno-semver-error-quark, juno_semver_error)

typedef enum
{
  OP_EXACT,
  OP_GREATER,
  OP_GREATER_EQ,
  OP_LESS,
  OP_LESS_EQ,
  OP_TILDE,
  OP_CARET,
} Op;

/* One comparator; n_parts says how many of major/minor/patch were given
 * (0 only while parsing, for a leading wildcard). */
typedef struct
{
  Op op;
  guint n_parts;
  guint64 major;
  guint64 minor;
  guint64 patch;
  char *pre; /* NULL when there is no pre-release part */
} Comparator;

/* A version must satisfy every comparator of one of the sets. */
struct _JunoVersionReq
{
  GPtrArray *sets; /* of GArray of Comparator */
};

typedef struct
{
  const char *text;
  const char *p;
  JunoSemverError code;
  guint n_comparators;
} Parser;

static void
comparator_clear (Comparator *c)
{
  g_clear_pointer (&c->pre, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Comparator, comparator_clear)

/* ------------------------------------------------------------------ */
/* Lexical helpers                                                     */
/* ------------------------------------------------------------------ */

static gboolean
parser_fail (Parser *ps, GError **error, const char *what)
{
  g_set_error (error, JUNO_SEMVER_ERROR, ps->code,
               "Invalid %s: %s at byte %" G_GSIZE_FORMAT,
               ps->code == JUNO_SEMVER_ERROR_INVALID_VERSION
                 ? "version" : "version requirement",
               what, (gsize) (ps->p - ps->text));
  return FALSE;
}

static gboolean
is_identifier_char (char c)
{
  return g_ascii_isalnum (c) || c == '-';
}

static gboolean
is_wildcard_char (char c)
{
  return c == '*' || c == 'x' || c == 'X';
}

static gboolean
skip_whitespace (Parser *ps)
{
  const char *start = ps->p;

  while (g_ascii_isspace (*ps->p))
    ps->p++;
  return ps->p != start;
}

/* A decimal number without leading zeros that fits a guint64. */
static gboolean
parse_number (Parser *ps, guint64 *out, GError **error)
{
  const char *start = ps->p;
  guint64 value = 0;

  if (!g_ascii_isdigit (*ps->p))
    return parser_fail (ps, error, "expected a number");
  if (ps->p[0] == '0' && g_ascii_isdigit (ps->p[1]))
    return parser_fail (ps, error, "number with a leading zero");

  for (; g_ascii_isdigit (*ps->p); ps->p++)
    {
      guint digit = (guint) (*ps->p - '0');

      if (value > (G_MAXUINT64 - digit) / 10)
        {
          ps->p = start;
          return parser_fail (ps, error, "number does not fit 64 bits");
        }
      value = value * 10 + digit;
    }

  *out = value;
  return TRUE;
}

/* One identifier of a pre-release or build part. */
static gboolean
scan_identifier (Parser *ps, gboolean is_pre, GError **error)
{
  const char *start = ps->p;
  gboolean numeric = TRUE;

  for (; is_identifier_char (*ps->p); ps->p++)
    numeric = numeric && g_ascii_isdigit (*ps->p);

  if (ps->p == start)
    return parser_fail (ps, error, "empty identifier");
  if (is_pre && numeric && start[0] == '0' && ps->p - start > 1)
    {
      ps->p = start;
      return parser_fail (ps, error, "numeric identifier with a leading zero");
    }
  return TRUE;
}

/* Dot-separated identifiers; returns a copy in @out when it is not NULL. */
static gboolean
scan_identifiers (Parser *ps, gboolean is_pre, char **out, GError **error)
{
  const char *start = ps->p;

  for (;;)
    {
      if (!scan_identifier (ps, is_pre, error))
        return FALSE;
      if (*ps->p != '.')
        break;
      ps->p++;
    }

  if (out != NULL)
    *out = g_strndup (start, (gsize) (ps->p - start));
  return TRUE;
}

/* Optional "-pre.release" then optional "+build". */
static gboolean
parse_pre_build (Parser *ps, char **pre, char **build, GError **error)
{
  if (*ps->p == '-')
    {
      ps->p++;
      if (!scan_identifiers (ps, TRUE, pre, error))
        return FALSE;
    }
  if (*ps->p == '+')
    {
      ps->p++;
      if (!scan_identifiers (ps, FALSE, build, error))
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Versions                                                            */
/* ------------------------------------------------------------------ */

gboolean
juno_version_parse (const char *text, JunoVersion *out, GError **error)
{
  Parser ps = { text, text, JUNO_SEMVER_ERROR_INVALID_VERSION, 0 };
  guint64 parts[3];
  g_autofree char *pre = NULL;
  g_autofree char *build = NULL;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      if (i > 0 && *ps.p != '.')
        return parser_fail (&ps, error, "expected '.'");
      if (i > 0)
        ps.p++;
      if (!parse_number (&ps, &parts[i], error))
        return FALSE;
    }
  if (!parse_pre_build (&ps, &pre, &build, error))
    return FALSE;
  if (*ps.p != '\0')
    return parser_fail (&ps, error, "unexpected character");

  out->major = parts[0];
  out->minor = parts[1];
  out->patch = parts[2];
  out->pre = g_steal_pointer (&pre);
  out->build = g_steal_pointer (&build);
  return TRUE;
}

void
juno_version_clear (JunoVersion *version)
{
  g_return_if_fail (version != NULL);

  g_clear_pointer (&version->pre, g_free);
  g_clear_pointer (&version->build, g_free);
  version->major = version->minor = version->patch = 0;
}

static int
compare_u64 (guint64 a, guint64 b)
{
  return (a > b) - (a < b);
}

static gboolean
is_numeric (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* §11.4: numeric identifiers compare numerically and sort before
 * alphanumeric ones, which compare in ASCII order. */
static int
compare_identifier (const char *a, gsize a_len, const char *b, gsize b_len)
{
  gboolean a_num = is_numeric (a, a_len);
  gboolean b_num = is_numeric (b, b_len);
  int r;

  if (a_num != b_num)
    return a_num ? -1 : 1;
  if (a_num && a_len != b_len)
    return a_len < b_len ? -1 : 1;

  r = memcmp (a, b, MIN (a_len, b_len));
  if (r != 0)
    return r < 0 ? -1 : 1;
  return compare_u64 (a_len, b_len);
}

/* NULL (or "") means "no pre-release", which has the higher precedence. */
static int
compare_pre (const char *a, const char *b)
{
  if (a != NULL && *a == '\0')
    a = NULL;
  if (b != NULL && *b == '\0')
    b = NULL;
  if (a == NULL || b == NULL)
    return (a == NULL) - (b == NULL);

  for (;;)
    {
      gsize a_len = strcspn (a, ".");
      gsize b_len = strcspn (b, ".");
      int r = compare_identifier (a, a_len, b, b_len);

      if (r != 0)
        return r;
      a += a_len;
      b += b_len;
      if (*a == '\0' || *b == '\0')
        return (*a != '\0') - (*b != '\0');
      a++;
      b++;
    }
}

int
juno_version_compare (const JunoVersion *a, const JunoVersion *b)
{
  int r;

  g_return_val_if_fail (a != NULL && b != NULL, 0);

  if ((r = compare_u64 (a->major, b->major)) != 0 ||
      (r = compare_u64 (a->minor, b->minor)) != 0 ||
      (r = compare_u64 (a->patch, b->patch)) != 0)
    return r;
  return compare_pre (a->pre, b->pre);
}

/* ------------------------------------------------------------------ */
/* Requirement matching (Cargo's semver 1.x evaluation rules)          */
/* ------------------------------------------------------------------ */

/* Compares the parts the comparator names; missing parts compare equal. */
static int
compare_parts (const Comparator *c, const JunoVersion *v)
{
  const guint64 want[3] = { c->major, c->minor, c->patch };
  const guint64 have[3] = { v->major, v->minor, v->patch };

  for (guint i = 0; i < c->n_parts; i++)
    if (have[i] != want[i])
      return have[i] < want[i] ? -1 : 1;
  return 0;
}

static gboolean
matches_exact (const Comparator *c, const JunoVersion *v)
{
  return compare_parts (c, v) == 0 && compare_pre (v->pre, c->pre) == 0;
}

static gboolean
matches_greater (const Comparator *c, const JunoVersion *v)
{
  int r = compare_parts (c, v);

  if (r != 0)
    return r > 0;
  return c->n_parts == 3 && compare_pre (v->pre, c->pre) > 0;
}

static gboolean
matches_less (const Comparator *c, const JunoVersion *v)
{
  int r = compare_parts (c, v);

  if (r != 0)
    return r < 0;
  return c->n_parts == 3 && compare_pre (v->pre, c->pre) < 0;
}

static gboolean
matches_tilde (const Comparator *c, const JunoVersion *v)
{
  if (v->major != c->major)
    return FALSE;
  if (c->n_parts >= 2 && v->minor != c->minor)
    return FALSE;
  if (c->n_parts == 3 && v->patch != c->patch)
    return v->patch > c->patch;
  return compare_pre (v->pre, c->pre) >= 0;
}

static gboolean
matches_caret (const Comparator *c, const JunoVersion *v)
{
  if (v->major != c->major)
    return FALSE;
  if (c->n_parts == 1)
    return TRUE;
  if (c->n_parts == 2)
    return c->major > 0 ? v->minor >= c->minor : v->minor == c->minor;

  if (v->minor != c->minor)
    return c->major > 0 && v->minor > c->minor;
  if (v->patch != c->patch)
    return (c->major > 0 || c->minor > 0) && v->patch > c->patch;
  return compare_pre (v->pre, c->pre) >= 0;
}

static gboolean
comparator_matches (const Comparator *c, const JunoVersion *v)
{
  switch (c->op)
    {
    case OP_EXACT:
      return matches_exact (c, v);
    case OP_GREATER:
      return matches_greater (c, v);
    case OP_GREATER_EQ:
      return matches_exact (c, v) || matches_greater (c, v);
    case OP_LESS:
      return matches_less (c, v);
    case OP_LESS_EQ:
      return matches_exact (c, v) || !matches_greater (c, v);
    case OP_TILDE:
      return matches_tilde (c, v);
    case OP_CARET:
      return matches_caret (c, v);
    default:
      return FALSE;
    }
}

/* Does @c name a pre-release of @v's MAJOR.MINOR.PATCH? */
static gboolean
allows_prerelease_of (const Comparator *c, const JunoVersion *v)
{
  return c->pre != NULL && c->n_parts == 3 && compare_parts (c, v) == 0;
}

static gboolean
set_matches (GArray *set, const JunoVersion *v)
{
  for (guint i = 0; i < set->len; i++)
    if (!comparator_matches (&g_array_index (set, Comparator, i), v))
      return FALSE;

  if (v->pre == NULL || *v->pre == '\0')
    return TRUE;
  for (guint i = 0; i < set->len; i++)
    if (allows_prerelease_of (&g_array_index (set, Comparator, i), v))
      return TRUE;
  return FALSE;
}

gboolean
juno_version_req_matches (const JunoVersionReq *req, const JunoVersion *version)
{
  g_return_val_if_fail (req != NULL, FALSE);
  g_return_val_if_fail (version != NULL, FALSE);

  for (guint i = 0; i < req->sets->len; i++)
    if (set_matches (g_ptr_array_index (req->sets, i), version))
      return TRUE;
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Requirement parsing                                                 */
/* ------------------------------------------------------------------ */

static gboolean
parse_op (Parser *ps, Op *op)
{
  static const struct
  {
    const char *text;
    Op op;
  } ops[] = {
    { ">=", OP_GREATER_EQ }, { ">", OP_GREATER },
    { "<=", OP_LESS_EQ },    { "<", OP_LESS },
    { "=", OP_EXACT },       { "~>", OP_TILDE },
    { "~", OP_TILDE },       { "^", OP_CARET },
  };

  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    if (g_str_has_prefix (ps->p, ops[i].text))
      {
        ps->p += strlen (ops[i].text);
        *op = ops[i].op;
        return TRUE;
      }
  return FALSE;
}

/* "[v]MAJOR[.MINOR[.PATCH[-PRE][+BUILD]]]", any part may be a wildcard. */
static gboolean
parse_partial (Parser *ps, Comparator *c, gboolean *wild, GError **error)
{
  guint64 *parts[3] = { &c->major, &c->minor, &c->patch };

  *wild = FALSE;
  if (*ps->p == 'v')
    ps->p++;

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      if (i > 0 && *ps->p != '.')
        break;
      if (i > 0)
        ps->p++;
      if (is_wildcard_char (*ps->p))
        {
          ps->p++;
          *wild = TRUE;
          continue;
        }
      if (*wild)
        return parser_fail (ps, error, "number after a wildcard");
      if (!parse_number (ps, parts[i], error))
        return FALSE;
      c->n_parts = i + 1;
    }

  if (c->n_parts < 3)
    return TRUE;
  return parse_pre_build (ps, &c->pre, NULL, error);
}

static gboolean
append_comparator (Parser *ps, GArray *set, Comparator *c, GError **error)
{
  if (c->n_parts == 0)
    return TRUE; /* a wildcard bound: no constraint */
  if (++ps->n_comparators > REQ_MAX_COMPARATORS)
    return parser_fail (ps, error, "too many comparators");

  g_array_append_val (set, *c);
  c->pre = NULL; /* now owned by the set */
  return TRUE;
}

/* Whitespace, '-', then (checked by the caller) whitespace. */
static gboolean
at_hyphen (Parser *ps)
{
  const char *q = ps->p;

  if (!g_ascii_isspace (*q))
    return FALSE;
  while (g_ascii_isspace (*q))
    q++;
  if (*q != '-')
    return FALSE;
  ps->p = q + 1;
  return TRUE;
}

/* "LOWER - UPPER" := ">=LOWER <=UPPER"; @lower is already parsed. */
static gboolean
parse_hyphen_range (Parser *ps, GArray *set, Comparator *lower, GError **error)
{
  g_auto (Comparator) upper = { 0 };
  gboolean wild;

  if (!skip_whitespace (ps))
    return parser_fail (ps, error, "expected whitespace and an upper bound after '-'");
  if (!parse_partial (ps, &upper, &wild, error))
    return FALSE;

  lower->op = OP_GREATER_EQ;
  upper.op = OP_LESS_EQ;
  return append_comparator (ps, set, lower, error) &&
         append_comparator (ps, set, &upper, error);
}

/* One comparator, or a hyphen range. */
static gboolean
parse_term (Parser *ps, GArray *set, GError **error)
{
  g_auto (Comparator) c = { 0 };
  gboolean has_op = parse_op (ps, &c.op);
  gboolean wild;

  if (has_op)
    skip_whitespace (ps);
  if (!parse_partial (ps, &c, &wild, error))
    return FALSE;
  if (!has_op && at_hyphen (ps))
    return parse_hyphen_range (ps, set, &c, error);
  if (!has_op)
    c.op = wild ? OP_EXACT : OP_CARET;
  if (c.n_parts == 0 && (c.op == OP_GREATER || c.op == OP_LESS))
    return parser_fail (ps, error, "'>' or '<' before a bare wildcard");
  return append_comparator (ps, set, &c, error);
}

static gboolean
at_set_end (const Parser *ps)
{
  return *ps->p == '\0' || *ps->p == '|';
}

/* Comparators up to the next "||" or the end, separated by ',' and/or
 * whitespace. */
static gboolean
parse_set (Parser *ps, GArray *set, GError **error)
{
  skip_whitespace (ps);
  if (at_set_end (ps))
    return parser_fail (ps, error, "empty alternative");

  for (;;)
    {
      gboolean spaced;

      if (!parse_term (ps, set, error))
        return FALSE;
      spaced = skip_whitespace (ps);
      if (*ps->p == ',')
        {
          ps->p++;
          skip_whitespace (ps);
          if (at_set_end (ps))
            return parser_fail (ps, error, "expected a comparator after ','");
        }
      else if (at_set_end (ps))
        return TRUE;
      else if (!spaced)
        return parser_fail (ps, error, "unexpected character");
    }
}

static JunoVersionReq *
req_new (void)
{
  JunoVersionReq *req = g_new0 (JunoVersionReq, 1);

  req->sets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  return req;
}

static GArray *
req_add_set (JunoVersionReq *req)
{
  GArray *set = g_array_new (FALSE, TRUE, sizeof (Comparator));

  g_array_set_clear_func (set, (GDestroyNotify) comparator_clear);
  g_ptr_array_add (req->sets, set);
  return set;
}

static gboolean
parse_alternatives (Parser *ps, JunoVersionReq *req, GError **error)
{
  for (;;)
    {
      if (!parse_set (ps, req_add_set (req), error))
        return FALSE;
      if (*ps->p == '\0')
        return TRUE;
      if (!g_str_has_prefix (ps->p, "||"))
        return parser_fail (ps, error, "expected '||'");
      ps->p += 2;
    }
}

JunoVersionReq *
juno_version_req_parse (const char *text, GError **error)
{
  Parser ps = { text, text, JUNO_SEMVER_ERROR_INVALID_REQUIREMENT, 0 };
  g_autoptr (JunoVersionReq) req = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (strlen (text) > REQ_MAX_LENGTH)
    {
      parser_fail (&ps, error, "longer than 1024 bytes");
      return NULL;
    }

  req = req_new ();
  skip_whitespace (&ps);
  if (*ps.p == '\0')
    {
      req_add_set (req); /* "" matches any release */
      return g_steal_pointer (&req);
    }
  if (!parse_alternatives (&ps, req, error))
    return NULL;
  return g_steal_pointer (&req);
}

void
juno_version_req_free (JunoVersionReq *req)
{
  if (req == NULL)
    return;
  g_ptr_array_unref (req->sets);
  g_free (req);
}
