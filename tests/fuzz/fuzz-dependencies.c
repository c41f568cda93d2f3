/* fuzz-dependencies.c: the dependencies object of a registration
 *
 * The input is the value of "dependencies" in a register message, sent by
 * one peer to a broker where modules "a" (1.2.3) and "b" (2.0.0-rc.1) are
 * already registered. Checks: a line that is a message gets exactly one
 * answer, a registration (2) or error 0 with the request's id; a module
 * that registered has at most 256 dependencies, each a valid moduleId with
 * a requirement; every table is empty once all peers have left.
 */
#include "config.h"

#include "fuzz-peers.h"
#include "juno-common.h"

typedef struct
{
  guint answers;
  gint64 last_type;
  char *expected_id; /* JSON literal */
} Answers;

static void
observe (FuzzWorld *world, FuzzPeer *peer, const JunoMessage *msg, gint64 type)
{
  Answers *answers = world->data;
  const JunoJsonValue *id = &msg->keys[JUNO_KEY_REQUEST_ID];

  if (peer->index != 0 || type == JUNO_MSG_HOOK_TRIGGERED)
    return; /* forced hooks and deliveries */
  FUZZ_ASSERT (id->len == strlen (answers->expected_id) && memcmp (id->text, answers->expected_id, id->len) == 0);
  answers->answers++;
  answers->last_type = type;
}

static void
register_module (FuzzWorld *world, guint index, const char *id, const char *version)
{
  FuzzPeer *peer = fuzz_peer_connect (world, index);
  g_autofree char *line = g_strdup_printf ("{\"requestId\":\"p\",\"type\":1,\"moduleId\":\"%s\",\"version\":\"%s\"}",
                                           id, version);

  fuzz_peer_feed (peer, line, strlen (line));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char head[] = "{\"requestId\":\"r\",\"type\":1,\"moduleId\":\"m\",\"version\":\"1.0.0\",\"dependencies\":";
  g_autoptr(GString) line = g_string_new (head);
  FuzzWorld world;
  Answers answers = { 0, -1, NULL };
  JunoMessage msg;
  JunoParseResult parsed;
  JunoModule *module;

  fuzz_init ();
  if (size > 65536)
    return 0;
  g_string_append_len (line, (const char *) data, (gssize) size);
  g_string_append_c (line, '}');

  /* the request's own id when the line can be read, else "undefined" */
  /* as the broker frames it: a raw '\r' inside a line is refused as such */
  if (memchr (line->str, '\r', line->len) != NULL)
    parsed = JUNO_PARSE_INVALID_UTF8;
  else
    parsed = juno_message_parse (line->str, line->len, &msg);
  if ((parsed == JUNO_PARSE_OK || parsed == JUNO_PARSE_NUMBER_RANGE) &&
      msg.keys[JUNO_KEY_REQUEST_ID].kind == JUNO_JSON_STRING)
    answers.expected_id = g_strndup (msg.keys[JUNO_KEY_REQUEST_ID].text, msg.keys[JUNO_KEY_REQUEST_ID].len);
  else
    answers.expected_id = g_strdup ("\"undefined\"");

  fuzz_world_init (&world);
  world.observe = observe;
  world.data = &answers;
  register_module (&world, 1, "a", "1.2.3");
  register_module (&world, 2, "b", "2.0.0-rc.1");
  fuzz_peer_feed (fuzz_peer_connect (&world, 0), line->str, line->len);

  if (parsed == JUNO_PARSE_INVALID_JSON)
    FUZZ_ASSERT (answers.answers == 0); /* no answer to a line that is not JSON */
  else
    FUZZ_ASSERT (answers.answers == 1);
  if (parsed != JUNO_PARSE_OK)
    FUZZ_ASSERT (answers.answers == 0 || answers.last_type == JUNO_MSG_ERROR);

  /* the input may repeat "moduleId" (or any key): the last one counts */
  module = NULL;
  if (parsed == JUNO_PARSE_OK && msg.keys[JUNO_KEY_MODULE_ID].kind == JUNO_JSON_STRING)
    {
      g_autofree char *module_id = juno_json_value_dup_string (&msg.keys[JUNO_KEY_MODULE_ID]);

      if (module_id != NULL && strcmp (module_id, "a") != 0 && strcmp (module_id, "b") != 0 &&
          strcmp (module_id, "juno") != 0)
        module = juno_broker_lookup_module (world.broker, module_id);
    }
  FUZZ_ASSERT ((module != NULL) == (answers.last_type == JUNO_MSG_MODULE_REGISTERED));
  if (module != NULL)
    {
      guint n = juno_module_get_n_dependencies (module);

      FUZZ_ASSERT (n <= 256);
      for (guint i = 0; i < n; i++)
        {
          const char *name, *requirement;

          juno_module_get_dependency (module, i, &name, &requirement);
          FUZZ_ASSERT (juno_module_id_is_valid (name, -1) && requirement != NULL);
          for (guint j = 0; j < i; j++)
            {
              const char *other, *other_requirement;

              juno_module_get_dependency (module, j, &other, &other_requirement);
              FUZZ_ASSERT (strcmp (name, other) != 0);
            }
        }
    }
  fuzz_world_finish (&world);
  g_free (answers.expected_id);
  return 0;
}
