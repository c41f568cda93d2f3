/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker-fixture.c: see broker-fixture.h */
#include "broker-fixture.h"

GPtrArray *logged_warnings;

/* ------------------------------------------------------------------ */
/* Fake peers                                                          */
/* ------------------------------------------------------------------ */

static void
fake_send (gpointer user_data, const char *data, gsize len)
{
  FakePeer *peer = user_data;
  guint64 seq = ++peer->fixture->seq;

  /* one whole line per call */
  g_assert_cmpuint (len, >, 1);
  g_assert_cmpint (data[len - 1], ==, '\n');
  g_assert_null (memchr (data, '\n', len - 1));
  g_ptr_array_add (peer->lines, g_strndup (data, len - 1));
  g_array_append_val (peer->seqs, seq);
  peer->bytes += len;
}

static const JunoEndpointFuncs fake_funcs = {
  .send = fake_send,
};

static void
peer_free (gpointer data)
{
  FakePeer *peer = data;

  g_ptr_array_unref (peer->lines);
  g_array_unref (peer->seqs);
  g_free (peer);
}

FakePeer *
peer_new (Fixture *f)
{
  FakePeer *peer = g_new0 (FakePeer, 1);

  peer->fixture = f;
  peer->lines = g_ptr_array_new_with_free_func (g_free);
  peer->seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_ptr_array_add (f->peers, peer);
  peer->ep = juno_broker_add_endpoint (f->broker, &fake_funcs, peer, "fake");
  g_assert_nonnull (peer->ep);
  peer->id = juno_endpoint_get_id (peer->ep);
  g_assert_cmpstr (juno_endpoint_get_transport (peer->ep), ==, "fake");
  return peer;
}

void
peer_remove (FakePeer *peer)
{
  g_assert_nonnull (peer->ep);
  juno_broker_remove_endpoint (peer->fixture->broker, peer->ep);
  peer->ep = NULL;
}

char *
peer_id_string (FakePeer *peer)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, peer->id);
}

void
feed_raw (FakePeer *peer, const char *line, gsize len)
{
  g_autofree char *copy = g_memdup2 (line, len > 0 ? len : 1); /* unterminated */

  g_assert_nonnull (peer->ep);
  peer->fixture->lines_fed++;
  peer->fixture->bytes_fed += len + 1;
  peer->fed++;
  juno_broker_handle_line (peer->fixture->broker, peer->ep, copy, len);
}

/* Feeds one line written with single quotes for double quotes. */
void
feed (FakePeer *peer, const char *line)
{
  g_autofree char *text = g_strdup (line);

  g_strdelimit (text, "'", '"');
  feed_raw (peer, text, strlen (text));
}

void G_GNUC_PRINTF (2, 3)
feedf (FakePeer *peer, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  feed (peer, line);
}

guint
pending (FakePeer *peer)
{
  return peer->lines->len - peer->next;
}

void
assert_no_output (FakePeer *peer)
{
  if (pending (peer) > 0)
    g_test_message ("unexpected line to connection %" G_GUINT64_FORMAT ": %s", peer->id,
                    (const char *) g_ptr_array_index (peer->lines, peer->next));
  g_assert_cmpuint (pending (peer), ==, 0);
}

void
assert_quiet (Fixture *f)
{
  for (guint i = 0; i < f->peers->len; i++)
    assert_no_output (g_ptr_array_index (f->peers, i));
}

/* ------------------------------------------------------------------ */
/* JSON checks                                                         */
/* ------------------------------------------------------------------ */

JsonNode *
parse_json (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* The next line sent to @peer, as a JSON object. */
static JsonObject *
pop (FakePeer *peer)
{
  const char *line;
  g_autoptr(JsonNode) node = NULL;
  JunoMessage msg;

  g_assert_cmpuint (pending (peer), >, 0);
  line = g_ptr_array_index (peer->lines, peer->next++);
  g_test_message ("%" G_GUINT64_FORMAT " <- %s", peer->id, line);
  /* strict RFC 8259 (json-glib alone would let faults through) */
  g_assert_cmpint (juno_message_parse (line, strlen (line), &msg), ==, JUNO_PARSE_OK);
  node = parse_json (line);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

guint64
last_seq (FakePeer *peer)
{
  g_assert_cmpuint (peer->next, >, 0);
  return g_array_index (peer->seqs, guint64, peer->next - 1);
}

JsonNode *
get_member (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    g_test_message ("member '%s' is missing", name);
  g_assert_nonnull (node);
  return node;
}

static gint64
get_int (JsonObject *object, const char *name)
{
  JsonNode *node = get_member (object, name);

  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_INT64);
  return json_node_get_int (node);
}

const char *
get_str (JsonObject *object, const char *name)
{
  JsonNode *node = get_member (object, name);

  g_assert_true (JSON_NODE_HOLDS_VALUE (node));
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_STRING);
  return json_node_get_string (node);
}

