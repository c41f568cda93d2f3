/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-json.c - just enough JSON for the load generator.
 *
 * Messages are single-line JSON objects. The generator never builds a tree:
 * it finds a top-level key and returns the raw text of its value, so that
 * the echo callee can copy the arguments through and append "sum". This is
 * not a validator; it trusts the broker to send well-formed JSON.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
skip_ws (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  return p;
}

/* @p is at the opening quote; returns the character after the closing one. */
static const char *
skip_string (const char *p, const char *end)
{
  for (p++; p < end; p++)
    {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        return p + 1;
    }
  return end;
}

static const char *
skip_value (const char *p, const char *end)
{
  int depth = 0;

  if (p < end && *p == '"')
    return skip_string (p, end);
  for (; p < end; p++)
    {
      switch (*p)
        {
        case '"':
          p = skip_string (p, end) - 1;
          break;
        case '{':
        case '[':
          depth++;
          break;
        case '}':
        case ']':
          if (depth == 0)
            return p;
          if (--depth == 0)
            return p + 1;
          break;
        case ',':
          if (depth == 0)
            return p;
          break;
        default:
          break;
        }
    }
  return end;
}

bool
bench_json_get (const char *obj, size_t len, const char *key,
                const char **value, size_t *value_len)
{
  const char *p = obj, *end = obj + len;
  size_t klen = strlen (key);

  p = skip_ws (p, end);
  if (p >= end || *p != '{')
    return false;
  p++;
  while (p < end)
    {
      const char *k, *kend, *v;

      p = skip_ws (p, end);
      if (p >= end || *p != '"')
        return false;
      k = p + 1;
      kend = skip_string (p, end);
      p = skip_ws (kend, end);
      if (p >= end || *p != ':')
        return false;
      v = skip_ws (p + 1, end);
      p = skip_value (v, end);
      if ((size_t) (kend - 1 - k) == klen && memcmp (k, key, klen) == 0)
        {
          *value = v;
          *value_len = (size_t) (p - v);
          while (*value_len > 0 && (v[*value_len - 1] == ' ' || v[*value_len - 1] == '\n'))
            (*value_len)--;
          return true;
        }
      p = skip_ws (p, end);
      if (p >= end || *p != ',')
        return false;
      p++;
    }
  return false;
}

long
bench_json_int (const char *obj, size_t len, const char *key, long fallback)
{
  const char *v;
  size_t vlen;
  long n = 0;
  bool neg = false;

  if (!bench_json_get (obj, len, key, &v, &vlen) || vlen == 0)
    return fallback;
  if (*v == '-')
    {
      neg = true;
      v++;
      vlen--;
    }
  if (vlen == 0 || *v < '0' || *v > '9')
    return fallback;
  for (; vlen > 0 && *v >= '0' && *v <= '9'; v++, vlen--)
    n = n * 10 + (*v - '0');
  return neg ? -n : n;
}

/* Writes the answer to arguments @args: the same object with "sum" (of the
 * integers in "values") appended. Returns its length, 0 if @cap is short. */
size_t
bench_echo_answer (const char *args, size_t len, char *out, size_t cap)
{
  const char *v, *end;
  size_t vlen, body;
  long sum = 0;
  int n;

  if (bench_json_get (args, len, "values", &v, &vlen))
    {
      end = v + vlen;
      while (v < end)
        {
          char *next;
          long x = strtol (v, &next, 10);

          if (next == v)
            v++;
          else
            {
              sum += x;
              v = next;
            }
        }
    }
  /* Drop the closing brace (and any blanks before it). */
  while (len > 0 && args[len - 1] != '}')
    len--;
  if (len == 0)
    return 0;
  body = len - 1;
  while (body > 0 && (args[body - 1] == ' ' || args[body - 1] == '\n'))
    body--;
  if (body + 32 > cap)
    return 0;
  memcpy (out, args, body);
  n = snprintf (out + body, cap - body, "%s\"sum\":%ld}",
                body > 1 ? "," : "", sum);
  return body + (size_t) n;
}

/* The call arguments: {"values":[1,2,3,4,5]}, padded with a "pad" string up
 * to @payload bytes when @payload is larger than that. */
char *
bench_make_args (size_t payload, size_t *len)
{
  static const char base[] = "{\"values\":[1,2,3,4,5]";
  const size_t overhead = sizeof base - 1 + strlen (",\"pad\":\"\"}");
  size_t pad = payload > overhead ? payload - overhead : 0;
  char *s = malloc (overhead + pad + 1);
  size_t n;

  memcpy (s, base, sizeof base - 1);
  n = sizeof base - 1;
  if (pad > 0 || payload > 0)
    {
      memcpy (s + n, ",\"pad\":\"", 8);
      n += 8;
      for (size_t i = 0; i < pad; i++)
        s[n++] = (char) ('a' + i % 26);
      s[n++] = '"';
    }
  s[n++] = '}';
  s[n] = '\0';
  *len = n;
  return s;
}
