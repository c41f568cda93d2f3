/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-protocol.c: table-driven tests for the wire codec (juno-protocol)
 *
 * The scanner must follow RFC 8259 exactly, so each grammar case is also
 * given to json-glib, which must reach the same verdict. json-glib 1.6 is
 * lenient in places (single quotes, comments, raw control characters, bad
 * escapes, leading zeros, an empty document) and rejects a lone high
 * surrogate that the RFC grammar allows: such cases are marked, and with
 * json-glib 1.6 the test checks that the difference is still the one
 * written down. Every input is parsed from an unterminated heap copy, so
 * AddressSanitizer catches a read past the end of the line.
 *
 * The data-driven corpus lives in tests/data/protocol/{accept,reject,
 * not-object}/ (one JSON text per file); it holds only texts on which
 * json-glib agrees, and each file is checked by both parsers.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "juno-protocol.h"

#define OK JUNO_PARSE_OK
#define INVALID JUNO_PARSE_INVALID_JSON
#define TOO_DEEP JUNO_PARSE_TOO_DEEP
#define NOT_OBJECT JUNO_PARSE_NOT_OBJECT
#define NOT_UTF8 JUNO_PARSE_INVALID_UTF8
#define RANGE JUNO_PARSE_NUMBER_RANGE

typedef enum
{
  JSON_GLIB_AGREES,   /* json-glib reaches the same verdict */
  JSON_GLIB_LENIENT,  /* json-glib 1.6 accepts this text, which RFC 8259 forbids */
  JSON_GLIB_STRICTER, /* json-glib 1.6 rejects this valid text */
} JsonGlibVerdict;

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