static void
assert_json_equal (JsonNode *node, const char *expected)
{
  g_autofree char *squoted = g_strdup (expected);
  g_autoptr(JsonNode) want = NULL;
  g_autofree char *got = json_to_string (node, FALSE);

  g_strdelimit (squoted, "'", '"');
  want = parse_json (squoted);
  if (!json_node_equal (node, want))
    g_test_message ("got %s, want %s", got, squoted);
  g_assert_true (json_node_equal (node, want));
}

void
assert_member_json (JsonObject *object, const char *name, const char *expected)
{
  assert_json_equal (get_member (object, name), expected);
}

/* @names: the object's exact member names, comma-separated. */
void
assert_members (JsonObject *object, const char *names)
{
  g_auto(GStrv) want = g_strsplit (names, ",", -1);

  g_assert_cmpuint (json_object_get_size (object), ==, g_strv_length (want));
  for (guint i = 0; want[i] != NULL; i++)
    {
      if (!json_object_has_member (object, want[i]))
        g_test_message ("member '%s' is missing", want[i]);
      g_assert_true (json_object_has_member (object, want[i]));
    }
}

/* Pops a message of @type answering @request_id (NULL: any broker id). */
JsonObject *
pop_message (FakePeer *peer, gint64 type, const char *request_id)
{
  JsonObject *object = pop (peer);
  const char *rid = get_str (object, "requestId");

  g_assert_cmpint (get_int (object, "type"), ==, type);
  if (request_id != NULL)
    g_assert_cmpstr (rid, ==, request_id);
  else
    g_assert_cmpstr (rid, !=, "");
  return object;
}

void
pop_reply (FakePeer *peer, gint64 type, const char *request_id)
{
  g_autoptr(JsonObject) object = pop_message (peer, type, request_id);

  assert_members (object, "requestId,type");
}

void
pop_error (FakePeer *peer, const char *request_id, gint64 code)
{
  g_autoptr(JsonObject) object = pop_message (peer, 0, request_id);

  assert_members (object, "requestId,type,error");
  g_assert_cmpint (get_int (object, "error"), ==, code);
}

/* A hook delivery (type 8 with a broker-made requestId). */
void
pop_hook (FakePeer *peer, const char *hook, const char *data)
{
  g_autoptr(JsonObject) object = pop_message (peer, 8, NULL);

  assert_members (object, "requestId,type,hook,data");
  g_assert_cmpstr (get_str (object, "hook"), ==, hook);
  assert_member_json (object, "data", data);
}

/* Pops a forwarded call and returns its token (free it). */
char *
pop_call (FakePeer *peer, const char *function, const char *arguments, const char *caller)
{
  g_autoptr(JsonObject) object = pop_message (peer, 3, NULL);
  const char *token = get_str (object, "requestId");

  assert_members (object, "requestId,type,function,arguments,caller");
  g_assert_true (token[0] == 'j' && token[1] != '\0' && strspn (token + 1, "0123456789") == strlen (token + 1));
  g_assert_cmpstr (get_str (object, "function"), ==, function);
  assert_member_json (object, "arguments", arguments);
  g_assert_cmpstr (get_str (object, "caller"), ==, caller);
  return g_strdup (token);
}

void
pop_response (FakePeer *peer, const char *request_id, const char *data)
{
  g_autoptr(JsonObject) object = pop_message (peer, 4, request_id);

  assert_members (object, "requestId,type,data");
  assert_member_json (object, "data", data);
}

/* ------------------------------------------------------------------ */
/* Modules                                                             */
/* ------------------------------------------------------------------ */

void
register_module (FakePeer *peer, const char *id, const char *version, const char *deps)
{
  if (deps != NULL)
    feedf (peer, "{'requestId':'reg-%s','type':1,'moduleId':'%s','version':'%s','dependencies':%s}",
           id, id, version, deps);
  else
    feedf (peer, "{'requestId':'reg-%s','type':1,'moduleId':'%s','version':'%s'}", id, id, version);
  {
    g_autofree char *rid = g_strdup_printf ("reg-%s", id);

    pop_reply (peer, 2, rid);
  }
}

/* A new connection with an active module @id (no dependencies). */
FakePeer *
add_module (Fixture *f, const char *id)
{
  FakePeer *peer = peer_new (f);

  register_module (peer, id, "1.0.0", NULL);
  pop_hook (peer, "juno.activated", "{}");
  assert_no_output (peer);
  return peer;
}

