/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker-fixture.h: the broker core through fake endpoints, for the
 * test-broker-*.c unit tests
 *
 * A FakePeer is an endpoint whose send function keeps every line it is
 * given; tests feed lines as a module would and pop what came back, parsed
 * with json-glib (and checked against juno's own RFC 8259 scanner, since
 * json-glib is lenient). Lines in the tests are written with single quotes
 * for readability; feed() turns them into double quotes.
 *
 * Every test ends in fixture_tear_down, which checks the broker's counters
 * against what the fake peers saw, removes every endpoint, checks that the
 * broker's tables are empty again and that the broker is finalized, and
 * fails on any unexpected warning. Timeouts run on the default main
 * context with a guard timer, never a sleep.
 */
#pragma once

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
  /* what removed clients (juno_broker_add_client) fed and got */
  guint64 client_in, client_bytes_in, client_out, client_bytes_out;
};

/* Warnings the core logged (juno_broker_log_peer at WARNING level); a test
 * must expect each one. Criticals stay fatal. */
extern GPtrArray *logged_warnings;

FakePeer *peer_new (Fixture *f);
void peer_remove (FakePeer *peer);
char *peer_id_string (FakePeer *peer);
void feed_raw (FakePeer *peer, const char *line, gsize len);
void feed (FakePeer *peer, const char *line);
void G_GNUC_PRINTF (2, 3) feedf (FakePeer *peer, const char *format, ...);
guint pending (FakePeer *peer);
void assert_no_output (FakePeer *peer);
void assert_quiet (Fixture *f);
JsonNode *parse_json (const char *text);
guint64 last_seq (FakePeer *peer);
JsonNode *get_member (JsonObject *object, const char *name);
const char *get_str (JsonObject *object, const char *name);
void assert_member_json (JsonObject *object, const char *name, const char *expected);
void assert_members (JsonObject *object, const char *names);
JsonObject *pop_message (FakePeer *peer, gint64 type, const char *request_id);
void pop_reply (FakePeer *peer, gint64 type, const char *request_id);
void pop_error (FakePeer *peer, const char *request_id, gint64 code);
void pop_hook (FakePeer *peer, const char *hook, const char *data);
char *pop_call (FakePeer *peer, const char *function, const char *arguments, const char *caller);
void pop_response (FakePeer *peer, const char *request_id, const char *data);
void register_module (FakePeer *peer, const char *id, const char *version, const char *deps);
FakePeer *add_module (Fixture *f, const char *id);
void declare (FakePeer *peer, const char *function);
void listen_hook (FakePeer *peer, const char *hook);
JsonObject *module_info (Fixture *f, const char *id);
gboolean module_is_active (Fixture *f, const char *id);
void wait_for_output (FakePeer *peer);
void iterate_pending_sources (void);
void fixture_set_up (Fixture *f, gconstpointer data);
void fixture_tear_down (Fixture *f, gconstpointer data);
void assert_events (Fixture *f, const char *const *expected);
guint count_events (Fixture *f, const char *event);

GLogWriterOutput test_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data);
void broker_test_init (int *argc, char ***argv);
int broker_test_run (void);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
