/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-broker.c: the broker core through fake endpoints
 *
 * A FakePeer is an endpoint whose send function keeps every line it is
 * given; tests feed lines as a module would and pop what came back, parsed
 * with json-glib (and checked against juno's own RFC 8259 scanner, since
 * json-glib is lenient). Lines in this file are written with single quotes
 * for readability; feed() turns them into double quotes.
 *
 * Every test ends in fixture_tear_down, which checks the broker's counters
 * against what the fake peers saw, removes every endpoint, checks that the
 * broker's tables are empty again and that the broker is finalized, and
 * fails on any unexpected warning. Timeouts run on the default main
 * context with a guard timer, never a sleep.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "juno-broker-private.h"

#define GUARD_SECONDS 5
#define SHORT_TIMEOUT_USEC (50 * 1000)

typedef struct _Fixture Fixture;

typedef struct
{
  Fixture *fixture;
  JunoEndpoint *ep;   /* NULL once removed */
  guint64 id;
  GPtrArray *lines;   /* char *: every line sent to this peer, without '\n' */
  GArray *seqs;       /* guint64: the global order of each line */
  guint next;         /* the first line not yet popped */
  guint64 bytes;      /* bytes received, '\n' included */
  guint64 fed;        /* lines fed by this peer */
} FakePeer;

struct _Fixture
{
  JunoBroker *broker;
  GPtrArray *peers;   /* FakePeer, owned */
  GPtrArray *events;  /* char *: the broker's signals, in order */
  guint64 seq;
  guint64 lines_fed;
  guint64 bytes_fed;
  guint expected_warnings;
};

/* Warnings the core logged (juno_broker_log_peer at WARNING level); a test
 * must expect each one. Criticals stay fatal. */
static GPtrArray *logged_warnings;

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

static FakePeer *
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

static void
peer_remove (FakePeer *peer)
{
  g_assert_nonnull (peer->ep);
  juno_broker_remove_endpoint (peer->fixture->broker, peer->ep);
  peer->ep = NULL;
}

static char *
peer_id_string (FakePeer *peer)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, peer->id);
}

static void
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
static void
feed (FakePeer *peer, const char *line)
{
  g_autofree char *text = g_strdup (line);

  g_strdelimit (text, "'", '"');
  feed_raw (peer, text, strlen (text));
}

static void G_GNUC_PRINTF (2, 3)
feedf (FakePeer *peer, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  feed (peer, line);
}

static guint
pending (FakePeer *peer)
{
  return peer->lines->len - peer->next;
}

static void
assert_no_output (FakePeer *peer)
{
  if (pending (peer) > 0)
    g_test_message ("unexpected line to connection %" G_GUINT64_FORMAT ": %s", peer->id,
                    (const char *) g_ptr_array_index (peer->lines, peer->next));
  g_assert_cmpuint (pending (peer), ==, 0);
}

static void
assert_quiet (Fixture *f)
{
  for (guint i = 0; i < f->peers->len; i++)
    assert_no_output (g_ptr_array_index (f->peers, i));
}

/* ------------------------------------------------------------------ */
/* JSON checks                                                         */
/* ------------------------------------------------------------------ */

static JsonNode *
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

static guint64
last_seq (FakePeer *peer)
{
  g_assert_cmpuint (peer->next, >, 0);
  return g_array_index (peer->seqs, guint64, peer->next - 1);
}

static JsonNode *
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

static const char *
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

static void
assert_member_json (JsonObject *object, const char *name, const char *expected)
{
  assert_json_equal (get_member (object, name), expected);
}

/* @names: the object's exact member names, comma-separated. */
static void
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
static JsonObject *
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

static void
pop_reply (FakePeer *peer, gint64 type, const char *request_id)
{
  g_autoptr(JsonObject) object = pop_message (peer, type, request_id);

  assert_members (object, "requestId,type");
}

static void
pop_error (FakePeer *peer, const char *request_id, gint64 code)
{
  g_autoptr(JsonObject) object = pop_message (peer, 0, request_id);

  assert_members (object, "requestId,type,error");
  g_assert_cmpint (get_int (object, "error"), ==, code);
}

/* A hook delivery (type 8 with a broker-made requestId). */
static void
pop_hook (FakePeer *peer, const char *hook, const char *data)
{
  g_autoptr(JsonObject) object = pop_message (peer, 8, NULL);

  assert_members (object, "requestId,type,hook,data");
  g_assert_cmpstr (get_str (object, "hook"), ==, hook);
  assert_member_json (object, "data", data);
}

/* Pops a forwarded call and returns its token (free it). */
static char *
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

static void
pop_response (FakePeer *peer, const char *request_id, const char *data)
{
  g_autoptr(JsonObject) object = pop_message (peer, 4, request_id);

  assert_members (object, "requestId,type,data");
  assert_member_json (object, "data", data);
}

/* ------------------------------------------------------------------ */
/* Modules                                                             */
/* ------------------------------------------------------------------ */

static void
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
static FakePeer *
add_module (Fixture *f, const char *id)
{
  FakePeer *peer = peer_new (f);

  register_module (peer, id, "1.0.0", NULL);
  pop_hook (peer, "juno.activated", "{}");
  assert_no_output (peer);
  return peer;
}

static void
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

static void
listen_hook (FakePeer *peer, const char *hook)
{
  g_autofree char *rid = g_strdup_printf ("listen-%s", hook);

  feedf (peer, "{'requestId':'%s','type':5,'hook':'%s'}", rid, hook);
  pop_reply (peer, 6, rid);
}

/* The module object of @id as the broker reports it, or NULL. */
static JsonObject *
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

static gboolean
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
static void
wait_for_output (FakePeer *peer)
{
  gboolean expired = FALSE;
  guint guard = g_timeout_add_seconds (GUARD_SECONDS, on_guard_expired, &expired);

  while (pending (peer) == 0 && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (expired);
  g_source_remove (guard);
}

static void
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

static void
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
  lines += f->broker->internal->stats.messages_out;
  bytes += f->broker->internal->stats.bytes_out;
  g_assert_cmpuint (stats->messages_out, ==, lines);
  g_assert_cmpuint (stats->bytes_out, ==, bytes);
  g_assert_cmpuint (stats->messages_in, ==, f->lines_fed + f->broker->internal->stats.messages_in);
  g_assert_cmpuint (stats->bytes_in, ==, f->bytes_fed + f->broker->internal->stats.bytes_in);
  g_assert_cmpuint (stats->calls_failed, <=, stats->calls_routed);
  g_assert_cmpuint (stats->active_modules, <=, stats->modules);
  g_assert_cmpuint (stats->modules, <=, stats->connections);
}

static void
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

static void
assert_events (Fixture *f, const char *const *expected)
{
  guint n = g_strv_length ((char **) expected);

  for (guint i = 0; i < f->events->len; i++)
    g_test_message ("event %u: %s", i, (const char *) g_ptr_array_index (f->events, i));
  for (guint i = 0; i < MIN (n, f->events->len); i++)
    g_assert_cmpstr (g_ptr_array_index (f->events, i), ==, expected[i]);
  g_assert_cmpuint (f->events->len, ==, n);
}

static guint
count_events (Fixture *f, const char *event)
{
  guint n = 0;

  for (guint i = 0; i < f->events->len; i++)
    if (g_strcmp0 (g_ptr_array_index (f->events, i), event) == 0)
      n++;
  return n;
}

/* ------------------------------------------------------------------ */
/* Error replies, table-driven                                         */
/* ------------------------------------------------------------------ */

typedef enum
{
  SENDER_NEW,      /* connected, not registered */
  SENDER_ACTIVE,   /* registered as "me", active */
  SENDER_INACTIVE, /* registered as "me", waiting for module "missing" */
} SenderState;

#define NO_REPLY (-1)
#define ID_129 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Sent into a world with an active module "svc" that declared "fn" and a
 * registered but inactive module "sleepy" that declared "fn" too. */