void
declare (FakePeer *peer, const char *function)
{
  g_autoptr(JsonObject) object = NULL;

  feedf (peer, "{'requestId':'decl-%s','type':9,'function':'%s'}", function, function);
  {
    g_autofree char *rid = g_strdup_printf ("decl-%s", function);

    object = pop_message (peer, 10, rid);
  }
  assert_members (object, "requestId,type,function");
  g_assert_cmpstr (get_str (object, "function"), ==, function);
}

void
listen_hook (FakePeer *peer, const char *hook)
{
  g_autofree char *rid = g_strdup_printf ("listen-%s", hook);

  feedf (peer, "{'requestId':'%s','type':5,'hook':'%s'}", rid, hook);
  pop_reply (peer, 6, rid);
}

/* The module object of @id as the broker reports it, or NULL. */
JsonObject *
module_info (Fixture *f, const char *id)
{
  g_autofree char *json = juno_broker_dup_module_json (f->broker, id);
  g_autoptr(JsonNode) node = NULL;

  if (json == NULL)
    return NULL;
  node = parse_json (json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

gboolean
module_is_active (Fixture *f, const char *id)
{
  g_autoptr(JsonObject) info = module_info (f, id);
  JsonNode *node;

  g_assert_nonnull (info);
  node = get_member (info, "registered");
  g_assert_cmpint (json_node_get_value_type (node), ==, G_TYPE_BOOLEAN);
  return json_node_get_boolean (node);
}

/* ------------------------------------------------------------------ */
/* Main loop                                                           */
/* ------------------------------------------------------------------ */

static gboolean
on_guard_expired (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until @peer has a line to pop; fails if
 * none comes within GUARD_SECONDS. */
void
wait_for_output (FakePeer *peer)
{
  gboolean expired = FALSE;
  guint guard = g_timeout_add_seconds (GUARD_SECONDS, on_guard_expired, &expired);

  while (pending (peer) == 0 && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (expired);
  g_source_remove (guard);
}

void
iterate_pending_sources (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

static void
add_event (Fixture *f, char *event)
{
  g_ptr_array_add (f->events, event);
}

static void
on_module_connected (JunoBroker *broker, guint64 id, Fixture *f)
{
  add_event (f, g_strdup_printf ("connected %" G_GUINT64_FORMAT, id));
}

static void
on_module_registered (JunoBroker *broker, const char *module_id, guint64 id, Fixture *f)
{
  add_event (f, g_strdup_printf ("registered %s %" G_GUINT64_FORMAT, module_id, id));
}

static void
on_module_activated (JunoBroker *broker, const char *module_id, Fixture *f)
{
  add_event (f, g_strdup_printf ("activated %s", module_id));
}

static void
on_module_deactivated (JunoBroker *broker, const char *module_id, Fixture *f)
{
  add_event (f, g_strdup_printf ("deactivated %s", module_id));
}

static void
on_module_disconnected (JunoBroker *broker, guint64 id, const char *module_id, Fixture *f)
{
  add_event (f, g_strdup_printf ("disconnected %" G_GUINT64_FORMAT " %s", id, module_id ? module_id : "-"));
}

static void
on_function_declared (JunoBroker *broker, const char *module_id, const char *function, Fixture *f)
{
  add_event (f, g_strdup_printf ("declared %s %s", module_id, function));
}

static void
on_hook_registered (JunoBroker *broker, const char *module_id, const char *hook, Fixture *f)
{
  add_event (f, g_strdup_printf ("listening %s %s", module_id, hook));
}

static void
on_hook_triggered (JunoBroker *broker, const char *hook, const char *data, Fixture *f)
{
  add_event (f, g_strdup_printf ("triggered %s %s", hook, data));
}

void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->broker = juno_broker_new ();
  f->peers = g_ptr_array_new_with_free_func (peer_free);
  f->events = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_set_size (logged_warnings, 0);

  g_signal_connect (f->broker, "module-connected", G_CALLBACK (on_module_connected), f);
  g_signal_connect (f->broker, "module-registered", G_CALLBACK (on_module_registered), f);
  g_signal_connect (f->broker, "module-activated", G_CALLBACK (on_module_activated), f);
  g_signal_connect (f->broker, "module-deactivated", G_CALLBACK (on_module_deactivated), f);
  g_signal_connect (f->broker, "module-disconnected", G_CALLBACK (on_module_disconnected), f);
  g_signal_connect (f->broker, "function-declared", G_CALLBACK (on_function_declared), f);
  g_signal_connect (f->broker, "hook-registered", G_CALLBACK (on_hook_registered), f);
  g_signal_connect (f->broker, "hook-triggered", G_CALLBACK (on_hook_triggered), f);
}

/* The broker's counters agree with what the fake peers fed and saw. */
static void
check_counters (Fixture *f)
{
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  guint64 lines = 0, bytes = 0;

  for (guint i = 0; i < f->peers->len; i++)
    {
      FakePeer *peer = g_ptr_array_index (f->peers, i);

      lines += peer->lines->len;
      bytes += peer->bytes;
      if (peer->ep != NULL)
        {
          const JunoEndpointStats *es = juno_endpoint_get_stats (peer->ep);

          g_assert_cmpuint (es->messages_out, ==, peer->lines->len);
          g_assert_cmpuint (es->bytes_out, ==, peer->bytes);
          g_assert_cmpuint (es->messages_in, ==, peer->fed);
        }
    }
  /* plus what in-process calls (juno_broker_call_function) fed and got */
  lines += f->broker->internal->stats.messages_out + f->client_out;
  bytes += f->broker->internal->stats.bytes_out + f->client_bytes_out;
  g_assert_cmpuint (stats->messages_out, ==, lines);
  g_assert_cmpuint (stats->bytes_out, ==, bytes);
  g_assert_cmpuint (stats->messages_in, ==, f->lines_fed + f->broker->internal->stats.messages_in + f->client_in);
  g_assert_cmpuint (stats->bytes_in, ==, f->bytes_fed + f->broker->internal->stats.bytes_in + f->client_bytes_in);
  g_assert_cmpuint (stats->calls_failed, <=, stats->calls_routed);
  g_assert_cmpuint (stats->active_modules, <=, stats->modules);
  g_assert_cmpuint (stats->modules, <=, stats->connections);
}

void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  JunoBroker *broker = f->broker;
  const JunoStats *stats = juno_broker_get_stats (broker);

  check_counters (f);
  for (guint i = 0; i < f->peers->len; i++)
    {
      FakePeer *peer = g_ptr_array_index (f->peers, i);

      if (peer->ep != NULL)
        peer_remove (peer);
    }

  /* nothing a connection owned outlives it */
  g_assert_cmpuint (stats->connections, ==, 0);
  g_assert_cmpuint (stats->modules, ==, 0);
  g_assert_cmpuint (stats->active_modules, ==, 0);
  g_assert_cmpuint (stats->connections_total, ==, f->peers->len);
  g_assert_cmpuint (g_hash_table_size (broker->endpoints), ==, 0);
  g_assert_cmpuint (g_hash_table_size (broker->modules), ==, 1); /* juno */
  g_assert_true (g_hash_table_lookup (broker->modules, "juno") == broker->builtin);
  g_assert_cmpuint (g_hash_table_size (broker->dependents), ==, 0);
  g_assert_cmpuint (g_hash_table_size (broker->listeners), ==, 0);
  g_assert_cmpuint (g_hash_table_size (broker->calls), ==, 0);
  g_assert_cmpuint (g_queue_get_length (&broker->deadlines), ==, 0);
  g_assert_cmpuint (g_hash_table_size (broker->internal->client_calls), ==, 0);

  for (guint i = 0; i < logged_warnings->len; i++)
    g_test_message ("warning: %s", (const char *) g_ptr_array_index (logged_warnings, i));
  g_assert_cmpuint (logged_warnings->len, ==, f->expected_warnings);

  g_assert_finalize_object (broker);
  g_ptr_array_unref (f->peers);
  g_ptr_array_unref (f->events);
}

void
assert_events (Fixture *f, const char *const *expected)
{
  guint n = g_strv_length ((char **) expected);

  for (guint i = 0; i < f->events->len; i++)
    g_test_message ("event %u: %s", i, (const char *) g_ptr_array_index (f->events, i));
  for (guint i = 0; i < MIN (n, f->events->len); i++)
    g_assert_cmpstr (g_ptr_array_index (f->events, i), ==, expected[i]);
  g_assert_cmpuint (f->events->len, ==, n);
}

guint
count_events (Fixture *f, const char *event)
{
  guint n = 0;

  for (guint i = 0; i < f->events->len; i++)
    if (g_strcmp0 (g_ptr_array_index (f->events, i), event) == 0)
      n++;
  return n;
}


GLogWriterOutput
test_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if ((level & G_LOG_LEVEL_MASK) == G_LOG_LEVEL_WARNING)
    {
      for (gsize i = 0; i < n_fields; i++)
        if (g_str_equal (fields[i].key, "MESSAGE"))
          g_ptr_array_add (logged_warnings,
                           fields[i].length < 0 ? g_strdup (fields[i].value)
                                                : g_strndup (fields[i].value, (gsize) fields[i].length));
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* g_test_init, plus the log writer that collects warnings */
void
broker_test_init (int *argc, char ***argv)
{
  g_test_init (argc, argv, NULL);
  logged_warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (test_log_writer, NULL, NULL);
}

int
broker_test_run (void)
{
  int status = g_test_run ();

  g_ptr_array_unref (logged_warnings);
  return status;
}
