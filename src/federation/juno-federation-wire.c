/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-federation-wire.c: what brokers of a federation send each other,
 * checked (see juno-federation-wire.h) */
#include "config.h"

#include <string.h>

#include "juno-common.h"
#include "juno-federation-wire.h"
#include "juno-protocol.h"

#define MAX_REQUEST_ID_LENGTH 32
#define MAX_CALLER_LENGTH 256

void
juno_remote_module_free (JunoRemoteModule *m)
{
  if (m == NULL)
    return;
  g_free (m->id);
  g_free (m->version_text);
  juno_version_clear (&m->version);
  g_strfreev (m->functions);
  g_strfreev (m->hooks);
  g_free (m);
}

JsonObject *
juno_federation_parse_control (const char *data, gsize len, gsize max_size, JsonParser **parser_out,
                               const char **why)
{
  g_autoptr(GString) compact = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JunoJsonKind kind;
  JsonNode *root, *v;
  JsonObject *object;

  if (len == 0 || len > max_size)
    {
      *why = "empty or larger than --max-message-size";
      return NULL;
    }
  compact = g_string_sized_new (len);
  if (juno_json_normalize (data, len, compact, &kind) != JUNO_PARSE_OK || kind != JUNO_JSON_OBJECT)
    {
      *why = "not a JSON object";
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, compact->str, (gssize) compact->len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      *why = "not a JSON object";
      return NULL;
    }
  object = json_node_get_object (root);
  v = json_object_get_member (object, "v");
  if (v == NULL || json_node_get_value_type (v) != G_TYPE_INT64 ||
      json_node_get_int (v) != JUNO_FEDERATION_PROTOCOL_VERSION)
    {
      *why = "not version 1 of the federation's messages";
      return NULL;
    }
  *parser_out = g_steal_pointer (&parser);
  return object;
}

const char *
juno_federation_get_string (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
juno_federation_get_uint (JsonObject *object, const char *name, guint64 *out)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 v;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64 || (v = json_node_get_int (node)) < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

gboolean
juno_federation_instance_is_valid (const char *instance)
{
  return instance != NULL && strlen (instance) == 16 && strspn (instance, "0123456789abcdef") == 16;
}

/* A list of names checked one by one; NULL when wrong. */
static char **
parse_names (JsonObject *object, const char *member, gboolean (*valid) (const char *))
{
  JsonNode *node = json_object_get_member (object, member);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  JsonArray *array;
  guint n;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n > JUNO_FEDERATION_MAX_NAMES)
    return NULL;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      const char *name;

      if (json_node_get_value_type (item) != G_TYPE_STRING || (name = json_node_get_string (item)) == NULL ||
          !valid (name))
        return NULL;
      g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static gboolean
function_name_ok (const char *name)
{
  return strlen (name) <= 4 * JUNO_MODULE_ID_MAX_LENGTH && juno_function_name_is_valid (name, -1);
}

static gboolean
hook_address_ok (const char *address)
{
  return strlen (address) <= 4 * JUNO_MODULE_ID_MAX_LENGTH && juno_hook_address_is_valid (address, NULL);
}

JunoRemoteModule *
juno_federation_parse_module (JsonNode *node)
{
  g_autoptr(JunoRemoteModule) m = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  const char *id, *version;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);
  id = juno_federation_get_string (object, "moduleId");
  version = juno_federation_get_string (object, "version");
  if (id == NULL || !juno_module_id_is_valid (id, -1) || g_str_equal (id, JUNO_BUILTIN_MODULE_ID) || version == NULL)
    return NULL;
  m = g_new0 (JunoRemoteModule, 1);
  if (!juno_version_parse (version, &m->version, &error) ||
      (m->functions = parse_names (object, "functions", function_name_ok)) == NULL ||
      (m->hooks = parse_names (object, "hooks", hook_address_ok)) == NULL)
    return NULL;
  m->id = g_strdup (id);
  m->version_text = g_strdup (version);
  return g_steal_pointer (&m);
}