static const struct ErrorCase
{
  const char *name;
  SenderState sender;
  const char *line;  /* single quotes for double quotes, unless raw */
  gsize raw_len;     /* > 0: the line is fed verbatim, this long */
  guint depth;       /* > 0: a "data" value nested this deep is appended */
  const char *request_id;
  int error;         /* NO_REPLY: the line is dropped without an answer */
} error_cases[] = {
  /* the checks every line goes through, in order */
  { "not-json", SENDER_NEW, "{'requestId':'r','type':1", 0, 0, NULL, NO_REPLY },
  { "not-json-single-quotes", SENDER_ACTIVE, "{'requestId':'r','type':9}", 26, 0, NULL, NO_REPLY },
  { "empty-line", SENDER_ACTIVE, "", 0, 0, NULL, NO_REPLY },
  { "invalid-utf8", SENDER_NEW, "{\"requestId\":\"\xff\",\"type\":1}", 25, 0, "undefined", 0 },
  { "overlong-utf8", SENDER_ACTIVE, "{\"requestId\":\"\xc0\xaf\",\"type\":9}", 26, 0, "undefined", 0 },
  { "nul-byte", SENDER_ACTIVE, "{\"requestId\":\"a\0\",\"type\":9}", 25, 0, "undefined", 0 },
  { "too-deep", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':'ev','data':", 0, JUNO_JSON_MAX_DEPTH, "undefined", 0 },
  { "too-deep-unterminated", SENDER_ACTIVE, "[", 0, JUNO_JSON_MAX_DEPTH, "undefined", 0 },
  { "not-object-array", SENDER_NEW, "[{'requestId':'r','type':1}]", 0, 0, "undefined", 0 },
  { "not-object-string", SENDER_ACTIVE, "'x'", 0, 0, "undefined", 0 },
  { "not-object-null", SENDER_ACTIVE, "null", 0, 0, "undefined", 0 },
  { "request-id-missing", SENDER_NEW, "{'type':1,'moduleId':'x','version':'1.0.0'}", 0, 0, "undefined", 1 },
  { "request-id-number", SENDER_ACTIVE, "{'requestId':5,'type':9,'function':'f'}", 0, 0, "undefined", 1 },
  { "request-id-null", SENDER_ACTIVE, "{'requestId':null,'type':9,'function':'f'}", 0, 0, "undefined", 1 },
  { "request-id-object", SENDER_ACTIVE, "{'requestId':{'a':'b'},'type':9}", 0, 0, "undefined", 1 },
  { "request-id-before-type", SENDER_ACTIVE, "{'type':99}", 0, 0, "undefined", 1 },
  { "type-missing", SENDER_ACTIVE, "{'requestId':'r'}", 0, 0, "r", 2 },
  { "type-string", SENDER_ACTIVE, "{'requestId':'r','type':'9','function':'f'}", 0, 0, "r", 2 },
  { "type-fraction", SENDER_ACTIVE, "{'requestId':'r','type':9.0,'function':'f'}", 0, 0, "r", 2 },
  { "type-exponent", SENDER_ACTIVE, "{'requestId':'r','type':9e0,'function':'f'}", 0, 0, "r", 2 },
  { "type-negative", SENDER_ACTIVE, "{'requestId':'r','type':-1}", 0, 0, "r", 2 },
  { "type-eleven", SENDER_ACTIVE, "{'requestId':'r','type':11}", 0, 0, "r", 2 },
  { "type-huge", SENDER_ACTIVE, "{'requestId':'r','type':99999999999999999999}", 0, 0, "r", 2 },
  { "type-null", SENDER_NEW, "{'requestId':'r','type':null}", 0, 0, "r", 2 },
  { "type-2-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':2}", 0, 0, "r", 2 },
  { "type-6-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':6}", 0, 0, "r", 2 },
  { "type-8-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':8,'hook':'svc.ev','data':{}}", 0, 0, "r", 2 },
  { "type-10-broker-only", SENDER_ACTIVE, "{'requestId':'r','type':10,'function':'fn'}", 0, 0, "r", 2 },
  { "request-id-echoed-verbatim", SENDER_ACTIVE, "{'requestId':'a\\\"b\\\\c\\u00e9','type':99}", 0, 0, "a\"b\\c\xc3\xa9", 2 },
  { "request-id-empty", SENDER_ACTIVE, "{'requestId':'','type':99}", 0, 0, "", 2 },
  /* register (1) */
  { "register-twice", SENDER_ACTIVE, "{'requestId':'r','type':1,'moduleId':'other','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-twice-inactive", SENDER_INACTIVE, "{'requestId':'r','type':1,'moduleId':'other','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-module-id-missing", SENDER_NEW, "{'requestId':'r','type':1,'version':'1.0.0'}", 0, 0, "r", 0 },
  { "register-module-id-number", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':5,'version':'1.0.0'}", 0, 0, "r", 0 },
  { "register-module-id-empty", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-dot", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a.b','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-space", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a b','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-slash", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a/b','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-nul", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a\\u0000','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-non-ascii", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'\\u00e9','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-129", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'" ID_129 "','version':'1.0.0'}", 0, 0, "r", 6 },
  { "register-module-id-before-version", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'a.b'}", 0, 0, "r", 6 },
  { "register-juno", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'juno','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'svc','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken-by-inactive", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'sleepy','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken-escaped", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'\\u0073vc','version':'1.0.0'}", 0, 0, "r", 7 },
  { "register-taken-before-version", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'svc'}", 0, 0, "r", 7 },
  { "register-version-missing", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x'}", 0, 0, "r", 0 },
  { "register-version-number", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':1}", 0, 0, "r", 0 },
  { "register-version-short", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.2'}", 0, 0, "r", 0 },
  { "register-version-v", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'v1.0.0'}", 0, 0, "r", 0 },
  { "register-version-nul", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0\\u0000'}", 0, 0, "r", 0 },
  { "register-deps-array", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':[]}", 0, 0, "r", 0 },
  { "register-deps-string", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':'svc'}", 0, 0, "r", 0 },
  { "register-deps-value-number", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':1}}", 0, 0, "r", 0 },
  { "register-deps-value-null", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':null}}", 0, 0, "r", 0 },
  { "register-deps-bad-requirement", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'svc':'one'}}", 0, 0, "r", 0 },
  { "register-deps-bad-name", SENDER_NEW, "{'requestId':'r','type':1,'moduleId':'x','version':'1.0.0','dependencies':{'a.b':'1.0.0'}}", 0, 0, "r", 0 },
  /* not registered or not active (3) */
  { "declare-unregistered", SENDER_NEW, "{'requestId':'r','type':9,'function':'f'}", 0, 0, "r", 3 },
  /* a missing or ill-typed key is found before the module's state */
  { "declare-unregistered-no-function", SENDER_NEW, "{'requestId':'r','type':9}", 0, 0, "r", 0 },
  { "declare-unregistered-bad-name", SENDER_NEW, "{'requestId':'r','type':9,'function':'a.b'}", 0, 0, "r", 3 },
  { "listen-unregistered-no-hook", SENDER_NEW, "{'requestId':'r','type':5}", 0, 0, "r", 0 },
  { "listen-unregistered-bad-hook", SENDER_NEW, "{'requestId':'r','type':5,'hook':'nodot'}", 0, 0, "r", 3 },
  { "trigger-unregistered-hook-number", SENDER_NEW, "{'requestId':'r','type':7,'hook':1}", 0, 0, "r", 0 },
  { "trigger-unregistered-dotted", SENDER_NEW, "{'requestId':'r','type':7,'hook':'a.b'}", 0, 0, "r", 3 },
  { "call-unregistered-function-number", SENDER_NEW, "{'requestId':'r','type':3,'function':[]}", 0, 0, "r", 0 },
  { "call-unregistered-bad-function", SENDER_NEW, "{'requestId':'r','type':3,'function':'nodot'}", 0, 0, "r", 3 },
  { "call-unregistered", SENDER_NEW, "{'requestId':'r','type':3,'function':'svc.fn'}", 0, 0, "r", 3 },
  { "listen-unregistered", SENDER_NEW, "{'requestId':'r','type':5,'hook':'svc.ev'}", 0, 0, "r", 3 },
  { "trigger-unregistered", SENDER_NEW, "{'requestId':'r','type':7,'hook':'ev'}", 0, 0, "r", 3 },
  { "declare-inactive", SENDER_INACTIVE, "{'requestId':'r','type':9,'function':'f'}", 0, 0, "r", 3 },
  { "call-inactive", SENDER_INACTIVE, "{'requestId':'r','type':3,'function':'svc.fn'}", 0, 0, "r", 3 },
  { "call-inactive-no-function", SENDER_INACTIVE, "{'requestId':'r','type':3}", 0, 0, "r", 0 },
  { "call-inactive-unknown-module", SENDER_INACTIVE, "{'requestId':'r','type':3,'function':'nobody.fn'}", 0, 0, "r", 3 },
  { "listen-inactive", SENDER_INACTIVE, "{'requestId':'r','type':5,'hook':'svc.ev'}", 0, 0, "r", 3 },
  { "trigger-inactive", SENDER_INACTIVE, "{'requestId':'r','type':7,'hook':'ev'}", 0, 0, "r", 3 },
  /* declare (9) */
  { "declare-function-missing", SENDER_ACTIVE, "{'requestId':'r','type':9}", 0, 0, "r", 0 },
  { "declare-function-number", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':1}", 0, 0, "r", 0 },
  { "declare-function-dotted", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':'me.f'}", 0, 0, "r", 5 },
  { "declare-function-empty", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':''}", 0, 0, "r", 5 },
  { "declare-function-dash", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':'a-b'}", 0, 0, "r", 5 },
  { "declare-function-nul", SENDER_ACTIVE, "{'requestId':'r','type':9,'function':'f\\u0000'}", 0, 0, "r", 5 },
  /* call (3) */
  { "call-function-missing", SENDER_ACTIVE, "{'requestId':'r','type':3}", 0, 0, "r", 0 },
  { "call-function-number", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':3}", 0, 0, "r", 0 },
  { "call-no-dot", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svcfn'}", 0, 0, "r", 5 },
  { "call-two-dots", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.fn.x'}", 0, 0, "r", 5 },
  { "call-empty-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'.fn'}", 0, 0, "r", 5 },
  { "call-empty-function", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.'}", 0, 0, "r", 5 },
  { "call-bad-function-char", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.f-n'}", 0, 0, "r", 5 },
  { "call-bad-module-char", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'s/vc.fn'}", 0, 0, "r", 5 },
  { "call-malformed-unknown-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'nobody.f-n'}", 0, 0, "r", 5 },
  { "call-unknown-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'nobody.fn'}", 0, 0, "r", 4 },
  { "call-inactive-module", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'sleepy.fn'}", 0, 0, "r", 4 },
  { "call-undeclared", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'svc.other'}", 0, 0, "r", 5 },
  { "call-juno-undeclared", SENDER_ACTIVE, "{'requestId':'r','type':3,'function':'juno.nope'}", 0, 0, "r", 5 },
  /* listen_hook (5) */
  { "listen-hook-missing", SENDER_ACTIVE, "{'requestId':'r','type':5}", 0, 0, "r", 0 },
  { "listen-hook-number", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':5}", 0, 0, "r", 0 },
  { "listen-no-dot", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'svc'}", 0, 0, "r", 0 },
  { "listen-two-dots", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'svc.a.b'}", 0, 0, "r", 0 },
  { "listen-empty-hook", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'svc.'}", 0, 0, "r", 0 },
  { "listen-empty-module", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'.ev'}", 0, 0, "r", 0 },
  { "listen-bad-module", SENDER_ACTIVE, "{'requestId':'r','type':5,'hook':'s v.ev'}", 0, 0, "r", 0 },
  /* trigger (7) */
  { "trigger-hook-missing", SENDER_ACTIVE, "{'requestId':'r','type':7}", 0, 0, "r", 0 },
  { "trigger-hook-number", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':7}", 0, 0, "r", 0 },
  { "trigger-hook-empty", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':''}", 0, 0, "r", 0 },
  { "trigger-hook-dotted", SENDER_ACTIVE, "{'requestId':'r','type':7,'hook':'me.ev'}", 0, 0, "r", 0 },
  /* answers (4, 0) that match no call of the sender */
  { "answer-unknown-token", SENDER_ACTIVE, "{'requestId':'j999','type':4,'data':1}", 0, 0, "j999", 1 },
  { "answer-not-a-token", SENDER_ACTIVE, "{'requestId':'abc','type':4,'data':1}", 0, 0, "abc", 1 },
  { "answer-token-zero", SENDER_ACTIVE, "{'requestId':'j0','type':4}", 0, 0, "j0", 1 },
  { "answer-unregistered", SENDER_NEW, "{'requestId':'j1','type':4}", 0, 0, "j1", 1 },
  { "error-answer-unknown-token", SENDER_ACTIVE, "{'requestId':'j999','type':0,'error':3}", 0, 0, "j999", 1 },
  { "error-answer-not-a-token", SENDER_ACTIVE, "{'requestId':'abc','type':0,'error':3}", 0, 0, "abc", 1 },
};

static char *
error_case_line (const struct ErrorCase *c, gsize *len)
{
  GString *line = g_string_new (NULL);

  if (c->raw_len > 0)
    {
      g_string_append_len (line, c->line, (gssize) c->raw_len);
      *len = line->len;
      return g_string_free (line, FALSE);
    }

  g_string_append (line, c->line);
  if (c->depth > 0)
    {
      /* @depth more containers inside whatever the line opened */
      for (guint i = 0; i < c->depth; i++)
        g_string_append_c (line, '[');
      for (guint i = 0; i < c->depth; i++)
        g_string_append_c (line, ']');
      if (c->line[0] == '{')
        g_string_append_c (line, '}');
    }
  g_strdelimit (line->str, "'", '"');
  *len = line->len;
  return g_string_free (line, FALSE);
}

static void
test_error_case (gconstpointer data)
{
  const struct ErrorCase *c = data;
  Fixture fixture = { 0 }, *f = &fixture;
  FakePeer *svc, *sleepy, *me;
  g_autofree char *line = NULL;
  const JunoStats *stats;
  guint64 errors_before;
  gsize len = 0;

  fixture_set_up (f, NULL);
  svc = add_module (f, "svc");
  declare (svc, "fn");
  sleepy = peer_new (f);
  register_module (sleepy, "sleepy", "1.0.0", "{'missing':'^1.0.0'}");
  me = peer_new (f);
  if (c->sender == SENDER_ACTIVE)
    {
      register_module (me, "me", "1.0.0", NULL);
      pop_hook (me, "juno.activated", "{}");
    }
  else if (c->sender == SENDER_INACTIVE)
    register_module (me, "me", "1.0.0", "{'missing':'^1.0.0'}");
  assert_quiet (f);
  stats = juno_broker_get_stats (f->broker);
  errors_before = stats->errors_sent;

  line = error_case_line (c, &len);
  {
    /* the TAP stream must stay valid UTF-8 */
    g_autofree char *shown = g_utf8_make_valid (line, (gssize) MIN (len, 200));

    g_test_message ("line: %s", shown);
  }
  feed_raw (me, line, len);

  if (c->error == NO_REPLY)
    g_assert_cmpuint (stats->errors_sent, ==, errors_before);
  else
    {
      pop_error (me, c->request_id, c->error);
      g_assert_cmpuint (stats->errors_sent, ==, errors_before + 1);
    }
  assert_quiet (f);
  /* the connection stays usable */
  if (c->sender == SENDER_NEW)
    {
      register_module (me, "late", "1.0.0", NULL);
      pop_hook (me, "juno.activated", "{}");
    }
  else
    {
      feed (me, "{'requestId':'after','type':99}");
      pop_error (me, "after", 2);
    }
  g_assert_true (module_is_active (f, "svc"));
  g_assert_false (module_is_active (f, "sleepy"));
  assert_quiet (f);
  fixture_tear_down (f, NULL);
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */
/* ------------------------------------------------------------------ */

static void
test_register_activated (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  g_autoptr(JsonObject) hook = NULL;
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  const char *const events[] = { "connected 1", "registered mod-1_A 1", "activated mod-1_A", NULL };

  g_assert_cmpuint (peer->id, ==, 1); /* juno itself is 0 */
  g_assert_null (juno_endpoint_get_module_id (peer->ep));
  feed (peer, "{'type':1,'version':'2.0.0-rc.1+b5','moduleId':'mod-1_A','requestId':'first','extra':[1]}");
  pop_reply (peer, 2, "first");
  hook = pop_message (peer, 8, NULL);
  assert_members (hook, "requestId,type,hook,data");
  g_assert_cmpstr (get_str (hook, "requestId"), !=, "first");
  g_assert_cmpstr (get_str (hook, "hook"), ==, "juno.activated");
  assert_member_json (hook, "data", "{}");
  assert_no_output (peer);

  g_assert_cmpstr (juno_endpoint_get_module_id (peer->ep), ==, "mod-1_A");
  g_assert_true (juno_broker_lookup_module_endpoint (f->broker, "mod-1_A") == peer->ep);
  g_assert_null (juno_broker_lookup_module_endpoint (f->broker, "juno"));
  g_assert_null (juno_broker_lookup_module_endpoint (f->broker, "nobody"));
  g_assert_true (juno_broker_lookup_endpoint (f->broker, 1) == peer->ep);
  g_assert_null (juno_broker_lookup_endpoint (f->broker, 2));
  g_assert_cmpuint (stats->modules, ==, 1);
  g_assert_cmpuint (stats->active_modules, ==, 1);
  assert_events (f, events);
}

static void
test_register_inactive (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  const char *const events[] = { "connected 1", "registered waiting 1", NULL };

  register_module (peer, "waiting", "1.0.0", "{'later':'>=1.0.0'}");
  assert_no_output (peer);
  g_assert_cmpuint (stats->modules, ==, 1);
  g_assert_cmpuint (stats->active_modules, ==, 0);
  g_assert_false (module_is_active (f, "waiting"));
  assert_events (f, events);
}

static void
test_register_accepted_forms (Fixture *f, gconstpointer data)
{
  g_autofree char *id_128 = g_strnfill (JUNO_MODULE_ID_MAX_LENGTH, 'z');
  FakePeer *a = peer_new (f), *b = peer_new (f), *c = peer_new (f), *d = peer_new (f);

  register_module (a, id_128, "1.0.0", NULL);
  pop_hook (a, "juno.activated", "{}");
  register_module (b, "deps-null", "0.0.1", "null");
  pop_hook (b, "juno.activated", "{}");
  register_module (c, "deps-empty", "0.0.1", "{}");
  pop_hook (c, "juno.activated", "{}");
  /* an escaped moduleId is decoded */
  feed (d, "{'requestId':'r','type':1,'moduleId':'\\u0041-_9','version':'1.0.0'}");
  pop_reply (d, 2, "r");
  pop_hook (d, "juno.activated", "{}");
  g_assert_cmpstr (juno_endpoint_get_module_id (d->ep), ==, "A-_9");
  assert_quiet (f);
}

static void
test_register_name_reusable (Fixture *f, gconstpointer data)
{
  FakePeer *first = add_module (f, "again");
  FakePeer *second = peer_new (f);

  feed (second, "{'requestId':'r','type':1,'moduleId':'again','version':'1.0.0'}");
  pop_error (second, "r", 7);
  peer_remove (first);
  register_module (second, "again", "2.0.0", NULL);
  pop_hook (second, "juno.activated", "{}");
  assert_quiet (f);
}

static void
test_oversized (Fixture *f, gconstpointer data)
{
  FakePeer *peer = add_module (f, "big");
  const JunoStats *stats = juno_broker_get_stats (f->broker);

  juno_broker_report_oversized (f->broker, peer->ep);
  f->lines_fed++; /* counted as a message in, with no bytes */
  peer->fed++;
  pop_error (peer, "undefined", 10);
  g_assert_cmpuint (stats->errors_sent, ==, 1);
  f->expected_warnings = 1;
  /* still usable */
  declare (peer, "f");
  assert_quiet (f);
}

/* ------------------------------------------------------------------ */
/* Declare and calls                                                   */
/* ------------------------------------------------------------------ */

static void
test_declare (Fixture *f, gconstpointer data)
{
  FakePeer *peer = add_module (f, "svc");
  g_autoptr(JsonObject) info = NULL;

  declare (peer, "getUser_2");
  declare (peer, "getUser_2"); /* twice is fine */
  feed (peer, "{'requestId':'esc','type':9,'function':'\\u0066n'}");
  {
    g_autoptr(JsonObject) reply = pop_message (peer, 10, "esc");

    g_assert_cmpstr (get_str (reply, "function"), ==, "fn");
  }
  info = module_info (f, "svc");
  assert_member_json (info, "declaredFunctions", "['fn','getUser_2']");
  g_assert_cmpuint (count_events (f, "declared svc getUser_2"), ==, 2);
  g_assert_cmpuint (count_events (f, "declared svc fn"), ==, 1);
  assert_quiet (f);
}

static void
test_call_route (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;

  declare (svc, "get");
  feed (caller, "{'requestId':'c1','type':3,'function':'svc.get','arguments':{'id':42,'deep':{'x':[1,'two',null]}}}");
  t1 = pop_call (svc, "get", "{'id':42,'deep':{'x':[1,'two',null]}}", "caller");
  g_assert_cmpstr (t1, !=, "c1");
  assert_quiet (f);
  feedf (svc, "{'requestId':'%s','type':4,'data':{'name':'alice','tags':[]}}", t1);
  pop_response (caller, "c1", "{'name':'alice','tags':[]}");

  /* arguments absent or not an object become {}; data absent becomes null */
  feed (caller, "{'requestId':'c2','type':3,'function':'svc.get'}");
  t2 = pop_call (svc, "get", "{}", "caller");
  feed (caller, "{'requestId':'c3','type':3,'function':'svc.get','arguments':[1,2]}");
  t3 = pop_call (svc, "get", "{}", "caller");
  g_assert_cmpstr (t2, !=, t3);
  feedf (svc, "{'requestId':'%s','type':4}", t2);
  pop_response (caller, "c2", "null");
  feedf (svc, "{'requestId':'%s','type':4,'data':[1,'x',false]}", t3);
  pop_response (caller, "c3", "[1,'x',false]");

  /* the caller's id comes back byte for byte, escapes included */
  feed (caller, "{'requestId':'q\\\\u0022\\u00e9','type':3,'function':'svc.get'}");
  t4 = pop_call (svc, "get", "{}", "caller");
  feedf (svc, "{'data':7,'type':4,'requestId':'%s'}", t4);
  {
    g_autoptr(JsonObject) reply = pop_message (caller, 4, "q\\u0022\xc3\xa9");

    assert_member_json (reply, "data", "7");
    g_assert_nonnull (strstr (g_ptr_array_index (caller->lines, caller->next - 1), "\"requestId\":\"q\\\\u0022\\u00e9\""));
  }

  g_assert_cmpuint (stats->calls_routed, ==, 4);
  g_assert_cmpuint (stats->calls_failed, ==, 0);
  g_assert_cmpuint (juno_endpoint_get_stats (caller->ep)->calls_made, ==, 4);
  g_assert_cmpuint (juno_endpoint_get_stats (svc->ep)->calls_received, ==, 4);
  g_assert_cmpuint (juno_endpoint_get_stats (svc->ep)->calls_made, ==, 0);
  assert_quiet (f);
}

static void
test_call_same_request_id (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *a = add_module (f, "a");
  FakePeer *b = add_module (f, "b");
  g_autofree char *ta = NULL, *tb = NULL, *ta2 = NULL;

  declare (svc, "f");
  feed (a, "{'requestId':'same','type':3,'function':'svc.f','arguments':{'from':'a'}}");
  feed (b, "{'requestId':'same','type':3,'function':'svc.f','arguments':{'from':'b'}}");
  ta = pop_call (svc, "f", "{'from':'a'}", "a");
  tb = pop_call (svc, "f", "{'from':'b'}", "b");
  g_assert_cmpstr (ta, !=, tb);

  /* answered in reverse order, each reaches its own caller */
  feedf (svc, "{'requestId':'%s','type':4,'data':'for b'}", tb);
  pop_response (b, "same", "'for b'");
  assert_no_output (a);
  feedf (svc, "{'requestId':'%s','type':4,'data':'for a'}", ta);
  pop_response (a, "same", "'for a'");

  /* one caller reusing an id while the first call is pending */
  feed (a, "{'requestId':'dup','type':3,'function':'svc.f'}");
  feed (a, "{'requestId':'dup','type':3,'function':'svc.f','arguments':{'n':2}}");
  g_free (ta);
  ta = pop_call (svc, "f", "{}", "a");
  ta2 = pop_call (svc, "f", "{'n':2}", "a");
  g_assert_cmpstr (ta, !=, ta2);
  feedf (svc, "{'requestId':'%s','type':4,'data':2}", ta2);
  pop_response (a, "dup", "2");
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", ta);
  pop_response (a, "dup", "1");
  /* a token answers once; a second answer names no call: error 1 */
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", ta);
  pop_error (svc, ta, JUNO_PROTOCOL_ERROR_INVALID_REQUEST_ID);
  assert_quiet (f);
}

static void
test_call_callee_error (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  static const struct
  {
    const char *error;
    gint64 delivered;
  } codes[] = {
    { "42", 42 },
    { "0", 0 },
    { "2147483647", 2147483647 },
    { "-3", 0 },
    { "1.5", 0 },
    { "'x'", 0 },
    { "null", 0 },
    { NULL, 0 }, /* absent */
  };

  declare (svc, "f");
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autofree char *rid = g_strdup_printf ("e%u", i);
      g_autofree char *token = NULL;

      feedf (caller, "{'requestId':'%s','type':3,'function':'svc.f'}", rid);
      token = pop_call (svc, "f", "{}", "caller");
      if (codes[i].error != NULL)
        feedf (svc, "{'requestId':'%s','type':0,'error':%s}", token, codes[i].error);
      else
        feedf (svc, "{'requestId':'%s','type':0}", token);
      pop_error (caller, rid, codes[i].delivered);
      assert_quiet (f);
    }
  g_assert_cmpuint (stats->calls_failed, ==, G_N_ELEMENTS (codes));
  g_assert_cmpuint (stats->errors_sent, ==, 0); /* relayed, not the broker's */
}

static void
test_call_foreign_token (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *caller = add_module (f, "caller");
  FakePeer *evil = add_module (f, "evil");
  g_autofree char *token = NULL;

  declare (svc, "f");
  declare (evil, "f");
  feed (caller, "{'requestId':'c1','type':3,'function':'svc.f'}");
  token = pop_call (svc, "f", "{}", "caller");

  /* the token was issued to svc, not to evil */
  feedf (evil, "{'requestId':'%s','type':4,'data':'forged'}", token);
  pop_error (evil, token, 1);
  feedf (evil, "{'requestId':'%s','type':0,'error':5}", token);
  pop_error (evil, token, 1);
  /* nor to the caller */
  feedf (caller, "{'requestId':'%s','type':4,'data':'forged'}", token);
  pop_error (caller, token, 1);
  assert_quiet (f);

  feedf (svc, "{'requestId':'%s','type':4,'data':'real'}", token);
  pop_response (caller, "c1", "'real'");
  assert_quiet (f);
}

static void
test_call_self (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  g_autofree char *token = NULL;

  declare (svc, "f");
  feed (svc, "{'requestId':'me','type':3,'function':'svc.f','arguments':{'a':1}}");
  token = pop_call (svc, "f", "{'a':1}", "svc");
  feedf (svc, "{'requestId':'%s','type':4,'data':true}", token);
  pop_response (svc, "me", "true");
  assert_quiet (f);
}

static void
test_call_callee_disconnected (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *a = add_module (f, "a");
  FakePeer *b = add_module (f, "b");
  FakePeer *other = add_module (f, "other");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t_other = NULL, *t_svc = NULL;

  declare (svc, "f");
  declare (other, "g");
  declare (b, "h");
  feed (a, "{'requestId':'a1','type':3,'function':'svc.f'}");
  feed (a, "{'requestId':'a2','type':3,'function':'svc.f'}");
  feed (b, "{'requestId':'b1','type':3,'function':'svc.f'}");
  feed (a, "{'requestId':'a3','type':3,'function':'other.g'}");
  feed (svc, "{'requestId':'s1','type':3,'function':'b.h'}");
  t1 = pop_call (svc, "f", "{}", "a");
  t2 = pop_call (svc, "f", "{}", "a");
  t3 = pop_call (svc, "f", "{}", "b");
  t_other = pop_call (other, "g", "{}", "a");
  t_svc = pop_call (b, "h", "{}", "svc");
  assert_quiet (f);

  /* every call waiting on svc is answered at once */
  peer_remove (svc);
  pop_error (a, "a1", 8);
  pop_error (a, "a2", 8);
  pop_error (b, "b1", 8);
  assert_quiet (f);
  g_assert_cmpuint (stats->calls_failed, ==, 3);
  g_assert_cmpuint (stats->errors_sent, ==, 3);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 1);

  /* svc's own call went with it: b's answer is dropped without a word */
  feedf (b, "{'requestId':'%s','type':4,'data':1}", t_svc);
  assert_quiet (f);
  /* the call to another callee is untouched */
  feedf (other, "{'requestId':'%s','type':4,'data':'ok'}", t_other);
  pop_response (a, "a3", "'ok'");
  /* and a caller that leaves takes its calls along */
  feed (a, "{'requestId':'a4','type':3,'function':'other.g'}");
  g_free (t_other);
  t_other = pop_call (other, "g", "{}", "a");
  peer_remove (a);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 0);
  feedf (other, "{'requestId':'%s','type':4,'data':'late'}", t_other);
  assert_quiet (f);
}

static void
test_call_timeout (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *c1 = add_module (f, "c1");
  FakePeer *c2 = add_module (f, "c2");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
  guint64 call_timeout = 0;

  juno_broker_set_call_timeout (f->broker, SHORT_TIMEOUT_USEC);
  g_object_get (f->broker, "call-timeout", &call_timeout, NULL);
  g_assert_cmpuint (call_timeout, ==, SHORT_TIMEOUT_USEC);
  declare (svc, "slow");
  feed (c1, "{'requestId':'first','type':3,'function':'svc.slow'}");
  feed (c2, "{'requestId':'second','type':3,'function':'svc.slow'}");
  t1 = pop_call (svc, "slow", "{}", "c1");
  t2 = pop_call (svc, "slow", "{}", "c2");

  wait_for_output (c1);
  pop_error (c1, "first", 9);
  wait_for_output (c2);
  pop_error (c2, "second", 9);
  g_assert_cmpuint (stats->calls_timed_out, ==, 2);
  g_assert_cmpuint (stats->calls_failed, ==, 2);
  g_assert_cmpuint (stats->errors_sent, ==, 2);
  assert_quiet (f);

  /* late answers reach no one, and earn the callee no error */
  feedf (svc, "{'requestId':'%s','type':4,'data':'late'}", t1);
  feedf (svc, "{'requestId':'%s','type':0,'error':3}", t2);
  assert_quiet (f);

  /* an answer in time cancels the deadline */
  feed (c1, "{'requestId':'third','type':3,'function':'svc.slow'}");
  t3 = pop_call (svc, "slow", "{}", "c1");
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 1);
  feedf (svc, "{'requestId':'%s','type':4,'data':3}", t3);
  pop_response (c1, "third", "3");
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 0);
  iterate_pending_sources ();
  assert_quiet (f);

  /* 0 means calls never time out */
  juno_broker_set_call_timeout (f->broker, 0);
  feed (c2, "{'requestId':'fourth','type':3,'function':'svc.slow'}");
  t4 = pop_call (svc, "slow", "{}", "c2");
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 1);
  feedf (svc, "{'requestId':'%s','type':4}", t4);
  pop_response (c2, "fourth", "null");
  g_assert_cmpuint (stats->calls_timed_out, ==, 2);
  assert_quiet (f);
}

static void
test_call_max_in_flight (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *greedy = add_module (f, "greedy");
  FakePeer *polite = add_module (f, "polite");
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *tp = NULL;
  guint max_calls = 0;

  juno_broker_set_max_calls_in_flight (f->broker, 2);
  g_object_get (f->broker, "max-calls-in-flight", &max_calls, NULL);
  g_assert_cmpuint (max_calls, ==, 2);
  declare (svc, "f");
  feed (greedy, "{'requestId':'g1','type':3,'function':'svc.f'}");
  feed (greedy, "{'requestId':'g2','type':3,'function':'svc.f'}");
  t1 = pop_call (svc, "f", "{}", "greedy");
  t2 = pop_call (svc, "f", "{}", "greedy");
  feed (greedy, "{'requestId':'g3','type':3,'function':'svc.f'}");
  pop_error (greedy, "g3", 11);
  f->expected_warnings = 1;
  assert_quiet (f);

  /* the limit is per caller */
  feed (polite, "{'requestId':'p1','type':3,'function':'svc.f'}");
  tp = pop_call (svc, "f", "{}", "polite");
  /* the built-in module answers at once and is not limited */
  feed (greedy, "{'requestId':'g-list','type':3,'function':'juno.listModules'}");
  json_object_unref (pop_message (greedy, 4, "g-list"));

  /* an answer frees a slot */
  feedf (svc, "{'requestId':'%s','type':4,'data':1}", t1);
  pop_response (greedy, "g1", "1");
  feed (greedy, "{'requestId':'g4','type':3,'function':'svc.f'}");
  t3 = pop_call (svc, "f", "{}", "greedy");
  assert_quiet (f);
}


static void
test_call_timeout_lowered (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  FakePeer *patient = add_module (f, "patient");
  FakePeer *hasty = add_module (f, "hasty");
  g_autofree char *t1 = NULL, *t2 = NULL;

  declare (svc, "f");
  juno_broker_set_call_timeout (f->broker, (guint64) 3600 * G_USEC_PER_SEC);
  feed (patient, "{'requestId':'p','type':3,'function':'svc.f'}");
  t1 = pop_call (svc, "f", "{}", "patient");
  /* applies to calls made from now on, even behind a call that waits longer */
  juno_broker_set_call_timeout (f->broker, SHORT_TIMEOUT_USEC);
  feed (hasty, "{'requestId':'h','type':3,'function':'svc.f'}");
  t2 = pop_call (svc, "f", "{}", "hasty");
  wait_for_output (hasty);
  pop_error (hasty, "h", 9);
  assert_quiet (f);
  feedf (svc, "{'requestId':'%s','type':4,'data':'done'}", t1);
  pop_response (patient, "p", "'done'");
  assert_quiet (f);
}

typedef struct
{
  guint calls;
  char *result;
  int code;
} CallResult;

static void
on_call_result (JunoBroker *broker, const char *result_json, int error_code, gpointer user_data)
{
  CallResult *r = user_data;

  r->calls++;
  g_free (r->result);
  r->result = g_strdup (result_json);
  r->code = error_code;
}

static void
test_in_process_call (Fixture *f, gconstpointer data)
{
  FakePeer *svc = add_module (f, "svc");
  CallResult r = { 0 };
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL;

  declare (svc, "f");
  juno_broker_call_function (f->broker, "svc.f", "{\"a\":[1]}", on_call_result, &r);
  t1 = pop_call (svc, "f", "{'a':[1]}", "juno");
  g_assert_cmpuint (r.calls, ==, 0);
  feedf (svc, "{'requestId':'%s','type':4,'data':{'x':2}}", t1);
  g_assert_cmpuint (r.calls, ==, 1);
  g_assert_cmpint (r.code, ==, -1);
  g_assert_cmpstr (r.result, ==, "{\"x\":2}");

  juno_broker_call_function (f->broker, "svc.f", NULL, on_call_result, &r);
  t2 = pop_call (svc, "f", "{}", "juno");
  feedf (svc, "{'requestId':'%s','type':0,'error':7}", t2);
  g_assert_cmpuint (r.calls, ==, 2);
  g_assert_cmpint (r.code, ==, 7);
  g_assert_null (r.result);

  /* refused at once */
  juno_broker_call_function (f->broker, "nobody.f", "{}", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 3);
  g_assert_cmpint (r.code, ==, 4);
  juno_broker_call_function (f->broker, "svc.f", "[1]", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 4);
  g_assert_cmpint (r.code, ==, 0);
  juno_broker_call_function (f->broker, "svc.f", "{\"a\":", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 5);
  g_assert_cmpint (r.code, ==, 0);
  juno_broker_call_function (f->broker, "svc-f", "{}", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 6);
  g_assert_cmpint (r.code, ==, 5);

  /* the built-in functions answer in place */
  juno_broker_call_function (f->broker, "juno.getModuleInfo", "{\"moduleId\":\"svc\"}", on_call_result, &r);
  g_assert_cmpuint (r.calls, ==, 7);
  g_assert_cmpint (r.code, ==, -1);
  {
    g_autoptr(JsonNode) node = parse_json (r.result);

    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "moduleId"), ==, "svc");
  }

  /* the callee leaving answers the call */
  juno_broker_call_function (f->broker, "svc.f", "{}", on_call_result, &r);
  t3 = pop_call (svc, "f", "{}", "juno");
  peer_remove (svc);
  g_assert_cmpuint (r.calls, ==, 8);
  g_assert_cmpint (r.code, ==, 8);
  g_free (r.result);
  assert_quiet (f);
}

static void
test_in_process_trigger (Fixture *f, gconstpointer data)
{
  FakePeer *l = add_module (f, "l");
  g_autoptr(GError) error = NULL;
  guint n = 99;

  listen_hook (l, "ext.ev");
  g_assert_true (juno_broker_trigger_hook (f->broker, "ext.ev", "{\"k\":1}", &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  pop_hook (l, "ext.ev", "{'k':1}");
  g_assert_true (juno_broker_trigger_hook (f->broker, "ext.other", NULL, &n, &error));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (juno_broker_trigger_hook (f->broker, "ext.ev", NULL, NULL, &error));
  pop_hook (l, "ext.ev", "{}");
  g_assert_cmpuint (count_events (f, "triggered ext.ev {\"k\":1}"), ==, 1);
  g_assert_cmpuint (count_events (f, "triggered ext.other {}"), ==, 1);

  g_assert_false (juno_broker_trigger_hook (f->broker, "nodot", NULL, &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_broker_trigger_hook (f->broker, "a.b.c", NULL, &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (juno_broker_trigger_hook (f->broker, "ext.ev", "[1]", &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (juno_broker_trigger_hook (f->broker, "ext.ev", "{\"k\":", &n, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  assert_quiet (f);
}

static void
on_notify (GObject *object, GParamSpec *pspec, guint *count)
{
  (*count)++;
}

static void
test_properties (Fixture *f, gconstpointer data)
{
  g_autofree char *version = NULL;
  guint notified = 0;
  guint64 timeout = 0;
  guint max_calls = 0;

  g_object_get (f->broker, "version", &version, "call-timeout", &timeout, "max-calls-in-flight", &max_calls, NULL);
  g_assert_cmpstr (version, ==, juno_broker_get_version (f->broker));
  g_assert_cmpuint (timeout, ==, 30 * G_USEC_PER_SEC); /* the defaults */
  g_assert_cmpuint (max_calls, ==, 1024);

  g_signal_connect (f->broker, "notify", G_CALLBACK (on_notify), &notified);
  juno_broker_set_call_timeout (f->broker, 1000);
  juno_broker_set_call_timeout (f->broker, 1000);
  g_assert_cmpuint (notified, ==, 1); /* only on a real change */
  g_object_set (f->broker, "max-calls-in-flight", 7u, NULL);
  g_object_set (f->broker, "max-calls-in-flight", 7u, NULL);
  g_assert_cmpuint (notified, ==, 2);
  g_object_get (f->broker, "max-calls-in-flight", &max_calls, NULL);
  g_assert_cmpuint (max_calls, ==, 7);
}

static void
test_endpoint_credentials (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;

  g_assert_false (juno_endpoint_get_peer_credentials (peer->ep, &pid, &uid, &gid));
  juno_endpoint_set_peer_credentials (peer->ep, 1234, 1000, 100);
  g_assert_true (juno_endpoint_get_peer_credentials (peer->ep, &pid, &uid, &gid));
  g_assert_cmpint (pid, ==, 1234);
  g_assert_cmpuint (uid, ==, 1000);
  g_assert_cmpuint (gid, ==, 100);
  g_assert_true (juno_endpoint_get_peer_credentials (peer->ep, NULL, NULL, NULL));
}

static void
test_register_dependency_limit (Fixture *f, gconstpointer data)
{
  FakePeer *ok = peer_new (f), *over = peer_new (f);
  GString *deps = g_string_new ("{");

  for (guint i = 0; i < 256; i++)
    g_string_append_printf (deps, "%s'd%u':'*'", i ? "," : "", i);
  g_string_append_c (deps, '}');
  register_module (ok, "many", "1.0.0", deps->str);
  g_string_truncate (deps, deps->len - 1);
  g_string_append (deps, ",'d256':'*'}");
  feedf (over, "{'requestId':'r','type':1,'moduleId':'toomany','version':'1.0.0','dependencies':%s}", deps->str);
  pop_error (over, "r", 0);
  g_string_free (deps, TRUE);
  assert_quiet (f);
}

static void
test_line_ending (Fixture *f, gconstpointer data)
{
  FakePeer *peer = peer_new (f);
  static const char line[] = "{\"requestId\":\"cr\",\"type\":1,\"moduleId\":\"cr\",\"version\":\"1.0.0\"}\r";

  /* a line that came with "\r\n" */
  feed_raw (peer, line, sizeof line - 1);
  pop_reply (peer, 2, "cr");
  pop_hook (peer, "juno.activated", "{}");
  assert_quiet (f);
}

/* ------------------------------------------------------------------ */
/* The built-in module                                                 */
/* ------------------------------------------------------------------ */

static gboolean
string_array_equals_set (JsonArray *array, const char *const *want)
{
  guint n = g_strv_length ((char **) want);

  if (json_array_get_length (array) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < n; j++)
        if (g_strcmp0 (json_array_get_string_element (array, j), want[i]) == 0)
          found = TRUE;
      if (!found)
        return FALSE;
    }
  return TRUE;
}

static void
assert_module_object (JsonObject *object, const char *id, const char *connection_id, const char *version,
                      const char *deps, gboolean active, const char *const *functions, const char *const *hooks)
{
  JsonNode *registered;

  assert_members (object, "moduleId,connectionId,version,dependencies,registered,declaredFunctions,registeredHooks");
  g_assert_cmpstr (get_str (object, "moduleId"), ==, id);
  g_assert_cmpstr (get_str (object, "connectionId"), ==, connection_id);
  g_assert_cmpstr (get_str (object, "version"), ==, version);
  assert_member_json (object, "dependencies", deps);
  registered = get_member (object, "registered");
  g_assert_cmpint (json_node_get_value_type (registered), ==, G_TYPE_BOOLEAN);
  g_assert_cmpint (json_node_get_boolean (registered), ==, active);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (get_member (object, "declaredFunctions")));
  g_assert_true (string_array_equals_set (json_object_get_array_member (object, "declaredFunctions"), functions));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (get_member (object, "registeredHooks")));
  g_assert_true (string_array_equals_set (json_object_get_array_member (object, "registeredHooks"), hooks));
}

static void
assert_known_module (Fixture *f, JsonObject *object, FakePeer *svc, FakePeer *idle, FakePeer *caller)
{
  static const char *const none[] = { NULL };
  static const char *const juno_functions[] = { "listModules", "getModuleInfo", NULL };
  static const char *const svc_functions[] = { "f", "g", NULL };
  static const char *const svc_hooks[] = { "juno.moduleConnected", "svc.ev", NULL };
  const char *id = get_str (object, "moduleId");
  g_autofree char *svc_id = peer_id_string (svc);
  g_autofree char *idle_id = peer_id_string (idle);
  g_autofree char *caller_id = peer_id_string (caller);

  if (g_str_equal (id, "juno"))
    assert_module_object (object, "juno", "0", juno_broker_get_version (f->broker), "{}", TRUE, juno_functions, none);
  else if (g_str_equal (id, "svc"))
    assert_module_object (object, "svc", svc_id, "1.2.3", "{'juno':'>=0.0.1'}", TRUE, svc_functions, svc_hooks);
  else if (g_str_equal (id, "idle"))
    assert_module_object (object, "idle", idle_id, "2.0.0-beta.1", "{'missing':'^1','svc':'*'}", FALSE, none, none);
  else if (g_str_equal (id, "caller"))
    assert_module_object (object, "caller", caller_id, "1.0.0", "{}", TRUE, none, none);
  else
    g_assert_not_reached ();
}

static void
test_builtin_functions (Fixture *f, gconstpointer data)
{
  FakePeer *svc = peer_new (f);
  FakePeer *idle = peer_new (f);
  FakePeer *caller;
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  gboolean seen[4] = { FALSE };
  static const char *const ids[] = { "juno", "svc", "idle", "caller" };

  register_module (svc, "svc", "1.2.3", "{'juno':'>=0.0.1'}");
  pop_hook (svc, "juno.activated", "{}");
  declare (svc, "f");
  declare (svc, "g");
  listen_hook (svc, "juno.moduleConnected");
  listen_hook (svc, "svc.ev");
  register_module (idle, "idle", "2.0.0-beta.1", "{'missing':'^1','svc':'*'}");
  caller = add_module (f, "caller");
  {
    g_autofree char *caller_id = peer_id_string (caller);
    g_autofree char *data_json = g_strdup_printf ("{'connectionId':'%s'}", caller_id);

    pop_hook (svc, "juno.moduleConnected", data_json);
  }
  assert_quiet (f);

  feed (caller, "{'requestId':'l1','type':3,'function':'juno.listModules'}");
  {
    g_autoptr(JsonObject) reply = pop_message (caller, 4, "l1");
    g_autofree char *direct = juno_broker_dup_modules_json (f->broker);
    g_autoptr(JsonNode) direct_node = parse_json (direct);
    JsonArray *modules;

    assert_members (reply, "requestId,type,data");
    g_assert_true (JSON_NODE_HOLDS_ARRAY (get_member (reply, "data")));
    g_assert_true (json_node_equal (get_member (reply, "data"), direct_node));
    modules = json_object_get_array_member (reply, "data");
    g_assert_cmpuint (json_array_get_length (modules), ==, 4);
    for (guint i = 0; i < 4; i++)
      {
        JsonNode *node = json_array_get_element (modules, i);

        g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
        assert_known_module (f, json_node_get_object (node), svc, idle, caller);
        for (guint j = 0; j < 4; j++)
          if (g_str_equal (get_str (json_node_get_object (node), "moduleId"), ids[j]))
            {
              g_assert_false (seen[j]);
              seen[j] = TRUE;
            }
      }
    /* juno first, then by moduleId; names sorted inside each module */
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 0), "moduleId"), ==, "juno");
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 1), "moduleId"), ==, "caller");
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 2), "moduleId"), ==, "idle");
    g_assert_cmpstr (get_str (json_array_get_object_element (modules, 3), "moduleId"), ==, "svc");
    g_assert_true (strstr (direct, "\"declaredFunctions\":[\"getModuleInfo\",\"listModules\"]") != NULL);
    g_assert_true (strstr (direct, "\"declaredFunctions\":[\"f\",\"g\"]") != NULL);
    g_assert_true (strstr (direct, "\"registeredHooks\":[\"juno.moduleConnected\",\"svc.ev\"]") != NULL);
  }

  for (guint j = 0; j < 4; j++)
    {
      g_autofree char *rid = g_strdup_printf ("info-%s", ids[j]);
      g_autoptr(JsonObject) reply = NULL;
      g_autofree char *direct = juno_broker_dup_module_json (f->broker, ids[j]);
      g_autoptr(JsonNode) direct_node = parse_json (direct);

      feedf (caller, "{'requestId':'%s','type':3,'function':'juno.getModuleInfo','arguments':{'moduleId':'%s'}}",
             rid, ids[j]);
      reply = pop_message (caller, 4, rid);
      assert_members (reply, "requestId,type,data");
      g_assert_true (JSON_NODE_HOLDS_OBJECT (get_member (reply, "data")));
      g_assert_true (json_node_equal (get_member (reply, "data"), direct_node));
      assert_known_module (f, json_object_get_object_member (reply, "data"), svc, idle, caller);
      g_assert_cmpstr (get_str (json_object_get_object_member (reply, "data"), "moduleId"), ==, ids[j]);
    }

  /* null for an unknown module or unusable arguments */
  feed (caller, "{'requestId':'n1','type':3,'function':'juno.getModuleInfo','arguments':{'moduleId':'nobody'}}");
  pop_response (caller, "n1", "null");
  feed (caller, "{'requestId':'n2','type':3,'function':'juno.getModuleInfo'}");
  pop_response (caller, "n2", "null");
  feed (caller, "{'requestId':'n3','type':3,'function':'juno.getModuleInfo','arguments':{'moduleId':5}}");
  pop_response (caller, "n3", "null");
  feed (caller, "{'requestId':'n4','type':3,'function':'juno.getModuleInfo','arguments':['svc']}");
  pop_response (caller, "n4", "null");
  feed (caller, "{'requestId':'n5','type':3,'function':'juno.getModuleInfo','arguments':{'x':{'moduleId':'svc'}}}");
  pop_response (caller, "n5", "null");
  g_assert_null (juno_broker_dup_module_json (f->broker, "nobody"));
  g_assert_cmpuint (stats->calls_routed, ==, 10);
  g_assert_cmpuint (stats->calls_failed, ==, 0);
  assert_quiet (f);
}

/* The accessors the D-Bus control plane reads modules with: the same
 * facts as the module JSON, read in place. */
static void
test_module_accessors (Fixture *f, gconstpointer data)
{
  FakePeer *svc = peer_new (f);
  FakePeer *user = peer_new (f);
  JunoModule *juno = juno_broker_lookup_module (f->broker, "juno");
  JunoModule *module;
  g_autofree JunoModule **modules = NULL;
  g_autofree const char **names = NULL;
  const char *name, *requirement;
  gboolean seen_svc = FALSE, seen_juno = FALSE;
  guint n;

  /* juno: no connection, never listed */
  g_assert_nonnull (juno);
  g_assert_cmpstr (juno_module_get_id (juno), ==, "juno");
  g_assert_cmpstr (juno_module_get_version (juno), ==, juno_broker_get_version (f->broker));
  g_assert_true (juno_module_get_active (juno));
  g_assert_null (juno_module_get_endpoint (juno));
  g_assert_cmpuint (juno_module_get_n_dependencies (juno), ==, 0);
  names = juno_module_dup_functions (juno, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (names[0], ==, "getModuleInfo");
  g_assert_cmpstr (names[1], ==, "listModules");
  g_assert_null (names[2]);
  g_clear_pointer (&names, g_free);
  names = juno_module_dup_hooks (juno, NULL);
  g_assert_null (names[0]);
  g_clear_pointer (&names, g_free);
  modules = juno_broker_dup_modules (f->broker, &n);
  g_assert_cmpuint (n, ==, 0);
  g_assert_null (modules[0]);
  g_clear_pointer (&modules, g_free);
  g_assert_null (juno_broker_lookup_module (f->broker, "nobody"));

  register_module (user, "user", "0.3.0", "{'svc':'^1.2','juno':'*'}");
  register_module (svc, "svc", "1.2.3", NULL);
  pop_hook (svc, "juno.activated", "{}");
  pop_hook (user, "juno.activated", "{}");
  declare (user, "zeta");
  declare (user, "alpha");
  declare (user, "zeta");
  listen_hook (user, "svc.b");
  listen_hook (user, "svc.a");

  module = juno_broker_lookup_module (f->broker, "user");
  g_assert_nonnull (module);
  g_assert_cmpstr (juno_module_get_id (module), ==, "user");
  g_assert_cmpstr (juno_module_get_version (module), ==, "0.3.0");
  g_assert_true (juno_module_get_active (module));
  g_assert_true (juno_module_get_endpoint (module) == user->ep);
  g_assert_true (juno_broker_lookup_module_endpoint (f->broker, "user") == user->ep);
  g_assert_cmpuint (juno_module_get_n_dependencies (module), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      juno_module_get_dependency (module, i, &name, &requirement);
      if (g_str_equal (name, "svc"))
        {
          g_assert_cmpstr (requirement, ==, "^1.2");
          seen_svc = TRUE;
        }
      else
        {
          g_assert_cmpstr (name, ==, "juno");
          g_assert_cmpstr (requirement, ==, "*");
          seen_juno = TRUE;
        }
    }
  g_assert_true (seen_svc && seen_juno);
  names = juno_module_dup_functions (module, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (names[0], ==, "alpha");
  g_assert_cmpstr (names[1], ==, "zeta");
  g_assert_null (names[2]);
  g_clear_pointer (&names, g_free);
  names = juno_module_dup_hooks (module, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (names[0], ==, "svc.a");
  g_assert_cmpstr (names[1], ==, "svc.b");
  g_clear_pointer (&names, g_free);

  /* every module but juno, sorted */
  modules = juno_broker_dup_modules (f->broker, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpstr (juno_module_get_id (modules[0]), ==, "svc");
  g_assert_cmpstr (juno_module_get_id (modules[1]), ==, "user");
  g_assert_null (modules[2]);
  g_clear_pointer (&modules, g_free);

  peer_remove (svc);
  pop_hook (user, "juno.deactivated", "{}");
  g_assert_null (juno_broker_lookup_module (f->broker, "svc"));
  g_assert_false (juno_module_get_active (juno_broker_lookup_module (f->broker, "user")));
  modules = juno_broker_dup_modules (f->broker, NULL);
  g_assert_cmpstr (juno_module_get_id (modules[0]), ==, "user");
  g_assert_null (modules[1]);
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */
/* ------------------------------------------------------------------ */

static void
test_hooks_deliver (Fixture *f, gconstpointer data)
{
  FakePeer *trig = add_module (f, "trig");
  FakePeer *dep = add_module (f, "dep");
  FakePeer *l1 = add_module (f, "l1");
  FakePeer *l2 = peer_new (f);
  FakePeer *other = add_module (f, "other");
  const JunoStats *stats = juno_broker_get_stats (f->broker);
  guint64 ack_seq;

  register_module (l2, "l2", "1.0.0", "{'dep':'^1.0.0'}");
  pop_hook (l2, "juno.activated", "{}");
  listen_hook (l1, "trig.ev");
  listen_hook (l1, "trig.ev"); /* twice: still one delivery */
  listen_hook (l2, "trig.ev");
  listen_hook (trig, "trig.ev");
  listen_hook (other, "trig.other");
  g_assert_cmpuint (count_events (f, "listening l1 trig.ev"), ==, 2);
  g_assert_cmpuint (count_events (f, "listening l2 trig.ev"), ==, 1);

  /* l2 goes inactive with its dependency; it keeps its registration */
  peer_remove (dep);
  pop_hook (l2, "juno.deactivated", "{}");
  assert_quiet (f);

  feed (trig, "{'requestId':'t1','type':7,'hook':'ev','data':{'k':[1,2],'s':'\\u00e9'}}");
  pop_reply (trig, 8, "t1"); /* the ack has no hook and no data */
  ack_seq = last_seq (trig);
  pop_hook (trig, "trig.ev", "{'k':[1,2],'s':'\xc3\xa9'}");
  g_assert_cmpuint (last_seq (trig), >, ack_seq);
  pop_hook (l1, "trig.ev", "{'k':[1,2],'s':'\xc3\xa9'}");
  g_assert_cmpuint (last_seq (l1), >, ack_seq);
  assert_quiet (f);
  g_assert_cmpuint (stats->hooks_triggered, ==, 1);
  g_assert_cmpuint (stats->hooks_delivered, ==, 2);
  g_assert_cmpuint (count_events (f, "triggered trig.ev {\"k\":[1,2],\"s\":\"\\u00e9\"}"), ==, 1);

  /* data absent or not an object becomes {} */
  feed (trig, "{'requestId':'t2','type':7,'hook':'ev'}");
  pop_reply (trig, 8, "t2");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l1, "trig.ev", "{}");
  feed (trig, "{'requestId':'t3','type':7,'hook':'ev','data':[1]}");
  pop_reply (trig, 8, "t3");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l1, "trig.ev", "{}");
  g_assert_cmpuint (count_events (f, "triggered trig.ev {}"), ==, 2);
  assert_quiet (f);

  /* nobody listens: the ack alone */
  feed (trig, "{'requestId':'t4','type':7,'hook':'quiet'}");
  pop_reply (trig, 8, "t4");
  assert_quiet (f);
  g_assert_cmpuint (stats->hooks_triggered, ==, 4);
  g_assert_cmpuint (stats->hooks_delivered, ==, 6);

  /* l2 serves again once its dependency is back */
  dep = add_module (f, "dep");
  pop_hook (l2, "juno.activated", "{}");
  feed (trig, "{'requestId':'t5','type':7,'hook':'ev','data':{}}");
  pop_reply (trig, 8, "t5");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l1, "trig.ev", "{}");
  pop_hook (l2, "trig.ev", "{}");
  assert_quiet (f);

  /* a listener that leaves is unhooked */
  peer_remove (l1);
  feed (trig, "{'requestId':'t6','type':7,'hook':'ev'}");
  pop_reply (trig, 8, "t6");
  pop_hook (trig, "trig.ev", "{}");
  pop_hook (l2, "trig.ev", "{}");
  g_assert_cmpuint (stats->hooks_delivered, ==, 11);
  assert_quiet (f);
}

static void
test_hooks_lifecycle (Fixture *f, gconstpointer data)
{
  FakePeer *watch = add_module (f, "watch");
  FakePeer *quiet = add_module (f, "quiet"); /* listens to nothing */
  FakePeer *x, *y;
  g_autofree char *x_data = NULL, *y_data = NULL;
  g_autofree char *x_event = NULL, *y_event = NULL;

  listen_hook (watch, "juno.moduleConnected");
  listen_hook (watch, "juno.moduleDisconnected");
  listen_hook (watch, "juno.moduleActivated");
  listen_hook (watch, "juno.moduleDeactivated");

  /* a connection that never registers */
  x = peer_new (f);
  {
    g_autofree char *id = peer_id_string (x);

    x_data = g_strdup_printf ("{'connectionId':'%s'}", id);
    x_event = g_strdup_printf ("disconnected %s -", id);
  }
  pop_hook (watch, "juno.moduleConnected", x_data);
  assert_quiet (f);
  peer_remove (x);
  pop_hook (watch, "juno.moduleDisconnected", x_data);
  g_assert_cmpuint (count_events (f, x_event), ==, 1);
  assert_quiet (f);

  /* one that registers, and leaves while active */
  y = peer_new (f);
  {
    g_autofree char *id = peer_id_string (y);

    y_data = g_strdup_printf ("{'connectionId':'%s'}", id);
    y_event = g_strdup_printf ("disconnected %s y", id);
  }
  pop_hook (watch, "juno.moduleConnected", y_data);
  register_module (y, "y", "1.0.0", NULL);
  pop_hook (y, "juno.activated", "{}");
  pop_hook (watch, "juno.moduleActivated", "{'moduleId':'y'}");
  assert_quiet (f);
  peer_remove (y);
  pop_hook (watch, "juno.moduleDeactivated", "{'moduleId':'y'}");
  pop_hook (watch, "juno.moduleDisconnected", y_data);
  g_assert_cmpuint (count_events (f, y_event), ==, 1);
  g_assert_cmpuint (count_events (f, "deactivated y"), ==, 1);
  assert_quiet (f);
  assert_no_output (quiet);

  /* broadcasts carry fresh broker-made ids */
  {
    const char *a = g_ptr_array_index (watch->lines, watch->next - 1);
    const char *b = g_ptr_array_index (watch->lines, watch->next - 2);
    g_autoptr(JsonNode) na = parse_json (a);
    g_autoptr(JsonNode) nb = parse_json (b);

    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (na), "requestId"), !=,
                     json_object_get_string_member (json_node_get_object (nb), "requestId"));
  }
}

/* ------------------------------------------------------------------ */
/* Signals and counters                                                */
/* ------------------------------------------------------------------ */

static void
test_signals (Fixture *f, gconstpointer data)
{
  FakePeer *p = peer_new (f);
  FakePeer *q = peer_new (f);
  const char *const events[] = {
    "connected 1",
    "connected 2",
    "registered p 1",
    "activated p",
    "declared p f",
    "listening p p.ev",
    "triggered p.ev {\"x\":1}",
    "registered q 2",
    "activated q",
    "deactivated p",
    "deactivated q",
    "disconnected 1 p",
    "disconnected 2 q",
    NULL,
  };

  register_module (p, "p", "1.0.0", NULL);
  pop_hook (p, "juno.activated", "{}");
  declare (p, "f");
  listen_hook (p, "p.ev");
  feed (p, "{'requestId':'t','type':7,'hook':'ev','data':{\"x\":1}}");
  pop_reply (p, 8, "t");
  pop_hook (p, "p.ev", "{'x':1}");
  register_module (q, "q", "1.0.0", "{'p':'*'}");
  pop_hook (q, "juno.activated", "{}");
  peer_remove (p);
  pop_hook (q, "juno.deactivated", "{}");
  peer_remove (q);
  assert_events (f, events);
}

static void
test_stats (Fixture *f, gconstpointer data)
{
  const JunoStats *s = juno_broker_get_stats (f->broker);
  FakePeer *a, *b, *u;
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;

  g_assert_cmpuint (s->connections, ==, 0);
  g_assert_cmpuint (s->messages_out, ==, 0);
  a = peer_new (f);
  b = peer_new (f);
  u = peer_new (f);
  g_assert_cmpuint (s->connections, ==, 3);
  g_assert_cmpuint (s->connections_total, ==, 3);

  register_module (a, "a", "1.0.0", NULL);
  pop_hook (a, "juno.activated", "{}");
  register_module (b, "b", "1.0.0", "{'a':'^1'}");
  pop_hook (b, "juno.activated", "{}");
  g_assert_cmpuint (s->modules, ==, 2);
  g_assert_cmpuint (s->active_modules, ==, 2);
  g_assert_cmpuint (s->messages_in, ==, 2);
  g_assert_cmpuint (s->messages_out, ==, 4);
  declare (b, "f");

  feed (a, "{'requestId':'r1','type':3,'function':'b.f'}");
  t1 = pop_call (b, "f", "{}", "a");
  feedf (b, "{'requestId':'%s','type':4,'data':1}", t1);
  pop_response (a, "r1", "1");
  feed (a, "{'requestId':'r2','type':3,'function':'b.f'}");
  t2 = pop_call (b, "f", "{}", "a");
  feedf (b, "{'requestId':'%s','type':0,'error':5}", t2);
  pop_error (a, "r2", 5);
  g_assert_cmpuint (s->calls_routed, ==, 2);
  g_assert_cmpuint (s->calls_failed, ==, 1);
  g_assert_cmpuint (s->errors_sent, ==, 0);

  /* refused by the broker: an error, but not a routed call */
  feed (a, "{'requestId':'r3','type':3,'function':'b.nope'}");
  pop_error (a, "r3", 5);
  g_assert_cmpuint (s->calls_routed, ==, 2);
  g_assert_cmpuint (s->calls_failed, ==, 1);
  g_assert_cmpuint (s->errors_sent, ==, 1);

  feed (u, "not json");
  feed (u, "[]");
  pop_error (u, "undefined", 0);
  g_assert_cmpuint (s->errors_sent, ==, 2);

  listen_hook (a, "a.ev");
  feed (a, "{'requestId':'t','type':7,'hook':'ev'}");
  pop_reply (a, 8, "t");
  pop_hook (a, "a.ev", "{}");
  g_assert_cmpuint (s->hooks_triggered, ==, 1);
  g_assert_cmpuint (s->hooks_delivered, ==, 1);

  juno_broker_set_call_timeout (f->broker, SHORT_TIMEOUT_USEC);
  feed (a, "{'requestId':'r4','type':3,'function':'b.f'}");
  t3 = pop_call (b, "f", "{}", "a");
  wait_for_output (a);
  pop_error (a, "r4", 9);
  g_assert_cmpuint (s->calls_routed, ==, 3);
  g_assert_cmpuint (s->calls_timed_out, ==, 1);
  g_assert_cmpuint (s->calls_failed, ==, 2);
  g_assert_cmpuint (s->errors_sent, ==, 3);

  feed (b, "{'requestId':'r5','type':3,'function':'juno.listModules'}");
  json_object_unref (pop_message (b, 4, "r5"));
  g_assert_cmpuint (s->calls_routed, ==, 4);

  declare (a, "g");
  feed (b, "{'requestId':'r6','type':3,'function':'a.g'}");
  t4 = pop_call (a, "g", "{}", "b");
  peer_remove (a);
  pop_error (b, "r6", 8);
  pop_hook (b, "juno.deactivated", "{}");
  g_assert_cmpuint (s->calls_routed, ==, 5);
  g_assert_cmpuint (s->calls_failed, ==, 3);
  g_assert_cmpuint (s->errors_sent, ==, 4);
  g_assert_cmpuint (s->calls_timed_out, ==, 1);
  g_assert_cmpuint (s->connections, ==, 2);
  g_assert_cmpuint (s->connections_total, ==, 3);
  g_assert_cmpuint (s->modules, ==, 1);
  g_assert_cmpuint (s->active_modules, ==, 0);

  /* counted by hand: every line fed above, every line popped above */
  g_assert_cmpuint (s->messages_in, ==, 16);
  g_assert_cmpuint (s->messages_out, ==, 21);
  assert_quiet (f);
}

/* ------------------------------------------------------------------ */
/* Dependencies                                                        */
/* ------------------------------------------------------------------ */

#define MAX_DEP_MODULES 4

typedef struct
{
  const char *id;
  const char *version;
  const char *deps; /* JSON, single quotes; NULL for none */
  gboolean active;  /* once every module of the scenario is registered */
} DepModule;

static const struct DepScenario
{
  const char *name;
  DepModule modules[MAX_DEP_MODULES + 1];
  /* "+x" registers x, "+x@2.0.0" with that version, "-x" removes it;
   * NULL: every order of registering all, then removing in that order */
  const char *ops;
} dep_scenarios[] = {
  { "chain",
    { { "a", "1.0.0", "{'b':'^1.0.0'}", TRUE }, { "b", "1.2.0", "{'c':'~2.1'}", TRUE }, { "c", "2.1.5", NULL, TRUE } },
    NULL },
  { "long-chain",
    { { "a", "1.0.0", "{'b':'1'}", TRUE }, { "b", "1.0.0", "{'c':'1'}", TRUE }, { "c", "1.0.0", "{'d':'1'}", TRUE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  { "mutual",
    { { "a", "1.0.0", "{'b':'^1'}", TRUE }, { "b", "1.0.0", "{'a':'^1'}", TRUE } },
    NULL },
  { "cycle-of-three",
    { { "a", "1.0.0", "{'b':'*'}", TRUE }, { "b", "1.0.0", "{'c':'*'}", TRUE }, { "c", "1.0.0", "{'a':'*'}", TRUE } },
    NULL },
  { "cycle-with-tail",
    { { "a", "1.0.0", "{'b':'*'}", TRUE }, { "b", "1.0.0", "{'a':'*','c':'*'}", TRUE }, { "c", "1.0.0", "{'d':'*'}", TRUE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  { "self", { { "a", "1.0.0", "{'a':'^1.0.0'}", TRUE }, { "b", "1.0.0", "{'a':'1'}", TRUE } }, NULL },
  { "self-mismatch", { { "a", "1.0.0", "{'a':'^2.0.0'}", FALSE }, { "b", "1.0.0", "{'a':'*'}", FALSE } }, NULL },
  { "mutual-mismatch",
    { { "a", "1.0.0", "{'b':'^1'}", FALSE }, { "b", "1.0.0", "{'a':'^2'}", FALSE }, { "c", "1.0.0", "{'b':'*'}", FALSE } },
    NULL },
  { "cycle-needs-missing",
    { { "a", "1.0.0", "{'b':'*'}", FALSE }, { "b", "1.0.0", "{'a':'*','missing':'*'}", FALSE } },
    NULL },
  { "diamond",
    { { "a", "1.0.0", "{'b':'1','c':'1'}", TRUE }, { "b", "1.0.0", "{'d':'1'}", TRUE }, { "c", "1.0.0", "{'d':'1'}", TRUE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  { "diamond-one-side-mismatch",
    { { "a", "1.0.0", "{'b':'1','c':'1'}", FALSE }, { "b", "1.0.0", "{'d':'1'}", TRUE }, { "c", "1.0.0", "{'d':'2'}", FALSE },
      { "d", "1.0.0", NULL, TRUE } },
    NULL },
  /* the original broker aborts here: a requires a version b does not have
   * while b is itself inactive */
  { "mismatch-on-inactive",
    { { "a", "1.0.0", "{'b':'^2.0.0'}", FALSE }, { "b", "1.0.0", "{'c':'*'}", TRUE }, { "c", "1.0.0", NULL, TRUE } },
    NULL },
  { "mismatch-on-inactive-forever",
    { { "a", "1.0.0", "{'b':'^2.0.0'}", FALSE }, { "b", "1.0.0", "{'missing':'*'}", FALSE }, { "c", "1.0.0", "{'a':'*','b':'*'}", FALSE } },
    NULL },
  { "depends-on-juno",
    { { "a", "1.0.0", "{'juno':'>=0.0.1'}", TRUE }, { "b", "1.0.0", "{'juno':'>=1000.0.0'}", FALSE },
      { "c", "1.0.0", "{'a':'*','juno':'*'}", TRUE } },
    NULL },
  { "prerelease",
    { { "a", "1.0.0", "{'b':'>=1.0.0'}", FALSE }, { "b", "1.1.0-beta", NULL, TRUE }, { "c", "1.0.0", "{'b':'1.1.0-alpha'}", TRUE } },
    NULL },
  { "npm-ranges",
    { { "a", "1.0.0", "{'b':'^1.0.0 || ^2.0.0'}", TRUE }, { "b", "2.3.0", NULL, TRUE },
      { "c", "1.0.0", "{'b':'1.0.0 - 1.5.0'}", FALSE }, { "d", "1.0.0", "{'b':'>=2.0.0 <2.3.0'}", FALSE } },
    NULL },
  { "flap",
    { { "a", "1.0.0", "{'b':'^1'}", TRUE }, { "b", "1.0.0", NULL, TRUE }, { "c", "1.0.0", "{'a':'^1'}", TRUE } },
    "+c +a +b -b +b -b +b -a +a -c +c -b -a -c" },
  { "version-change",
    { { "a", "1.0.0", "{'b':'^1'}", TRUE }, { "b", "1.0.0", NULL, TRUE }, { "c", "1.0.0", "{'a':'*'}", TRUE } },
    "+a +c +b@2.0.0 -b +b@1.9.9 -b +b@0.9.0 -b +b -a +a@2.0.0 -b -a -c" },
  { "cycle-broken-and-mended",
    { { "a", "1.0.0", "{'b':'*'}", TRUE }, { "b", "1.0.0", "{'c':'*'}", TRUE }, { "c", "1.0.0", "{'a':'*'}", TRUE },
      { "d", "1.0.0", "{'a':'*','c':'*'}", TRUE } },
    "+a +b +d +c -b +b -c +c@2.0.0 -a +a -d -a -b -c" },
};

typedef struct
{
  const struct DepScenario *scenario;
  char *ops;
} DepTest;

static void
dep_test_free (gpointer data)
{
  DepTest *test = data;

  g_free (test->ops);
  g_free (test);
}

typedef struct
{
  Fixture *f;
  const struct DepScenario *s;
  guint n;
  FakePeer *watch;
  FakePeer *peers[MAX_DEP_MODULES];   /* NULL while not connected */
  char *versions[MAX_DEP_MODULES];    /* while connected */
  gboolean active[MAX_DEP_MODULES];   /* the model's verdict */
} DepRun;

static int
dep_index (const DepRun *run, const char *id)
{
  for (guint i = 0; i < run->n; i++)
    if (g_str_equal (run->s->modules[i].id, id))
      return (int) i;
  return -1;
}

static gboolean
requirement_met (const char *req_text, const char *version_text)
{
  g_autoptr(JunoVersionReq) req = juno_version_req_parse (req_text, NULL);
  g_auto(JunoVersion) version = { 0 };

  g_assert_nonnull (req);
  g_assert_true (juno_version_parse (version_text, &version, NULL));
  return juno_version_req_matches (req, &version);
}

/* The reference: start from every registered module active and strike out
 * those with an unmet dependency until nothing changes (the greatest fixed
 * point, computed naively over everything). */
static void
model_resolve (DepRun *run, gboolean *active)
{
  gboolean changed = TRUE;

  for (guint i = 0; i < run->n; i++)
    active[i] = run->peers[i] != NULL;
  while (changed)
    {
      changed = FALSE;
      for (guint i = 0; i < run->n; i++)
        {
          g_autoptr(JsonNode) deps = NULL;
          JsonObject *object;
          g_autoptr(GList) names = NULL;

          if (!active[i] || run->s->modules[i].deps == NULL)
            continue;
          deps = parse_json (run->s->modules[i].deps);
          object = json_node_get_object (deps);
          names = json_object_get_members (object);
          for (GList *l = names; l != NULL; l = l->next)
            {
              const char *name = l->data;
              const char *req = json_object_get_string_member (object, name);
              int target = dep_index (run, name);
              gboolean met;

              if (g_str_equal (name, "juno"))
                met = requirement_met (req, juno_broker_get_version (run->f->broker));
              else
                met = target >= 0 && active[target] && requirement_met (req, run->versions[target]);
              if (!met)
                {
                  active[i] = FALSE;
                  changed = TRUE;
                  break;
                }
            }
        }
    }
}

static void
dep_step (DepRun *run, const char *op)
{
  Fixture *f = run->f;
  gboolean before[MAX_DEP_MODULES] = { FALSE }, after[MAX_DEP_MODULES] = { FALSE };
  guint activated[MAX_DEP_MODULES] = { 0 }, deactivated[MAX_DEP_MODULES] = { 0 };
  guint events_before = f->events->len;
  g_auto(GStrv) parts = g_strsplit (op + 1, "@", 2);
  int i = dep_index (run, parts[0]);
  guint n_active = 1; /* watch */

  g_test_message ("step %s", op);
  g_assert_cmpint (i, >=, 0);
  memcpy (before, run->active, sizeof before);
  if (op[0] == '+')
    {
      const DepModule *m = &run->s->modules[i];

      g_assert_null (run->peers[i]);
      run->peers[i] = peer_new (f);
      run->versions[i] = g_strdup (parts[1] ? parts[1] : m->version);
      register_module (run->peers[i], m->id, run->versions[i], m->deps);
    }
  else
    {
      g_assert_cmpint (op[0], ==, '-');
      g_assert_nonnull (run->peers[i]);
      peer_remove (run->peers[i]);
      run->peers[i] = NULL;
      g_clear_pointer (&run->versions[i], g_free);
    }
  model_resolve (run, after);
  memcpy (run->active, after, sizeof after);

  /* each module still here hears of its own transition, once */
  for (guint j = 0; j < run->n; j++)
    {
      if (run->peers[j] == NULL)
        continue;
      if (!before[j] && after[j])
        pop_hook (run->peers[j], "juno.activated", "{}");
      else if (before[j] && !after[j])
        pop_hook (run->peers[j], "juno.deactivated", "{}");
      assert_no_output (run->peers[j]);
      g_assert_cmpint (module_is_active (f, run->s->modules[j].id), ==, after[j]);
      if (after[j])
        n_active++;
    }

  /* the broadcasts and signals: exactly one per real transition */
  while (pending (run->watch) > 0)
    {
      g_autoptr(JsonObject) object = pop_message (run->watch, 8, NULL);
      const char *hook = get_str (object, "hook");
      JsonObject *hook_data = json_object_get_object_member (object, "data");
      int k;

      g_assert_nonnull (hook_data);
      k = dep_index (run, get_str (hook_data, "moduleId"));
      g_assert_cmpint (k, >=, 0);
      if (g_str_equal (hook, "juno.moduleActivated"))
        activated[k]++;
      else if (g_str_equal (hook, "juno.moduleDeactivated"))
        deactivated[k]++;
      else
        g_assert_not_reached ();
    }
  for (guint j = 0; j < run->n; j++)
    {
      g_autofree char *on = g_strdup_printf ("activated %s", run->s->modules[j].id);
      g_autofree char *off = g_strdup_printf ("deactivated %s", run->s->modules[j].id);
      guint on_events = 0, off_events = 0;

      for (guint e = events_before; e < f->events->len; e++)
        {
          on_events += g_str_equal (g_ptr_array_index (f->events, e), on);
          off_events += g_str_equal (g_ptr_array_index (f->events, e), off);
        }
      g_assert_cmpuint (activated[j], ==, !before[j] && after[j]);
      g_assert_cmpuint (deactivated[j], ==, before[j] && !after[j]);
      g_assert_cmpuint (on_events, ==, activated[j]);
      g_assert_cmpuint (off_events, ==, deactivated[j]);
    }
  g_assert_cmpuint (juno_broker_get_stats (f->broker)->active_modules, ==, n_active);
  assert_quiet (f);
}

static void
test_dependencies (gconstpointer data)
{
  const DepTest *test = data;
  Fixture fixture = { 0 };
  DepRun run = { &fixture, test->scenario, 0 };
  g_auto(GStrv) ops = g_strsplit (test->ops, " ", -1);

  fixture_set_up (&fixture, NULL);
  while (run.n < MAX_DEP_MODULES && run.s->modules[run.n].id != NULL)
    run.n++;
  run.watch = add_module (&fixture, "watch");
  listen_hook (run.watch, "juno.moduleActivated");
  listen_hook (run.watch, "juno.moduleDeactivated");

  for (guint k = 0; ops[k] != NULL; k++)
    {
      dep_step (&run, ops[k]);
      /* once everything is registered the scenario's verdict holds */
      if (test->scenario->ops == NULL && k + 1 == run.n)
        for (guint j = 0; j < run.n; j++)
          g_assert_cmpint (run.active[j], ==, run.s->modules[j].active);
    }
  for (guint j = 0; j < run.n; j++)
    {
      g_assert_null (run.peers[j]); /* every sequence ends with all gone */
      g_assert_null (run.versions[j]);
    }
  fixture_tear_down (&fixture, NULL);
}

/* Adds one test per order of registration (removal in the same order). */
static void
add_permutations (const struct DepScenario *s, guint n, guint *order, guint depth, gboolean *used)
{
  if (depth == n)
    {
      DepTest *test = g_new0 (DepTest, 1);
      GString *ops = g_string_new (NULL);
      GString *name = g_string_new (NULL);
      g_autofree char *path = NULL;

      for (guint i = 0; i < n; i++)
        {
          g_string_append_printf (ops, "%s+%s", i ? " " : "", s->modules[order[i]].id);
          g_string_append (name, s->modules[order[i]].id);
        }
      for (guint i = 0; i < n; i++)
        g_string_append_printf (ops, " -%s", s->modules[order[i]].id);
      test->scenario = s;
      test->ops = g_string_free (ops, FALSE);
      path = g_strdup_printf ("/core/broker/deps/%s/%s", s->name, name->str);
      g_string_free (name, TRUE);
      g_test_add_data_func_full (path, test, test_dependencies, dep_test_free);
      return;
    }
  for (guint i = 0; i < n; i++)
    if (!used[i])
      {
        used[i] = TRUE;
        order[depth] = i;
        add_permutations (s, n, order, depth + 1, used);
        used[i] = FALSE;
      }
}

static void
add_dependency_tests (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (dep_scenarios); k++)
    {
      const struct DepScenario *s = &dep_scenarios[k];
      guint n = 0;

      while (n < MAX_DEP_MODULES && s->modules[n].id != NULL)
        n++;
      if (s->ops == NULL)
        {
          guint order[MAX_DEP_MODULES];
          gboolean used[MAX_DEP_MODULES] = { FALSE };

          add_permutations (s, n, order, 0, used);
        }
      else
        {
          DepTest *test = g_new0 (DepTest, 1);
          g_autofree char *path = g_strdup_printf ("/core/broker/deps/%s", s->name);

          test->scenario = s;
          test->ops = g_strdup (s->ops);
          g_test_add_data_func_full (path, test, test_dependencies, dep_test_free);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Teardown under load                                                 */
/* ------------------------------------------------------------------ */

static void
test_remove_everything (Fixture *f, gconstpointer data)
{
  FakePeer *peers[8];
  const JunoStats *stats = juno_broker_get_stats (f->broker);

  juno_broker_set_call_timeout (f->broker, (guint64) 3600 * G_USEC_PER_SEC);
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);
      g_autofree char *deps = i > 0 ? g_strdup_printf ("{'m%u':'*','m%u':'*'}", i - 1, (i + 3) % 8) : NULL;

      peers[i] = peer_new (f);
      register_module (peers[i], id, "1.0.0", deps);
    }
  /* all active once the ring closes through m0 */
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    {
      pop_hook (peers[i], "juno.activated", "{}");
      declare (peers[i], "f");
      listen_hook (peers[i], "juno.moduleDisconnected");
      listen_hook (peers[i], "m0.ev");
    }
  g_assert_cmpuint (stats->active_modules, ==, 8);
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    for (guint j = 0; j < G_N_ELEMENTS (peers); j++)
      feedf (peers[i], "{'requestId':'c%u','type':3,'function':'m%u.f'}", j, j);
  g_assert_cmpuint (g_hash_table_size (f->broker->calls), ==, 64);
  g_assert_cmpuint (g_queue_get_length (&f->broker->deadlines), ==, 64);
  g_assert_cmpuint (g_hash_table_size (f->broker->dependents), >, 0);
  g_assert_cmpuint (g_hash_table_size (f->broker->listeners), ==, 2);
  /* fixture_tear_down removes them all and checks that nothing is left */
}

/* ------------------------------------------------------------------ */

static GLogWriterOutput
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

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  logged_warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (test_log_writer, NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/broker/errors/%s", error_cases[i].name);

      g_test_add_data_func (path, &error_cases[i], test_error_case);
    }
  ADD ("/core/broker/errors/oversized", test_oversized);
  ADD ("/core/broker/register/activated", test_register_activated);
  ADD ("/core/broker/register/inactive", test_register_inactive);
  ADD ("/core/broker/register/accepted-forms", test_register_accepted_forms);
  ADD ("/core/broker/register/name-reusable", test_register_name_reusable);
  ADD ("/core/broker/declare", test_declare);
  ADD ("/core/broker/call/route", test_call_route);
  ADD ("/core/broker/call/same-request-id", test_call_same_request_id);
  ADD ("/core/broker/call/callee-error", test_call_callee_error);
  ADD ("/core/broker/call/foreign-token", test_call_foreign_token);
  ADD ("/core/broker/call/self", test_call_self);
  ADD ("/core/broker/call/callee-disconnected", test_call_callee_disconnected);
  ADD ("/core/broker/call/timeout", test_call_timeout);
  ADD ("/core/broker/call/max-in-flight", test_call_max_in_flight);
  ADD ("/core/broker/call/timeout-lowered", test_call_timeout_lowered);
  ADD ("/core/broker/in-process/call", test_in_process_call);
  ADD ("/core/broker/in-process/trigger", test_in_process_trigger);
  ADD ("/core/broker/properties", test_properties);
  ADD ("/core/broker/endpoint-credentials", test_endpoint_credentials);
  ADD ("/core/broker/register/dependency-limit", test_register_dependency_limit);
  ADD ("/core/broker/register/line-ending", test_line_ending);
  ADD ("/core/broker/builtin/functions", test_builtin_functions);
  ADD ("/core/broker/module-accessors", test_module_accessors);
  ADD ("/core/broker/hooks/deliver", test_hooks_deliver);
  ADD ("/core/broker/hooks/lifecycle", test_hooks_lifecycle);
  ADD ("/core/broker/signals", test_signals);
  ADD ("/core/broker/stats", test_stats);
  ADD ("/core/broker/remove-everything", test_remove_everything);
  add_dependency_tests ();

  status = g_test_run ();
  g_ptr_array_unref (logged_warnings);
  return status;
}