static const struct ParseCase
{
  const char *name;
  const char *text;
  gsize len; /* 0: strlen (text) */
  JunoParseResult result;
  JsonGlibVerdict json_glib;
} parse_cases[] = {
  /* must accept: objects of every shape */
  { "accept/empty-object", "{}", 0, OK, JSON_GLIB_AGREES },
  { "accept/empty-object-spaced", "{ \t\r\n }", 0, OK, JSON_GLIB_AGREES },
  { "accept/one-member", "{\"a\":1}", 0, OK, JSON_GLIB_AGREES },
  { "accept/every-kind",
    "{\"s\":\"x\",\"n\":-1.5e3,\"o\":{\"p\":[]},\"a\":[1,\"2\",true,false,null,{},[]],"
    "\"t\":true,\"f\":false,\"z\":null}",
    0, OK, JSON_GLIB_AGREES },
  { "accept/whitespace-everywhere", " \t\r\n{ \"a\" : 1 , \"b\" : [ 1 , { } , [ ] ] } \r\n\t ", 0, OK, JSON_GLIB_AGREES },
  { "accept/no-whitespace", "{\"a\":[1,2,{\"b\":{\"c\":[]}}],\"d\":\"e\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/trailing-newline", "{\"a\":1}\n", 0, OK, JSON_GLIB_AGREES },
  { "accept/trailing-crlf", "{\"a\":1}\r\n", 0, OK, JSON_GLIB_AGREES },
  { "accept/empty-key", "{\"\":0}", 0, OK, JSON_GLIB_AGREES },
  { "accept/duplicate-keys", "{\"a\":1,\"a\":2}", 0, OK, JSON_GLIB_AGREES },
  { "accept/escapes", "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/unicode-escapes", "{\"s\":\"\\u0041\\u00e9\\u20AC\\uffff\\u00C9\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/surrogate-pair", "{\"s\":\"\\ud83d\\ude00\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/surrogate-pair-upper", "{\"s\":\"\\uD83D\\uDE00\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/lone-high-surrogate", "{\"s\":\"\\ud800\"}", 0, OK, JSON_GLIB_STRICTER },
  { "accept/swapped-surrogates", "{\"s\":\"\\ude00\\ud83d\"}", 0, OK, JSON_GLIB_STRICTER },
  { "accept/lone-low-surrogate", "{\"s\":\"\\udc00x\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/escaped-nul", "{\"s\":\"\\u0000\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/raw-utf8", "{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"\xc3\xa9\":1}", 0, OK, JSON_GLIB_AGREES },
  { "accept/raw-del", "{\"s\":\"\x7f\"}", 0, OK, JSON_GLIB_AGREES },
  { "accept/escaped-key", "{\"\\u0074ype\":1}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-zero", "{\"n\":0}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-negative-zero", "{\"n\":-0}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-integers", "{\"n\":[1,-1,123,-9876543210]}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-fractions", "{\"n\":[1.5,-0.5,0.0,10.25]}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-exponents", "{\"n\":[1e10,1E10,1e+10,1e-10,1.5E-3,-0e0,2E+0]}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-int64-max", "{\"n\":9223372036854775807}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-int64-min", "{\"n\":-9223372036854775808}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-long-fraction", "{\"n\":123456789012345678901234567890.5}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-double-max", "{\"n\":1.7976931348623157e308}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-double-max-rounds-down", "{\"n\":-1.7976931348623158e308}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-exponent-308", "{\"n\":[1e308,10e307,0.001e311,-9.9e307]}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-underflow", "{\"n\":[1e-400,-1e-99999999999]}", 0, OK, JSON_GLIB_AGREES },
  { "accept/number-zero-huge-exponent", "{\"n\":[0e999999,0.000e+99999999999999999999]}", 0, OK, JSON_GLIB_AGREES },

  /* valid JSON, but a number json-glib cannot represent: refused, where
   * json-glib 1.6 reads infinity or a wrapped integer */
  { "range/int64-max-plus-one", "{\"n\":9223372036854775808}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/int64-min-minus-one", "{\"n\":-9223372036854775809}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/uint64-max", "{\"n\":18446744073709551615}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/huge-integer", "{\"n\":123456789012345678901234567890}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/huge-exponent", "{\"n\":1E400}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/huge-negative-exponent", "{\"n\":-1e400}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/double-max-rounds-up", "{\"n\":1.7976931348623159e308}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/exponent-309", "{\"n\":1e309}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/fraction-exponent", "{\"n\":0.1e310}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/huge-exponent-digits", "{\"n\":1e99999999999999999999}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/nested", "{\"a\":[{\"b\":[1,2,1e999]}]}", 0, RANGE, JSON_GLIB_LENIENT },
  { "range/then-bad-utf8", "{\"a\":1e999,\"b\":\"\xff\"}", 0, NOT_UTF8, JSON_GLIB_AGREES },
  { "range/then-invalid", "{\"a\":1e999,}", 0, INVALID, JSON_GLIB_AGREES },
  { "accept/number-last-in-object", "{\"n\":7}", 0, OK, JSON_GLIB_AGREES },
  { "accept/literals", "{\"t\":true,\"f\":false,\"n\":null}", 0, OK, JSON_GLIB_AGREES },
  { "accept/length-excludes-garbage", "{\"a\":1}garbage", 7, OK, JSON_GLIB_AGREES },

  /* must reject: invalid JSON */
  { "reject/empty", "", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/whitespace-only", " \t ", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/trailing-comma-object", "{\"a\":1,}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/trailing-comma-array", "{\"a\":[1,]}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/leading-comma", "{,\"a\":1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/double-comma-object", "{\"a\":1,,\"b\":2}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/double-comma-array", "{\"a\":[1,,2]}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/lone-comma", "{,}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/missing-colon", "{\"a\" 1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/double-colon", "{\"a\"::1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/missing-comma", "{\"a\":1 \"b\":2}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/missing-comma-array", "{\"a\":[1 2]}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/missing-value", "{\"a\":}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/key-without-value", "{\"a\"}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/unquoted-key", "{a:1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-key", "{1:2}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/null-key", "{null:1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/object-key", "{{}:1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/single-quoted-key", "{'a':1}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/single-quoted-value", "{\"a\":'x'}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/line-comment", "{\"a\":1} // c", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/hash-comment", "# c\n{}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/block-comment-before", "/* c */ {}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/block-comment-inside", "{\"a\":1/*c*/}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/raw-tab-in-string", "{\"a\":\"\t\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/raw-newline-in-string", "{\"a\":\"\n\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/raw-0x01-in-string", "{\"a\":\"\x01\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/raw-0x1f-in-string", "{\"a\":\"\x1f\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/raw-nul-in-string", "{\"a\":\"x\0y\"}", 11, NOT_UTF8, JSON_GLIB_AGREES },
  { "reject/control-char-in-key", "{\"a\x02\":1}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/escape-x", "{\"a\":\"\\x41\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/escape-quote", "{\"a\":\"\\'\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/escape-a", "{\"a\":\"\\a\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/escape-zero", "{\"a\":\"\\0\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/escape-upper-u", "{\"a\":\"\\U0041\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/escape-u-short", "{\"a\":\"\\u12\"}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/escape-u-three", "{\"a\":\"\\u00\"}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/escape-u-not-hex", "{\"a\":\"\\u00G0\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/escaped-newline", "{\"a\":\"\\\n\"}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/truncated-open", "{", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-key", "{\"a", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-after-key", "{\"a\"", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-after-colon", "{\"a\":", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-after-value", "{\"a\":1", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-after-comma", "{\"a\":1,", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-string", "{\"a\":\"b", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-escape", "{\"a\":\"\\", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-unicode-escape", "{\"a\":\"\\u00", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-array", "{\"a\":[1,2", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-literal", "{\"a\":tru", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/truncated-by-length", "{\"a\":1}", 6, INVALID, JSON_GLIB_AGREES },
  { "reject/garbage-after", "{\"a\":1} x", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/second-object", "{\"a\":1}{}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/object-then-array", "{} []", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/extra-close-brace", "{\"a\":{}}}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/extra-close-bracket", "{\"a\":[1,2]]}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/mismatched-array", "{\"a\":[}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/mismatched-object", "{\"a\":{]}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/literal-capitalised", "{\"a\":True}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/literal-upper-null", "{\"a\":NULL}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/literal-short", "{\"a\":nul}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/literal-long", "{\"a\":truex}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/nan", "{\"a\":NaN}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/infinity", "{\"a\":Infinity}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/minus-infinity", "{\"a\":-Infinity}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-leading-zero", "{\"a\":01}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/number-negative-leading-zero", "{\"a\":-01}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/number-hex", "{\"a\":0x10}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/number-leading-dot", "{\"a\":.5}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/number-trailing-dot", "{\"a\":1.}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/number-plus", "{\"a\":+1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-minus-only", "{\"a\":-}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-double-minus", "{\"a\":--1}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-bare-exponent", "{\"a\":1e}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-signed-bare-exponent", "{\"a\":1e+}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-two-dots", "{\"a\":1.5.2}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/number-space", "{\"a\":1 2}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/two-strings", "{\"a\":\"x\" \"y\"}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/byte-order-mark", "\xef\xbb\xbf{}", 0, INVALID, JSON_GLIB_LENIENT },
  { "reject/form-feed-whitespace", "\f{}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/vertical-tab-whitespace", "{}\v", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/nbsp-whitespace", "\xc2\xa0{}", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/bare-garbage", "hello", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/bare-values", "1 2", 0, INVALID, JSON_GLIB_AGREES },
  { "reject/array-then-garbage", "[1] x", 0, INVALID, JSON_GLIB_AGREES },

  /* valid JSON, but not an object */
  { "not-object/empty-array", "[]", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/array", "[1,\"2\",{\"type\":1}]", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/spaced-array", "  [ ]  ", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/string", "\"str\"", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/string-of-braces", "\"{}\"", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/integer", "1", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/number", "-1.5e3", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/true", "true", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/false", "false", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/null", "null", 0, NOT_OBJECT, JSON_GLIB_AGREES },
  { "not-object/null-spaced", "\n null \r\n", 0, NOT_OBJECT, JSON_GLIB_AGREES },
};

typedef enum
{
  NEST_ARRAY,
  NEST_OBJECT,
} NestKind;

/* Generated texts: @depth containers, one inside the other. */
static const struct NestCase
{
  const char *name;
  guint depth;
  NestKind outer;
  NestKind inner;
  gboolean closed;
  JunoParseResult result;
} nest_cases[] = {
  { "arrays-at-limit", JUNO_JSON_MAX_DEPTH, NEST_OBJECT, NEST_ARRAY, TRUE, OK },
  { "arrays-over-limit", JUNO_JSON_MAX_DEPTH + 1, NEST_OBJECT, NEST_ARRAY, TRUE, TOO_DEEP },
  { "objects-at-limit", JUNO_JSON_MAX_DEPTH, NEST_OBJECT, NEST_OBJECT, TRUE, OK },
  { "objects-over-limit", JUNO_JSON_MAX_DEPTH + 1, NEST_OBJECT, NEST_OBJECT, TRUE, TOO_DEEP },
  { "bare-arrays-at-limit", JUNO_JSON_MAX_DEPTH, NEST_ARRAY, NEST_ARRAY, TRUE, NOT_OBJECT },
  { "bare-arrays-over-limit", JUNO_JSON_MAX_DEPTH + 1, NEST_ARRAY, NEST_ARRAY, TRUE, TOO_DEEP },
  { "unclosed-at-limit", JUNO_JSON_MAX_DEPTH, NEST_OBJECT, NEST_ARRAY, FALSE, INVALID },
  { "unclosed-over-limit", JUNO_JSON_MAX_DEPTH + 1, NEST_OBJECT, NEST_ARRAY, FALSE, TOO_DEEP },
  { "arrays-100000", 100000, NEST_OBJECT, NEST_ARRAY, TRUE, TOO_DEEP },
  { "objects-100000", 100000, NEST_OBJECT, NEST_OBJECT, TRUE, TOO_DEEP },
  { "bare-arrays-100000", 100000, NEST_ARRAY, NEST_ARRAY, TRUE, TOO_DEEP },
  { "unclosed-arrays-100000", 100000, NEST_ARRAY, NEST_ARRAY, FALSE, TOO_DEEP },
};

typedef struct
{
  JunoKey key;
  JunoJsonKind kind;
  const char *raw; /* the value's span; NULL ends the list */
} KeyExpect;

static const struct KeyCase
{
  const char *name;
  const char *text;
  JunoParseResult result;
  KeyExpect expect[JUNO_N_KEYS + 1];
} key_cases[] = {
  { "all-keys",
    "{\"requestId\":\"r1\",\"type\":3,\"moduleId\":\"m\",\"version\":\"1.0.0\","
    "\"dependencies\":{\"a\":\"^1\"},\"function\":\"m.f\",\"arguments\":{\"x\":[1,{\"y\":null}]},"
    "\"hook\":\"h\",\"data\":[true,false],\"error\":-7}",
    OK,
    { { JUNO_KEY_REQUEST_ID, JUNO_JSON_STRING, "\"r1\"" },
      { JUNO_KEY_TYPE, JUNO_JSON_NUMBER, "3" },
      { JUNO_KEY_MODULE_ID, JUNO_JSON_STRING, "\"m\"" },
      { JUNO_KEY_VERSION, JUNO_JSON_STRING, "\"1.0.0\"" },
      { JUNO_KEY_DEPENDENCIES, JUNO_JSON_OBJECT, "{\"a\":\"^1\"}" },
      { JUNO_KEY_FUNCTION, JUNO_JSON_STRING, "\"m.f\"" },
      { JUNO_KEY_ARGUMENTS, JUNO_JSON_OBJECT, "{\"x\":[1,{\"y\":null}]}" },
      { JUNO_KEY_HOOK, JUNO_JSON_STRING, "\"h\"" },
      { JUNO_KEY_DATA, JUNO_JSON_ARRAY, "[true,false]" },
      { JUNO_KEY_ERROR, JUNO_JSON_NUMBER, "-7" } } },
  { "kind-true", "{\"data\":true}", OK, { { JUNO_KEY_DATA, JUNO_JSON_TRUE, "true" } } },
  { "kind-false", "{\"data\":false}", OK, { { JUNO_KEY_DATA, JUNO_JSON_FALSE, "false" } } },
  { "kind-null", "{\"data\":null}", OK, { { JUNO_KEY_DATA, JUNO_JSON_NULL, "null" } } },
  { "kind-number", "{\"data\":-12.5e+1}", OK, { { JUNO_KEY_DATA, JUNO_JSON_NUMBER, "-12.5e+1" } } },
  { "kind-string", "{\"data\":\"s\"}", OK, { { JUNO_KEY_DATA, JUNO_JSON_STRING, "\"s\"" } } },
  { "kind-empty-string", "{\"data\":\"\"}", OK, { { JUNO_KEY_DATA, JUNO_JSON_STRING, "\"\"" } } },
  { "kind-array", "{\"data\":[]}", OK, { { JUNO_KEY_DATA, JUNO_JSON_ARRAY, "[]" } } },
  { "kind-object", "{\"data\":{}}", OK, { { JUNO_KEY_DATA, JUNO_JSON_OBJECT, "{}" } } },
  { "spans-exclude-whitespace", " {  \"type\"  :   1   ,\"data\" :  { \"a\" : [ 1 ] }  } ", OK,
    { { JUNO_KEY_TYPE, JUNO_JSON_NUMBER, "1" },
      { JUNO_KEY_DATA, JUNO_JSON_OBJECT, "{ \"a\" : [ 1 ] }" } } },
  { "nested-same-name-ignored", "{\"data\":{\"type\":1,\"requestId\":\"x\"},\"arguments\":[{\"hook\":\"h\"}]}", OK,
    { { JUNO_KEY_DATA, JUNO_JSON_OBJECT, "{\"type\":1,\"requestId\":\"x\"}" },
      { JUNO_KEY_ARGUMENTS, JUNO_JSON_ARRAY, "[{\"hook\":\"h\"}]" } } },
  { "nested-before-top-level", "{\"arguments\":{\"type\":9,\"error\":1},\"type\":1}", OK,
    { { JUNO_KEY_ARGUMENTS, JUNO_JSON_OBJECT, "{\"type\":9,\"error\":1}" },
      { JUNO_KEY_TYPE, JUNO_JSON_NUMBER, "1" } } },
  { "nested-deep-only", "{\"x\":{\"y\":{\"type\":1,\"data\":2}}}", OK, { { 0 } } },
  { "duplicate-last-wins", "{\"type\":1,\"type\":2}", OK, { { JUNO_KEY_TYPE, JUNO_JSON_NUMBER, "2" } } },
  { "duplicate-changes-kind", "{\"data\":{\"a\":1},\"data\":\"x\"}", OK,
    { { JUNO_KEY_DATA, JUNO_JSON_STRING, "\"x\"" } } },
  { "escaped-key-name", "{\"\\u0074ype\":4}", OK, { { JUNO_KEY_TYPE, JUNO_JSON_NUMBER, "4" } } },
  { "escaped-key-names", "{\"request\\u0049d\":\"r\",\"\\u0068\\u006f\\u006F\\u006b\":\"h\"}", OK,
    { { JUNO_KEY_REQUEST_ID, JUNO_JSON_STRING, "\"r\"" },
      { JUNO_KEY_HOOK, JUNO_JSON_STRING, "\"h\"" } } },
  { "escaped-value", "{\"requestId\":\"a\\\"b\\u0041\"}", OK,
    { { JUNO_KEY_REQUEST_ID, JUNO_JSON_STRING, "\"a\\\"b\\u0041\"" } } },
  { "near-miss-keys", "{\"Type\":1,\"type \":2,\"typ\":3,\"types\":4,\" type\":5,\"ty\\u0000pe\":6,\"\\/type\":7}",
    OK, { { 0 } } },
  { "nul-key-then-key", "{\"\\u0000\":1,\"type\":2}", OK, { { JUNO_KEY_TYPE, JUNO_JSON_NUMBER, "2" } } },
  { "unknown-keys-ignored", "{\"foo\":1,\"bar\":{\"type\":2},\"type\":3}", OK,
    { { JUNO_KEY_TYPE, JUNO_JSON_NUMBER, "3" } } },
  { "not-object-captures-nothing", "[{\"type\":1,\"requestId\":\"r\"}]", NOT_OBJECT, { { 0 } } },
};

static const struct StringCase
{
  const char *name;
  const char *literal;  /* a JSON string literal */
  const char *expected; /* NULL: the string holds U+0000 */
  gboolean json_glib;   /* json-glib decodes it the same way */
} string_cases[] = {
  { "plain", "\"abc\"", "abc", TRUE },
  { "empty", "\"\"", "", TRUE },
  { "raw-utf8", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", TRUE },
  { "short-escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", TRUE },
  { "escape-between-text", "\"x\\ny\\tz\"", "x\ny\tz", TRUE },
  { "u-ascii", "\"\\u0041\"", "A", TRUE },
  { "u-control", "\"\\u0001\\u001f\"", "\x01\x1f", TRUE },
  { "u-two-bytes", "\"\\u00e9\\u00C9\"", "\xc3\xa9\xc3\x89", TRUE },
  { "u-three-bytes", "\"\\u20AC\"", "\xe2\x82\xac", TRUE },
  { "u-last-bmp", "\"\\uffff\"", "\xef\xbf\xbf", TRUE },
  { "surrogate-pair", "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", TRUE },
  { "surrogate-pair-upper", "\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", TRUE },
  { "surrogate-pair-first", "\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", TRUE },
  { "surrogate-pair-last", "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", TRUE },
  { "surrogate-pair-in-text", "\"a\\ud83d\\ude00b\"", "a\xf0\x9f\x98\x80" "b", TRUE },
  { "lone-high", "\"\\ud800\"", "\xef\xbf\xbd", FALSE },
  { "lone-high-then-text", "\"\\ud800x\"", "\xef\xbf\xbdx", FALSE },
  { "lone-high-then-escape", "\"\\ud800\\n\"", "\xef\xbf\xbd\n", FALSE },
  { "high-then-non-surrogate", "\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A", FALSE },
  { "high-high-low", "\"\\ud800\\ud83d\\ude00\"", "\xef\xbf\xbd\xf0\x9f\x98\x80", FALSE },
  { "lone-low", "\"\\udc00\"", "\xef\xbf\xbd", FALSE },
  { "swapped-pair", "\"\\ude00\\ud83d\"", "\xef\xbf\xbd\xef\xbf\xbd", FALSE },
  { "nul", "\"\\u0000\"", NULL, FALSE },
  { "nul-inside", "\"a\\u0000b\"", NULL, FALSE },
  { "nul-at-end", "\"ab\\u0000\"", NULL, FALSE },
};

static const struct IntCase
{
  const char *name;
  const char *text; /* the value of "type" */
  gboolean ok;
  gint64 value;
} int_cases[] = {
  { "zero", "0", TRUE, 0 },
  { "negative-zero", "-0", TRUE, 0 },
  { "one", "1", TRUE, 1 },
  { "negative", "-42", TRUE, -42 },
  { "large", "1234567890123", TRUE, G_GINT64_CONSTANT (1234567890123) },
  { "max", "9223372036854775807", TRUE, G_MAXINT64 },
  { "min", "-9223372036854775808", TRUE, G_MININT64 },
  { "over-max", "9223372036854775808", FALSE, 0 },
  { "under-min", "-9223372036854775809", FALSE, 0 },
  { "huge", "123456789012345678901234567890", FALSE, 0 },
  { "huge-negative", "-1000000000000000000000", FALSE, 0 },
  { "fraction", "1.0", FALSE, 0 },
  { "fraction-below-one", "0.5", FALSE, 0 },
  { "exponent", "1e3", FALSE, 0 },
  { "exponent-upper", "1E3", FALSE, 0 },
  { "exponent-zero", "10e0", FALSE, 0 },
  { "exponent-negative", "-2e-1", FALSE, 0 },
  { "string", "\"1\"", FALSE, 0 },
  { "true", "true", FALSE, 0 },
  { "null", "null", FALSE, 0 },
  { "array", "[1]", FALSE, 0 },
  { "object", "{}", FALSE, 0 },
};

static const struct LookupCase
{
  const char *name;
  const char *text;
  const char *key;
  gboolean found;
  JunoJsonKind kind;
  const char *raw;
} lookup_cases[] = {
  { "top-level", "{\"a\":1,\"moduleId\":\"x\"}", "moduleId", TRUE, JUNO_JSON_STRING, "\"x\"" },
  { "first-member", "{\"moduleId\":\"x\",\"a\":1}", "moduleId", TRUE, JUNO_JSON_STRING, "\"x\"" },
  { "nested-ignored", "{\"o\":{\"moduleId\":\"x\"},\"l\":[{\"moduleId\":\"y\"}]}", "moduleId", FALSE, 0, NULL },
  { "absent", "{\"a\":1}", "b", FALSE, 0, NULL },
  { "empty-object", "{}", "a", FALSE, 0, NULL },
  { "duplicate-last-wins", "{\"a\":1,\"a\":[2]}", "a", TRUE, JUNO_JSON_ARRAY, "[2]" },
  { "escaped-key", "{\"\\u0061\":true}", "a", TRUE, JUNO_JSON_TRUE, "true" },
  { "empty-key", "{\"\":null}", "", TRUE, JUNO_JSON_NULL, "null" },
  { "prefix-only", "{\"ab\":1}", "a", FALSE, 0, NULL },
  { "longer-key", "{\"a\":1}", "ab", FALSE, 0, NULL },
  { "non-ascii-key", "{\"\xc3\xa9\":2}", "\xc3\xa9", TRUE, JUNO_JSON_NUMBER, "2" },
  { "spaced", "{ \"a\" : { } }", "a", TRUE, JUNO_JSON_OBJECT, "{ }" },
  { "not-object", "[{\"a\":1}]", "a", FALSE, 0, NULL },
  { "empty-text", "", "a", FALSE, 0, NULL },
};

static const struct AppendCase
{
  const char *name;
  const char *input;
} append_cases[] = {
  { "empty", "" },
  { "plain", "plain text" },
  { "quote", "say \"hi\"" },
  { "backslash", "back\\slash\\" },
  { "short-escapes", "\n\r\t\b\f" },
  { "control", "\x01\x02\x1e\x1f" },
  { "del", "\x7f" },
  { "slash", "</script>" },
  { "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
  { "everything", "a\"b\\c\nd\x01" "e\xc3\xa9/f" },
  { "json-looking", "{\"type\":1}" },
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void
add_case (const char *prefix, const char *name, gconstpointer data, GTestDataFunc func)
{
  g_autofree char *path = g_strdup_printf ("%s/%s", prefix, name);

  g_test_add_data_func (path, data, func);
}

/* An unterminated heap copy, so that a read past @len is caught. */
static char *
exact_copy (const char *text, gsize len)
{
  return g_memdup2 (text, len > 0 ? len : 1);
}

static JunoParseResult
parse_exact (const char *text, gsize len, JunoMessage *msg)
{
  g_autofree char *copy = exact_copy (text, len);

  return juno_message_parse (copy, len, msg);
}

static gboolean
json_glib_accepts (const char *text, gsize len, gboolean *is_object)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok = json_parser_load_from_data (parser, text, (gssize) len, &error);

  if (ok && is_object != NULL)
    *is_object = json_parser_get_root (parser) != NULL && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser));
  if (!ok)
    g_test_message ("json-glib: %s", error->message);
  return ok;
}

/* Checks json-glib's verdict on a text whose juno verdict is @result. */
static void
check_json_glib (const char *text, gsize len, JunoParseResult result)
{
  gboolean is_object = FALSE;
  gboolean accepted = json_glib_accepts (text, len, &is_object);

  switch (result)
    {
    case JUNO_PARSE_OK:
      g_assert_true (accepted);
      g_assert_true (is_object);
      break;
    case JUNO_PARSE_NOT_OBJECT:
      g_assert_true (accepted);
      g_assert_false (is_object);
      break;
    case JUNO_PARSE_INVALID_JSON:
    case JUNO_PARSE_INVALID_UTF8:
      g_assert_false (accepted);
      break;
    case JUNO_PARSE_TOO_DEEP:
    default:
      g_assert_not_reached ();
    }
}

static const char *
result_name (JunoParseResult result)
{
  switch (result)
    {
    case JUNO_PARSE_OK:
      return "OK";
    case JUNO_PARSE_INVALID_JSON:
      return "INVALID_JSON";
    case JUNO_PARSE_TOO_DEEP:
      return "TOO_DEEP";
    case JUNO_PARSE_NOT_OBJECT:
      return "NOT_OBJECT";
    case JUNO_PARSE_INVALID_UTF8:
      return "INVALID_UTF8";
    case JUNO_PARSE_NUMBER_RANGE:
      return "NUMBER_RANGE";
    default:
      return "?";
    }
}

static void
assert_parse_result (const char *text, gsize len, JunoParseResult expected)
{
  JunoMessage msg;
  JunoParseResult result = parse_exact (text, len, &msg);

  if (result != expected)
    g_test_message ("expected %s, got %s", result_name (expected), result_name (result));
  g_assert_cmpint (result, ==, expected);
}

static char *
make_nested (const struct NestCase *c)
{
  GString *s = g_string_sized_new (c->depth * 6 + 8);

  for (guint level = 1; level <= c->depth; level++)
    {
      NestKind kind = level == 1 ? c->outer : c->inner;

      if (kind == NEST_ARRAY)
        g_string_append_c (s, '[');
      else
        g_string_append (s, level == c->depth ? "{" : "{\"k\":");
    }
  if (c->closed)
    for (guint level = c->depth; level >= 1; level--)
      g_string_append_c (s, (level == 1 ? c->outer : c->inner) == NEST_ARRAY ? ']' : '}');
  return g_string_free (s, FALSE);
}

/* Parses "{\"<key>\":<text>}" and returns the captured value of @key. */
static JunoJsonValue
capture_one (const char *wrapped, JunoKey key, JunoMessage *msg)
{
  g_assert_cmpint (juno_message_parse (wrapped, strlen (wrapped), msg), ==, JUNO_PARSE_OK);
  return msg->keys[key];
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void
test_parse (gconstpointer data)
{
  const struct ParseCase *c = data;
  gsize len = c->len > 0 ? c->len : strlen (c->text);

  assert_parse_result (c->text, len, c->result);
}

static void
test_parse_json_glib (gconstpointer data)
{
  const struct ParseCase *c = data;
  gsize len = c->len > 0 ? c->len : strlen (c->text);

  switch (c->json_glib)
    {
    case JSON_GLIB_AGREES:
      check_json_glib (c->text, len, c->result);
      break;
    case JSON_GLIB_LENIENT:
      /* written down for json-glib 1.6: it accepts what the RFC forbids,
       * and numbers it cannot represent */
      g_assert_true (c->result == JUNO_PARSE_INVALID_JSON || c->result == JUNO_PARSE_NUMBER_RANGE);
      g_assert_true (json_glib_accepts (c->text, len, NULL));
      break;
    case JSON_GLIB_STRICTER:
      g_assert_cmpint (c->result, ==, JUNO_PARSE_OK);
      g_assert_false (json_glib_accepts (c->text, len, NULL));
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
test_nesting (gconstpointer data)
{
  const struct NestCase *c = data;
  g_autofree char *text = make_nested (c);

  assert_parse_result (text, strlen (text), c->result);
  /* json-glib 1.6 has no depth limit and recurses: give it only the
   * texts within ours, on which it must agree */
  if (c->depth <= JUNO_JSON_MAX_DEPTH)
    check_json_glib (text, strlen (text), c->result);
}

static void
test_keys (gconstpointer data)
{
  const struct KeyCase *c = data;
  gsize len = strlen (c->text);
  g_autofree char *line = exact_copy (c->text, len);
  gboolean seen[JUNO_N_KEYS] = { FALSE };
  JunoMessage msg;

  g_assert_cmpint (juno_message_parse (line, len, &msg), ==, c->result);

  for (const KeyExpect *e = c->expect; e->raw != NULL; e++)
    {
      const JunoJsonValue *v = &msg.keys[e->key];
      g_autofree char *span = NULL;

      g_assert_cmpint (v->kind, ==, e->kind);
      g_assert_true (v->text >= line && v->text + v->len <= line + len);
      span = g_strndup (v->text, v->len);
      g_assert_cmpstr (span, ==, e->raw);
      if (e->kind == JUNO_JSON_STRING)
        g_assert_cmpint (v->escaped, ==, strchr (e->raw, '\\') != NULL);
      seen[e->key] = TRUE;
    }
  for (guint k = 0; k < JUNO_N_KEYS; k++)
    if (!seen[k])
      g_assert_cmpint (msg.keys[k].kind, ==, JUNO_JSON_ABSENT);
}

static void
test_dup_string (gconstpointer data)
{
  const struct StringCase *c = data;
  g_autofree char *wrapped = g_strdup_printf ("{\"data\":%s}", c->literal);
  g_autofree char *decoded = NULL;
  JunoMessage msg;
  JunoJsonValue v = capture_one (wrapped, JUNO_KEY_DATA, &msg);

  g_assert_cmpint (v.kind, ==, JUNO_JSON_STRING);
  decoded = juno_json_value_dup_string (&v);
  g_assert_cmpstr (decoded, ==, c->expected);
  if (decoded != NULL)
    g_assert_true (g_utf8_validate (decoded, -1, NULL));

  if (c->json_glib)
    {
      g_autoptr(JsonNode) node = json_from_string (wrapped, NULL);

      g_assert_nonnull (node);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "data"), ==, c->expected);
    }
}

static void
test_get_int64 (gconstpointer data)
{
  const struct IntCase *c = data;
  g_autofree char *wrapped = g_strdup_printf ("{\"type\":%s}", c->text);
  gint64 value = 12345;
  JunoMessage msg;
  JunoParseResult result = juno_message_parse (wrapped, strlen (wrapped), &msg);
  JunoJsonValue v = msg.keys[JUNO_KEY_TYPE];

  /* integers beyond gint64 are refused as a whole, but still recorded */
  g_assert_cmpint (result, ==, c->ok || strspn (c->text, "-0123456789") != strlen (c->text) ? JUNO_PARSE_OK
                                                                                          : JUNO_PARSE_NUMBER_RANGE);

  g_assert_cmpint (juno_json_value_get_int64 (&v, &value), ==, c->ok);
  if (c->ok)
    g_assert_cmpint (value, ==, c->value);
  else
    g_assert_cmpint (value, ==, 12345); /* left alone */
}

static void
test_get_int64_absent (void)
{
  JunoMessage msg;
  gint64 value = 7;

  g_assert_cmpint (juno_message_parse ("{}", 2, &msg), ==, JUNO_PARSE_OK);
  g_assert_cmpint (msg.keys[JUNO_KEY_TYPE].kind, ==, JUNO_JSON_ABSENT);
  g_assert_false (juno_json_value_get_int64 (&msg.keys[JUNO_KEY_TYPE], &value));
  g_assert_cmpint (value, ==, 7);
}

static void
test_lookup (gconstpointer data)
{
  const struct LookupCase *c = data;
  gsize len = strlen (c->text);
  g_autofree char *text = exact_copy (c->text, len);
  JunoJsonValue v;

  g_assert_cmpint (juno_json_object_lookup (text, len, c->key, &v), ==, c->found);
  if (c->found)
    {
      g_autofree char *span = g_strndup (v.text, v.len);

      g_assert_cmpint (v.kind, ==, c->kind);
      g_assert_true (v.text >= text && v.text + v.len <= text + len);
      g_assert_cmpstr (span, ==, c->raw);
    }
  else
    g_assert_cmpint (v.kind, ==, JUNO_JSON_ABSENT);
}

static void
test_append_string (gconstpointer data)
{
  const struct AppendCase *c = data;
  g_autoptr(GString) out = g_string_new ("prefix:");
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wrapped = NULL;
  g_autofree char *decoded = NULL;
  const char *literal;
  JunoMessage msg;
  JunoJsonValue v;

  juno_json_append_string (out, c->input);
  g_assert_true (g_str_has_prefix (out->str, "prefix:\""));
  literal = out->str + strlen ("prefix:");
  g_assert_true (g_str_has_suffix (literal, "\""));
  /* RFC 8259 forbids raw control characters, which json-glib would take */
  for (const char *p = literal; *p; p++)
    g_assert_cmpint ((guchar) *p, >=, 0x20);

  node = json_from_string (literal, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
  g_assert_cmpstr (json_node_get_string (node), ==, c->input);

  /* and back through juno's own scanner and decoder */
  wrapped = g_strdup_printf ("{\"data\":%s}", literal);
  v = capture_one (wrapped, JUNO_KEY_DATA, &msg);
  decoded = juno_json_value_dup_string (&v);
  g_assert_cmpstr (decoded, ==, c->input);
}

/* ------------------------------------------------------------------ */
/* The data-driven corpus                                              */
/* ------------------------------------------------------------------ */

static const struct CorpusDir
{
  const char *name;
  JunoParseResult result;
  guint min_files;
} corpus_dirs[] = {
  { "accept", JUNO_PARSE_OK, 10 },
  { "reject", JUNO_PARSE_INVALID_JSON, 10 },
  { "not-object", JUNO_PARSE_NOT_OBJECT, 5 },
};

typedef struct
{
  const struct CorpusDir *dir;
  char *path;
} CorpusFile;

static void
corpus_file_free (gpointer data)
{
  CorpusFile *file = data;

  g_free (file->path);
  g_free (file);
}

static char *
corpus_dir_path (const struct CorpusDir *dir)
{
  return g_build_filename (g_test_get_dir (G_TEST_DIST), "data", "protocol", dir->name, NULL);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The sorted names of the *.json files in @dir; NULL if it cannot be read. */
static GPtrArray *
list_corpus (const struct CorpusDir *dir)
{
  g_autofree char *path = corpus_dir_path (dir);
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
  g_autoptr(GPtrArray) names = list_corpus (dir);

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

  g_file_get_contents (file->path, &text, &len, &error);
  g_assert_no_error (error);
  /* the broker checks these before it parses; the corpus holds none */
  g_assert_true (g_utf8_validate_len (text, len, NULL));

  assert_parse_result (text, len, file->dir->result);
  check_json_glib (text, len, file->dir->result);
}

static void
add_corpus_tests (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (corpus_dirs); i++)
    {
      const struct CorpusDir *dir = &corpus_dirs[i];
      g_autoptr(GPtrArray) names = list_corpus (dir);
      g_autofree char *dir_path = corpus_dir_path (dir);
      g_autofree char *test_path = g_strdup_printf ("/core/protocol/corpus/%s", dir->name);

      /* fails when the directory is missing or nearly empty */
      g_test_add_data_func (test_path, dir, test_corpus_dir);
      for (guint j = 0; names != NULL && j < names->len; j++)
        {
          const char *name = g_ptr_array_index (names, j);
          CorpusFile *file = g_new0 (CorpusFile, 1);
          g_autofree char *stem = g_strndup (name, strlen (name) - strlen (".json"));
          g_autofree char *path = g_strdup_printf ("/core/protocol/corpus/%s/%s", dir->name, stem);

          file->dir = dir;
          file->path = g_build_filename (dir_path, name, NULL);
          g_test_add_data_func_full (path, file, test_corpus_file, corpus_file_free);
        }
    }
}

/* The scanner checks UTF-8 inside strings itself; it must agree with
 * GLib on every sequence, whatever stands around it. */
static void
check_utf8 (const guchar *seq, gsize n)
{
  static const char *const frames[][2] = {
    { "{\"requestId\":\"", "\",\"type\":1}" }, /* in a captured value */
    { "{\"", "\":1}" },                             /* in a key */
    { "{\"a\":[\"x", "\"]}" },                    /* nested, after ASCII */
  };

  for (guint f = 0; f < G_N_ELEMENTS (frames); f++)
    {
      GString *line = g_string_new (frames[f][0]);
      JunoMessage msg;
      JunoParseResult result;
      gboolean valid;

      g_string_append_len (line, (const char *) seq, (gssize) n);
      g_string_append (line, frames[f][1]);
      valid = g_utf8_validate_len (line->str, line->len, NULL);
      result = parse_exact (line->str, line->len, &msg);
      if (result != (valid ? JUNO_PARSE_OK : JUNO_PARSE_INVALID_UTF8))
        {
          g_autofree char *hex = NULL;
          GString *h = g_string_new (NULL);

          for (gsize i = 0; i < n; i++)
            g_string_append_printf (h, "%02x ", seq[i]);
          hex = g_string_free (h, FALSE);
          g_test_message ("bytes %sin frame %u: GLib says %s, parse says %s", hex, f,
                          valid ? "valid" : "invalid", result_name (result));
          g_assert_cmpint (result, ==, valid ? JUNO_PARSE_OK : JUNO_PARSE_INVALID_UTF8);
        }
      g_string_free (line, TRUE);
    }
}

static void
test_utf8_two_bytes (void)
{
  for (guint a = 0x80; a <= 0xff; a++)
    for (guint b = 0; b <= 0xff; b++)
      {
        guchar seq[2] = { (guchar) a, (guchar) b };

        if (b == '"' || b == '\\' || b < 0x20)
          continue; /* those end or break the string whatever came before */
        check_utf8 (seq, 2);
      }
}

static void
test_utf8_longer (void)
{
  /* every lead byte and second byte, with the edges of the later bytes */
  static const guchar tails[] = { 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xf5, 0xff };

  for (guint a = 0xc0; a <= 0xff; a++)
    for (guint b = 0x20; b <= 0xff; b++)
      for (guint i = 0; i < G_N_ELEMENTS (tails); i++)
        {
          guchar seq[4] = { (guchar) a, (guchar) b, tails[i], 0x80 };

          if (b == '"' || b == '\\')
            continue;
          check_utf8 (seq, 3);
          check_utf8 (seq, 4);
          seq[3] = tails[G_N_ELEMENTS (tails) - 1 - i];
          check_utf8 (seq, 4);
        }
}

/* Long strings are scanned 8 bytes at a time: a special byte must be
 * found at every offset of a word, and the value's span must stay exact. */
static void
test_long_strings (void)
{
  static const struct
  {
    const char *insert;
    JunoParseResult result;
    gboolean escaped;
  } cases[] = {
    { "", JUNO_PARSE_OK, FALSE },
    { "\xc3\xa9", JUNO_PARSE_OK, FALSE },
    { "\xf0\x9f\x98\x80", JUNO_PARSE_OK, FALSE },
    { "\\n", JUNO_PARSE_OK, TRUE },
    { "\\u00e9", JUNO_PARSE_OK, TRUE },
    { "\\\"", JUNO_PARSE_OK, TRUE },
    { "\\q", JUNO_PARSE_INVALID_JSON, FALSE },
    { "\x01", JUNO_PARSE_INVALID_JSON, FALSE },
    { "\x1f", JUNO_PARSE_INVALID_JSON, FALSE },
    { "\t", JUNO_PARSE_INVALID_JSON, FALSE },
    { "\x7f", JUNO_PARSE_OK, FALSE },
    { "\xff", JUNO_PARSE_INVALID_UTF8, FALSE },
    { "\xc3", JUNO_PARSE_INVALID_UTF8, FALSE },
    { "\"x", JUNO_PARSE_INVALID_JSON, FALSE }, /* ends the string early */
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint before = 0; before < 20; before++)
      for (guint after = 0; after < 20; after += 3)
        {
          GString *line = g_string_new ("{\"requestId\":\"");
          gsize start = line->len - 1;
          JunoMessage msg;

          for (guint i = 0; i < before; i++)
            g_string_append_c (line, (char) ('a' + i % 26));
          g_string_append (line, cases[c].insert);
          for (guint i = 0; i < after; i++)
            g_string_append_c (line, (char) ('A' + i % 26));
          g_string_append (line, "\",\"type\":1}");

          /* an exact-size copy, so the sanitizers see any read past the end */
          g_autofree char *copy = g_memdup2 (line->str, line->len);

          g_assert_cmpint (juno_message_parse (copy, line->len, &msg), ==, cases[c].result);
          if (cases[c].result == JUNO_PARSE_OK)
            {
              const JunoJsonValue *v = &msg.keys[JUNO_KEY_REQUEST_ID];

              g_assert_cmpint (v->kind, ==, JUNO_JSON_STRING);
              g_assert_true (v->text == copy + start);
              g_assert_cmpuint (v->len, ==, line->len - start - strlen (",\"type\":1}"));
              g_assert_cmpint (v->escaped, ==, cases[c].escaped);
            }
          g_string_free (line, TRUE);
        }
}

static void
test_utf8_outside_strings (void)
{
  JunoMessage msg;

  /* not UTF-8 where JSON allows no such byte at all: still "not UTF-8" */
  assert_parse_result ("{\"a\":1,\xff}", 9, JUNO_PARSE_INVALID_UTF8);
  /* valid UTF-8 where JSON allows none: just not JSON */
  assert_parse_result ("{\"a\":\xc3\xa9}", 8, JUNO_PARSE_INVALID_JSON);
  /* a JSON error before the bad byte does not hide it */
  assert_parse_result ("{\"a\":,\"\xc0\xaf\"}", 10, JUNO_PARSE_INVALID_UTF8);
  /* NUL bytes, in a string and outside */
  assert_parse_result ("{\"a\":\"x\0y\"}", 11, JUNO_PARSE_INVALID_UTF8);
  assert_parse_result ("{\"a\":1}\0", 9, JUNO_PARSE_INVALID_UTF8);
  /* too deep and not UTF-8: refused for its bytes */
  {
    GString *deep = g_string_new (NULL);

    for (guint i = 0; i < JUNO_JSON_MAX_DEPTH + 2; i++)
      g_string_append_c (deep, '[');
    g_string_append (deep, "\"\xed\xa0\x80\"");
    g_assert_cmpint (parse_exact (deep->str, deep->len, &msg), ==, JUNO_PARSE_INVALID_UTF8);
    g_string_free (deep, TRUE);
  }
}

/* ------------------------------------------------------------------ */
/* juno_json_normalize                                                 */
/* ------------------------------------------------------------------ */

typedef struct
{
  const char *name;
  const char *text;
  JunoParseResult result;
  const char *compact; /* for JUNO_PARSE_OK */
  JunoJsonKind kind;
} NormalizeCase;

static const NormalizeCase normalize_cases[] = {
  { "compact", "{\"a\":1}", JUNO_PARSE_OK, "{\"a\":1}", JUNO_JSON_OBJECT },
  { "pretty", "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}\n", JUNO_PARSE_OK,
    "{\"a\":[1,2],\"b\":{}}", JUNO_JSON_OBJECT },
  { "crlf-tabs", "\r\n\t{ \"a\" :\t\"x\" ,\r\n\"b\":null }\r\n", JUNO_PARSE_OK,
    "{\"a\":\"x\",\"b\":null}", JUNO_JSON_OBJECT },
  { "strings-kept", "{ \"a b\" : \" x\\n\\\" y \" }", JUNO_PARSE_OK, "{\"a b\":\" x\\n\\\" y \"}",
    JUNO_JSON_OBJECT },
  { "backslash-end", "[ \"\\\\\" , \"\\\"\" ]", JUNO_PARSE_OK, "[\"\\\\\",\"\\\"\"]", JUNO_JSON_ARRAY },
  { "utf8", "{ \"\xc3\xa9\" : \"\xf0\x9f\x98\x80\" }", JUNO_PARSE_OK, "{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}",
    JUNO_JSON_OBJECT },
  { "number", " -1.5e+3 ", JUNO_PARSE_OK, "-1.5e+3", JUNO_JSON_NUMBER },
  { "string", "\"x\"", JUNO_PARSE_OK, "\"x\"", JUNO_JSON_STRING },
  { "literals", "[ true , false , null ]", JUNO_PARSE_OK, "[true,false,null]", JUNO_JSON_ARRAY },
  /* a message hidden in an argument stays inside its string */
  { "injection", "{\"a\":\"x\\n{\\\"type\\\":7}\"}", JUNO_PARSE_OK,
    "{\"a\":\"x\\n{\\\"type\\\":7}\"}", JUNO_JSON_OBJECT },
  { "empty", "", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "blank", " \n ", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "two-values", "{}\n{}", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "raw-newline-in-string", "{\"a\":\"x\ny\"}", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "single-quotes", "{'a':1}", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "trailing-comma", "[1,]", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "leading-zero", "01", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "hex", "0x10", JUNO_PARSE_INVALID_JSON, NULL, 0 },
  { "not-utf8", "{\"a\":\"\xff\"}", JUNO_PARSE_INVALID_UTF8, NULL, 0 },
  { "surrogate-bytes", "\"\xed\xa0\x80\"", JUNO_PARSE_INVALID_UTF8, NULL, 0 },
  { "not-utf8-outside", "[1,\xff]", JUNO_PARSE_INVALID_UTF8, NULL, 0 },
  { "range-bare", "1e400", JUNO_PARSE_NUMBER_RANGE, NULL, 0 },
  { "range-bare-negative", " -1e400 ", JUNO_PARSE_NUMBER_RANGE, NULL, 0 },
  { "range-in-array", "[1e999]", JUNO_PARSE_NUMBER_RANGE, NULL, 0 },
  { "range-integer", "{\"id\":18446744073709551616}", JUNO_PARSE_NUMBER_RANGE, NULL, 0 },
  { "range-edge-kept", "[ 9223372036854775807 , 1.7976931348623157e308 ]", JUNO_PARSE_OK,
    "[9223372036854775807,1.7976931348623157e308]", JUNO_JSON_ARRAY },
};

static void
test_normalize (gconstpointer data)
{
  const NormalizeCase *c = data;
  gsize len = strlen (c->text);
  g_autofree char *copy = g_memdup2 (c->text, len);
  g_autoptr(GString) out = g_string_new ("prefix:");
  JunoJsonKind kind = JUNO_JSON_NULL;

  g_assert_cmpint (juno_json_normalize (copy, len, out, &kind), ==, c->result);
  if (c->result == JUNO_PARSE_OK)
    {
      g_assert_cmpstr (out->str + strlen ("prefix:"), ==, c->compact);
      g_assert_cmpint (kind, ==, c->kind);
      g_assert_null (memchr (out->str, '\n', out->len));
    }
  else
    {
      g_assert_cmpstr (out->str, ==, "prefix:");
      g_assert_cmpint (kind, ==, JUNO_JSON_ABSENT);
      g_assert_nonnull (juno_parse_result_to_string (c->result));
    }
}

static void
test_normalize_nul (void)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_assert_cmpint (juno_json_normalize ("{\"a\":\"x\0\"}", 10, out, NULL), ==, JUNO_PARSE_INVALID_UTF8);
  g_assert_cmpint (juno_json_normalize ("{}\0", 3, out, NULL), ==, JUNO_PARSE_INVALID_UTF8);
  g_assert_cmpuint (out->len, ==, 0);
}

static void
test_normalize_depth (void)
{
  g_autoptr(GString) ok = g_string_new (NULL);
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < JUNO_JSON_MAX_DEPTH; i++)
    g_string_append (ok, "[ ");
  for (guint i = 0; i < JUNO_JSON_MAX_DEPTH; i++)
    g_string_append (ok, "] ");
  g_assert_cmpint (juno_json_normalize (ok->str, ok->len, out, NULL), ==, JUNO_PARSE_OK);
  g_assert_cmpuint (out->len, ==, 2 * JUNO_JSON_MAX_DEPTH);

  g_string_truncate (out, 0);
  g_string_append (deep, "[");
  g_string_append_len (deep, ok->str, (gssize) ok->len);
  g_string_append (deep, "]");
  g_assert_cmpint (juno_json_normalize (deep->str, deep->len, out, NULL), ==, JUNO_PARSE_TOO_DEEP);
  g_assert_cmpuint (out->len, ==, 0);
}

/* Whatever the scanner accepts as a message is accepted by normalize, and
 * the compact form parses to the same verdict. */
static void
test_normalize_agrees (gconstpointer data)
{
  const struct ParseCase *c = data;
  gsize len = c->len ? c->len : strlen (c->text);
  g_autofree char *copy = g_memdup2 (c->text, len);
  g_autoptr(GString) out = g_string_new (NULL);
  JunoJsonKind kind;
  JunoParseResult expected = c->result == JUNO_PARSE_NOT_OBJECT ? JUNO_PARSE_OK : c->result;
  JunoMessage msg;

  g_assert_cmpint (juno_json_normalize (copy, len, out, &kind), ==, expected);
  if (expected == JUNO_PARSE_OK)
    {
      g_assert_cmpint (juno_message_parse (out->str, out->len, &msg), ==, c->result);
      g_assert_null (memchr (out->str, '\n', out->len));
    }
}

/* juno_json_iter: the members of a checked object, in order, as spans */
static const struct IterCase
{
  const char *name;
  const char *text;
  const char *members; /* "key=value;" for each, spans as written */
} iter_cases[] = {
  { "empty", "{}", "" },
  { "empty-spaced", "{ \n }", "" },
  { "one", "{\"a\":\"1\"}", "\"a\"=\"1\";" },
  { "spaced", "{ \"a\" : 1 ,\t\"b\" :[ 2 , {} ] }", "\"a\"=1;\"b\"=[ 2 , {} ];" },
  { "repeated", "{\"a\":1,\"a\":2}", "\"a\"=1;\"a\"=2;" },
  { "escaped-key", "{\"\\u0061\":null}", "\"\\u0061\"=null;" },
  { "nested-objects", "{\"o\":{\"p\":{\"q\":[]}},\"z\":true}", "\"o\"={\"p\":{\"q\":[]}};\"z\"=true;" },
  { "strings-with-structure", "{\"k\":\"},{\\\"\"}", "\"k\"=\"},{\\\"\";" },
};

static void
test_iter (gconstpointer data)
{
  const struct IterCase *c = data;
  g_autoptr(GString) seen = g_string_new (NULL);
  g_autofree char *copy = g_memdup2 (c->text, strlen (c->text));
  JunoJsonValue object = { copy, (guint32) strlen (c->text), JUNO_JSON_OBJECT, FALSE };
  JunoJsonValue key, value;
  JunoJsonIter iter;
  g_autoptr(GString) out = g_string_new (NULL);

  g_assert_cmpint (juno_json_normalize (copy, object.len, out, NULL), ==, JUNO_PARSE_OK);
  juno_json_iter_init (&iter, &object);
  while (juno_json_iter_next (&iter, &key, &value))
    {
      g_assert_cmpint (key.kind, ==, JUNO_JSON_STRING);
      g_assert_true (key.text >= copy && value.text + value.len <= copy + object.len);
      g_string_append_len (seen, key.text, key.len);
      g_string_append_c (seen, '=');
      g_string_append_len (seen, value.text, value.len);
      g_string_append_c (seen, ';');
    }
  g_assert_cmpstr (seen->str, ==, c->members);
  g_assert_false (juno_json_iter_next (&iter, &key, &value));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (parse_cases); i++)
    {
      add_case ("/core/protocol/parse", parse_cases[i].name, &parse_cases[i], test_parse);
      if (parse_cases[i].json_glib == JSON_GLIB_AGREES || !JSON_CHECK_VERSION (1, 7, 0))
        add_case ("/core/protocol/json-glib", parse_cases[i].name, &parse_cases[i], test_parse_json_glib);
    }
  for (guint i = 0; i < G_N_ELEMENTS (nest_cases); i++)
    add_case ("/core/protocol/nesting", nest_cases[i].name, &nest_cases[i], test_nesting);
  for (guint i = 0; i < G_N_ELEMENTS (key_cases); i++)
    add_case ("/core/protocol/keys", key_cases[i].name, &key_cases[i], test_keys);
  for (guint i = 0; i < G_N_ELEMENTS (string_cases); i++)
    add_case ("/core/protocol/dup-string", string_cases[i].name, &string_cases[i], test_dup_string);
  for (guint i = 0; i < G_N_ELEMENTS (int_cases); i++)
    add_case ("/core/protocol/get-int64", int_cases[i].name, &int_cases[i], test_get_int64);
  for (guint i = 0; i < G_N_ELEMENTS (lookup_cases); i++)
    add_case ("/core/protocol/lookup", lookup_cases[i].name, &lookup_cases[i], test_lookup);
  for (guint i = 0; i < G_N_ELEMENTS (append_cases); i++)
    add_case ("/core/protocol/append-string", append_cases[i].name, &append_cases[i], test_append_string);
  g_test_add_func ("/core/protocol/get-int64/absent", test_get_int64_absent);
  g_test_add_func ("/core/protocol/utf8/two-bytes", test_utf8_two_bytes);
  g_test_add_func ("/core/protocol/utf8/longer", test_utf8_longer);
  g_test_add_func ("/core/protocol/utf8/outside-strings", test_utf8_outside_strings);
  g_test_add_func ("/core/protocol/long-strings", test_long_strings);
  for (guint i = 0; i < G_N_ELEMENTS (normalize_cases); i++)
    add_case ("/core/protocol/normalize", normalize_cases[i].name, &normalize_cases[i], test_normalize);
  for (guint i = 0; i < G_N_ELEMENTS (parse_cases); i++)
    add_case ("/core/protocol/normalize-agrees", parse_cases[i].name, &parse_cases[i], test_normalize_agrees);
  g_test_add_func ("/core/protocol/normalize/nul", test_normalize_nul);
  g_test_add_func ("/core/protocol/normalize/depth", test_normalize_depth);
  for (guint i = 0; i < G_N_ELEMENTS (iter_cases); i++)
    add_case ("/core/protocol/iter", iter_cases[i].name, &iter_cases[i], test_iter);
  add_corpus_tests ();

  return g_test_run ();
}
