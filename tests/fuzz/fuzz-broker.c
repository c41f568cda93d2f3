/* fuzz-broker.c: a real JunoBroker fed by several fake endpoints
 *
 * The input is a script, one step a line: the first byte picks the peer
 * (byte % 4), the second the action: '!' disconnects the peer, anything
 * else sends the rest of the line from it (connecting it first). In a sent
 * line "@@" stands for the token of the last call the peer received, so
 * the fuzzer can answer calls. A line that is an object gets a requestId
 * of the harness: "c<n>" for a call (type 3), "o<n>" for other requests;
 * answers (types 0 and 4) keep theirs.
 *
 * Checks, after every step: every line a peer receives is one valid
 * message; every call is answered at most once, to the peer that made it,
 * with type 4 or 0; a call without an answer is one the broker holds in
 * the caller's calls_out. After the script, all peers leave and every
 * table of the broker must be empty.
 */
#include "config.h"

#include "fuzz-peers.h"

#define MAX_STEPS 256
#define MAX_LINE 4096

typedef struct
{
  guint peer;
  guint generation;
  gboolean answered;
} CallRecord;

typedef struct
{
  GHashTable *calls;                       /* "c<n>" -> CallRecord */
  guint generation[FUZZ_MAX_PEERS];        /* bumped at each disconnect */
  char *last_token[FUZZ_MAX_PEERS];        /* requestId of the last call received */
  guint64 next_id;
} Script;

static void
observe (FuzzWorld *world, FuzzPeer *peer, const JunoMessage *msg, gint64 type)
{
  Script *script = world->data;
  g_autofree char *id = juno_json_value_dup_string (&msg->keys[JUNO_KEY_REQUEST_ID]);

  if (type == JUNO_MSG_FUNCTION_CALL && id != NULL)
    {
      g_free (script->last_token[peer->index]);
      script->last_token[peer->index] = g_steal_pointer (&id);
      return;
    }
  if ((type == JUNO_MSG_FUNCTION_RESPONSE || type == JUNO_MSG_ERROR) && id != NULL && id[0] == 'c')
    {
      CallRecord *call = g_hash_table_lookup (script->calls, id);

      /* an answer to a call of ours: to its caller, once */
      FUZZ_ASSERT (call != NULL);
      FUZZ_ASSERT (call->peer == peer->index && call->generation == script->generation[peer->index]);
      FUZZ_ASSERT (!call->answered);
      call->answered = TRUE;
    }
}

static guint
unanswered (Script *script, guint peer)
{
  GHashTableIter iter;
  CallRecord *call;
  guint n = 0;

  g_hash_table_iter_init (&iter, script->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &call))
    n += call->peer == peer && call->generation == script->generation[peer] && !call->answered;
  return n;
}

/* Appends ,"requestId":"<id>" before the closing brace of the object @line,
 * where a repeated key wins. */
static void
set_request_id (GString *line, const char *id)
{
  gsize end = line->len;
  gsize open = 0;
  gboolean empty;

  while (end > 0 && line->str[end - 1] != '}')
    end--;
  while (open < line->len && line->str[open] != '{')
    open++;
  FUZZ_ASSERT (end > 0 && open < end);
  empty = TRUE;
  for (gsize i = open + 1; i < end - 1 && empty; i++)
    empty = strchr (" \t\n\r", line->str[i]) != NULL;
  g_string_truncate (line, end - 1);
  g_string_append_printf (line, "%s\"requestId\":\"%s\"}", empty ? "" : ",", id);
}

static void
send_line (FuzzWorld *world, Script *script, FuzzPeer *peer, const char *payload, gsize len)
{
  g_autoptr(GString) line = g_string_sized_new (len + 32);
  JunoMessage msg;
  JunoParseResult result;
  gint64 type = -1;
  g_autofree char *id = NULL;
  const char *token = script->last_token[peer->index] ? script->last_token[peer->index] : "none";

  for (gsize i = 0; i < len; i++)
    {
      if (i + 1 < len && payload[i] == '@' && payload[i + 1] == '@')
        {
          g_string_append (line, token);
          i++;
        }
      else
        g_string_append_c (line, payload[i]);
    }

  /* as the broker frames a line: one '\r' at the end and one byte order
   * mark at the start go, a '\r' elsewhere is refused with "undefined" */
  {
    const char *view = line->str;
    gsize view_len = line->len;

    if (view_len > 0 && view[view_len - 1] == '\r')
      view_len--;
    if (view_len >= 3 && memcmp (view, "\xef\xbb\xbf", 3) == 0)
      view += 3, view_len -= 3;
    result = memchr (view, '\r', view_len) != NULL ? JUNO_PARSE_INVALID_UTF8
                                                    : juno_message_parse (view, view_len, &msg);
  }
  if (result == JUNO_PARSE_OK || result == JUNO_PARSE_NUMBER_RANGE)
    {
      (void) juno_json_value_get_int64 (&msg.keys[JUNO_KEY_TYPE], &type);
      if (type == JUNO_MSG_FUNCTION_CALL)
        {
          CallRecord *call = g_new0 (CallRecord, 1);

          id = g_strdup_printf ("c%" G_GUINT64_FORMAT, ++script->next_id);
          call->peer = peer->index;
          call->generation = script->generation[peer->index];
          g_hash_table_insert (script->calls, g_strdup (id), call);
        }
      else if (type == JUNO_MSG_FUNCTION_RESPONSE || type == JUNO_MSG_ERROR)
        {
          g_autofree char *given = msg.keys[JUNO_KEY_REQUEST_ID].kind == JUNO_JSON_STRING
                                     ? juno_json_value_dup_string (&msg.keys[JUNO_KEY_REQUEST_ID])
                                     : NULL;

          if (given != NULL && given[0] == 'c')
            id = g_strdup ("x"); /* never mistaken for a call of ours */
        }
      else
        id = g_strdup_printf ("o%" G_GUINT64_FORMAT, ++script->next_id);
      if (id != NULL)
        set_request_id (line, id);
    }
  fuzz_peer_feed (peer, line->str, line->len);
}

static void
check_calls (FuzzWorld *world, Script *script)
{
  for (guint i = 0; i < FUZZ_MAX_PEERS; i++)
    if (world->peers[i].ep != NULL)
      FUZZ_ASSERT (unanswered (script, i) == g_queue_get_length (&world->peers[i].ep->calls_out));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data, *end = p + size;
  FuzzWorld world;
  Script script = { 0 };
  guint steps = 0;

  fuzz_init ();
  fuzz_world_init (&world);
  juno_broker_set_max_calls_in_flight (world.broker, 3); /* reachable by the fuzzer */
  script.calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  world.observe = observe;
  world.data = &script;

  while (p < end && steps++ < MAX_STEPS)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      const char *line_end = nl != NULL ? nl : end;
      guint index = (guchar) p[0] % FUZZ_MAX_PEERS;

      if (line_end - p >= 2 && p[1] == '!')
        {
          fuzz_peer_disconnect (&world.peers[index]);
          script.generation[index]++;
          g_clear_pointer (&script.last_token[index], g_free);
        }
      else if (line_end - p >= 2 && line_end - p - 2 <= MAX_LINE)
        send_line (&world, &script, fuzz_peer_connect (&world, index), p + 2, (gsize) (line_end - p - 2));
      check_calls (&world, &script);
      p = nl != NULL ? nl + 1 : end;
    }

  fuzz_world_finish (&world);
  for (guint i = 0; i < FUZZ_MAX_PEERS; i++)
    g_free (script.last_token[i]);
  g_hash_table_unref (script.calls);
  return 0;
}
