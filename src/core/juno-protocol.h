/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-protocol.h: the wire codec
 *
 * Decoding is a single pass over one line: it validates the JSON grammar
 * (bounded nesting, no recursion a peer controls beyond JUNO_JSON_MAX_DEPTH)
 * and records where the top-level keys the broker routes on sit in the line.
 * Values the broker only forwards (arguments, data) stay raw byte spans that
 * the encoder splices into the outgoing message unchanged: a message is
 * parsed once and never rebuilt from a tree.
 *
 * The same pass checks that the strings are UTF-8; a line that is not UTF-8
 * or holds a NUL byte, anywhere, is JUNO_PARSE_INVALID_UTF8.
 */
#pragma once

#include <glib.h>
#include <string.h>

#include "juno-names.h"

G_BEGIN_DECLS

typedef enum
{
  JUNO_JSON_ABSENT = 0,
  JUNO_JSON_STRING,
  JUNO_JSON_NUMBER,
  JUNO_JSON_OBJECT,
  JUNO_JSON_ARRAY,
  JUNO_JSON_TRUE,
  JUNO_JSON_FALSE,
  JUNO_JSON_NULL,
} JunoJsonKind;

typedef enum
{
  JUNO_KEY_REQUEST_ID,
  JUNO_KEY_TYPE,
  JUNO_KEY_MODULE_ID,
  JUNO_KEY_VERSION,
  JUNO_KEY_DEPENDENCIES,
  JUNO_KEY_FUNCTION,
  JUNO_KEY_ARGUMENTS,
  JUNO_KEY_HOOK,
  JUNO_KEY_DATA,
  JUNO_KEY_ERROR,
  JUNO_N_KEYS,
} JunoKey;

/* A value as it stands in the line: for a string, the span includes the
 * quotes and any escapes, so it can be written out again verbatim. */
typedef struct
{
  const char *text;
  guint32 len;
  guint8 kind; /* JunoJsonKind */
  gboolean escaped; /* strings only: contains a backslash escape */
} JunoJsonValue;

typedef struct
{
  JunoJsonValue keys[JUNO_N_KEYS];
} JunoMessage;

typedef enum
{
  JUNO_PARSE_OK,
  JUNO_PARSE_INVALID_JSON,
  JUNO_PARSE_TOO_DEEP,
  JUNO_PARSE_NOT_OBJECT,
  JUNO_PARSE_INVALID_UTF8,
  /* valid JSON, but a number is out of range: an integer (no fraction, no
   * exponent) beyond gint64, or another number beyond G_MAXDOUBLE. The
   * message's keys are recorded all the same. */
  JUNO_PARSE_NUMBER_RANGE,
} JunoParseResult;

JunoParseResult juno_message_parse (const char *line, gsize len, JunoMessage *msg);

/* Appends to the message being built: a copy into spare room when there is
 * some (the common case once self->out has grown), else GString's append. */
static inline void
juno_out_append (GString *out, const char *data, gsize len)
{
  if (G_LIKELY (out->len + len < out->allocated_len))
    {
      memcpy (out->str + out->len, data, len);
      out->len += len;
      out->str[out->len] = '\0';
    }
  else
    g_string_append_len (out, data, (gssize) len);
}

/* The same for a string literal. */
#define JUNO_OUT_LITERAL(out, literal) juno_out_append ((out), "" literal, sizeof (literal) - 1)

/* Looks up one top-level key of a JSON object given as text (the raw span of
 * an argument object, say). The text must already be valid. */
gboolean juno_json_object_lookup (const char *text, gsize len, const char *key, JunoJsonValue *out);

/* Walks the members of an object value already checked by the scanner
 * (a span juno_message_parse recorded, say), in order, a repeated key each
 * time it appears: no tree is built.
 *
 *   JunoJsonIter iter;
 *   JunoJsonValue key, value;
 *
 *   juno_json_iter_init (&iter, &object);
 *   while (juno_json_iter_next (&iter, &key, &value))
 *     ...
 */
typedef struct
{
  const char *p;
  const char *end;
} JunoJsonIter;

void juno_json_iter_init (JunoJsonIter *iter, const JunoJsonValue *object);
gboolean juno_json_iter_next (JunoJsonIter *iter, JunoJsonValue *key, JunoJsonValue *value);

/* The decoded contents of a string value, or NULL if it holds "\u0000". */
char *juno_json_value_dup_string (const JunoJsonValue *value);
/* The same, in @buffer when it fits without escapes (the usual case, no
 * heap copy), else in a copy stored in *@decoded for the caller to free. */
char *juno_json_value_get_string (const JunoJsonValue *value, char *buffer, gsize size, char **decoded);
/* Integer value of a number written without fraction or exponent. */
gboolean juno_json_value_get_int64 (const JunoJsonValue *value, gint64 *out);

/* Appends @str as a JSON string literal, quotes included. */
void juno_json_append_string (GString *out, const char *str);

/* Checks the JSON text @text (@len bytes, any JSON value) with the same
 * grammar as juno_message_parse (nesting bounded by JUNO_JSON_MAX_DEPTH,
 * strings UTF-8 without NUL) and appends it to @out in compact form: the
 * same tokens with no whitespace between them. A raw newline can only be
 * whitespace in valid JSON, so the result fits on one protocol line.
 * Returns JUNO_PARSE_OK, or why the text was refused (never
 * JUNO_PARSE_NOT_OBJECT); @out is then left as it was. @kind (optional)
 * gets the kind of the top-level value. */
JunoParseResult juno_json_normalize (const char *text, gsize len, GString *out, JunoJsonKind *kind);

/* An English phrase for a refusal, for logs and D-Bus error messages:
 * "is not valid JSON", "is nested too deeply", ... The phrases are in the
 * translation catalogue: pass them through _() to show them to a user. */
const char *juno_parse_result_to_string (JunoParseResult result);

G_END_DECLS