/* Whatever another broker says its caller is, it is only ever written
 * into a JSON string: bounded, UTF-8, no control characters. */
static gboolean
caller_is_valid (const char *caller)
{
  gsize n = strlen (caller);

  if (n == 0 || n > MAX_CALLER_LENGTH || !g_utf8_validate (caller, (gssize) n, NULL))
    return FALSE;
  for (const char *p = caller; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      return FALSE;
  return TRUE;
}

gboolean
juno_federation_parse_call (const char *data, gsize len, gsize max_size, char **token, char **function,
                            char **caller, const char **arguments, gsize *arguments_len, const char **why)
{
  g_autofree char *fn = NULL;
  g_autofree char *who = NULL;
  JunoMessage parsed;
  JunoJsonValue caller_value;
  const JunoJsonValue *rid, *args;
  gint64 type;

  if (len > max_size)
    {
      *why = "a call larger than --max-message-size";
      return FALSE;
    }
  if (juno_message_parse (data, len, &parsed) != JUNO_PARSE_OK ||
      !juno_json_value_get_int64 (&parsed.keys[JUNO_KEY_TYPE], &type) || type != JUNO_MSG_FUNCTION_CALL)
    {
      *why = "not a call";
      return FALSE;
    }
  rid = &parsed.keys[JUNO_KEY_REQUEST_ID];
  args = &parsed.keys[JUNO_KEY_ARGUMENTS];
  if (rid->kind != JUNO_JSON_STRING || rid->len > MAX_REQUEST_ID_LENGTH || rid->escaped ||
      parsed.keys[JUNO_KEY_FUNCTION].kind != JUNO_JSON_STRING ||
      (fn = juno_json_value_dup_string (&parsed.keys[JUNO_KEY_FUNCTION])) == NULL ||
      !juno_function_name_is_valid (fn, -1) ||
      !juno_json_object_lookup (data, len, "caller", &caller_value) || caller_value.kind != JUNO_JSON_STRING ||
      (who = juno_json_value_dup_string (&caller_value)) == NULL || !caller_is_valid (who) ||
      (args->kind != JUNO_JSON_ABSENT && args->kind != JUNO_JSON_OBJECT))
    {
      *why = "a call without a valid requestId, function and caller";
      return FALSE;
    }
  *token = g_strndup (rid->text, rid->len);
  *function = g_steal_pointer (&fn);
  *caller = g_steal_pointer (&who);
  *arguments = args->kind == JUNO_JSON_OBJECT ? args->text : NULL;
  *arguments_len = args->kind == JUNO_JSON_OBJECT ? args->len : 0;
  return TRUE;
}

gboolean
juno_federation_parse_answer (const char *data, gsize len, gsize max_size, gboolean *failed, const char **why)
{
  JunoMessage parsed;
  const JunoJsonValue *rid;
  gint64 type;

  if (len > max_size)
    {
      *why = "an answer larger than --max-message-size";
      return FALSE;
    }
  if (juno_message_parse (data, len, &parsed) != JUNO_PARSE_OK ||
      !juno_json_value_get_int64 (&parsed.keys[JUNO_KEY_TYPE], &type) ||
      (type != JUNO_MSG_FUNCTION_RESPONSE && type != JUNO_MSG_ERROR))
    {
      *why = "not an answer to a call";
      return FALSE;
    }
  rid = &parsed.keys[JUNO_KEY_REQUEST_ID];
  /* "j<digits>": the only requestIds the broker gives calls it forwards */
  if (rid->kind != JUNO_JSON_STRING || rid->len < 4 || rid->len > MAX_REQUEST_ID_LENGTH || rid->text[1] != 'j')
    {
      *why = "an answer whose requestId is not a call's";
      return FALSE;
    }
  /* within the literal: @data need not end in NUL */
  for (gsize i = 2; i + 1 < rid->len; i++)
    if (!g_ascii_isdigit (rid->text[i]))
      {
        *why = "an answer whose requestId is not a call's";
        return FALSE;
      }
  *failed = type == JUNO_MSG_ERROR;
  return TRUE;
}
