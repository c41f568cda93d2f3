/* fuzz-federation.c: what another broker of a federation may publish
 *
 * The input is one NATS payload, read as each kind of federation message
 * (docs/federation.md): a control message (heartbeat, change, snapshot
 * page) and the modules it carries, a forwarded call, an answer.
 * Checks: a refusal always says why; a parsed module's names pass the
 * broker's own name rules; a parsed call's arguments lie inside the input
 * and its token is a JSON string literal.
 */
#include "config.h"

#include <string.h>

#include "fuzz-common.h"
#include "juno-common.h"
#include "juno-federation-wire.h"

#define MAX_SIZE (64 * 1024)

static void
check_module (JsonNode *node)
{
  g_autoptr(JunoRemoteModule) m = juno_federation_parse_module (node);

  if (m == NULL)
    return;
  FUZZ_ASSERT (juno_module_id_is_valid (m->id, -1));
  for (guint i = 0; m->functions[i] != NULL; i++)
    FUZZ_ASSERT (juno_function_name_is_valid (m->functions[i], -1));
  for (guint i = 0; m->hooks[i] != NULL; i++)
    FUZZ_ASSERT (juno_hook_address_is_valid (m->hooks[i], NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *token = NULL;
  g_autofree char *function = NULL;
  g_autofree char *caller = NULL;
  const char *why = NULL, *arguments = NULL;
  gsize arguments_len = 0;
  gboolean failed;
  JsonObject *object;

  fuzz_init ();

  object = juno_federation_parse_control (text, size, MAX_SIZE, &parser, &why);
  FUZZ_ASSERT ((object == NULL) == (why != NULL));
  if (object != NULL)
    {
      JsonNode *modules = json_object_get_member (object, "modules");
      guint64 gen;

      check_module (json_object_get_member (object, "module"));
      if (modules != NULL && JSON_NODE_HOLDS_ARRAY (modules))
        {
          JsonArray *array = json_node_get_array (modules);

          for (guint i = 0; i < json_array_get_length (array); i++)
            check_module (json_array_get_element (array, i));
        }
      (void) juno_federation_get_uint (object, "gen", &gen);
      (void) juno_federation_instance_is_valid (juno_federation_get_string (object, "instance"));
    }

  why = NULL;
  if (juno_federation_parse_call (text, size, MAX_SIZE, &token, &function, &caller, &arguments, &arguments_len, &why))
    {
      FUZZ_ASSERT (why == NULL);
      FUZZ_ASSERT (token[0] == '"' && token[strlen (token) - 1] == '"');
      FUZZ_ASSERT (juno_function_name_is_valid (function, -1));
      FUZZ_ASSERT (arguments == NULL || (arguments >= text && arguments + arguments_len <= text + size));
    }
  else
    FUZZ_ASSERT (why != NULL);

  why = NULL;
  if (!juno_federation_parse_answer (text, size, MAX_SIZE, &failed, &why))
    FUZZ_ASSERT (why != NULL);
  return 0;
}
