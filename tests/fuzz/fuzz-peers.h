/* fuzz-peers.h: fake endpoints on a real JunoBroker, for the fuzz targets
 *
 * A peer records every line the broker sends it, checks that each is one
 * valid message in the broker's own grammar, and hands it to an optional
 * observer. fuzz_world_finish() removes every peer still connected and
 * checks that the broker's tables are empty again.
 */
#pragma once

#include <string.h>

#include "fuzz-common.h"
#include "juno-broker-private.h"
#include "juno-protocol.h"

#define FUZZ_MAX_PEERS 4

typedef struct _FuzzWorld FuzzWorld;

typedef struct
{
  FuzzWorld *world;
  guint index;
  JunoEndpoint *ep; /* NULL when not connected */
  guint64 lines;    /* lines received since connecting */
} FuzzPeer;

struct _FuzzWorld
{
  JunoBroker *broker;
  FuzzPeer peers[FUZZ_MAX_PEERS];
  /* called for each line a peer receives, already checked */
  void (*observe) (FuzzWorld *world, FuzzPeer *peer, const JunoMessage *msg, gint64 type);
  gpointer data;
};

static void
fuzz_peer_send (gpointer user_data, const char *data, gsize len)
{
  FuzzPeer *peer = user_data;
  JunoMessage msg;
  gint64 type = -1;

  /* one whole line per call, and a valid message of the protocol */
  FUZZ_ASSERT (len >= 2 && data[len - 1] == '\n' && memchr (data, '\n', len - 1) == NULL);
  FUZZ_ASSERT (juno_message_parse (data, len - 1, &msg) == JUNO_PARSE_OK);
  FUZZ_ASSERT (msg.keys[JUNO_KEY_REQUEST_ID].kind == JUNO_JSON_STRING);
  FUZZ_ASSERT (juno_json_value_get_int64 (&msg.keys[JUNO_KEY_TYPE], &type) && type >= 0 && type <= 10);
  peer->lines++;
  if (peer->world->observe != NULL)
    peer->world->observe (peer->world, peer, &msg, type);
}

static const JunoEndpointFuncs fuzz_peer_funcs = {
  .send = fuzz_peer_send,
};

static inline void
fuzz_world_init (FuzzWorld *world)
{
  memset (world, 0, sizeof *world);
  world->broker = juno_broker_new ();
  juno_broker_set_call_timeout (world->broker, 0); /* no timer: the fuzzer has no clock */
  for (guint i = 0; i < FUZZ_MAX_PEERS; i++)
    {
      world->peers[i].world = world;
      world->peers[i].index = i;
    }
}

static inline FuzzPeer *
fuzz_peer_connect (FuzzWorld *world, guint index)
{
  FuzzPeer *peer = &world->peers[index % FUZZ_MAX_PEERS];

  if (peer->ep == NULL)
    {
      peer->lines = 0;
      peer->ep = juno_broker_add_endpoint (world->broker, &fuzz_peer_funcs, peer, "fuzz");
      FUZZ_ASSERT (peer->ep != NULL);
    }
  return peer;
}

static inline void
fuzz_peer_disconnect (FuzzPeer *peer)
{
  if (peer->ep == NULL)
    return;
  juno_broker_remove_endpoint (peer->world->broker, peer->ep);
  peer->ep = NULL;
}

/* Feeds @line from an unterminated copy, so a read past its end is caught. */
static inline void
fuzz_peer_feed (FuzzPeer *peer, const char *line, gsize len)
{
  g_autofree char *copy = g_memdup2 (line, len > 0 ? len : 1);

  FUZZ_ASSERT (peer->ep != NULL);
  juno_broker_handle_line (peer->world->broker, peer->ep, copy, len);
}

static inline void
fuzz_world_finish (FuzzWorld *world)
{
  for (guint i = 0; i < FUZZ_MAX_PEERS; i++)
    fuzz_peer_disconnect (&world->peers[i]);

  /* everything the peers made is gone with them */
  FUZZ_ASSERT (g_hash_table_size (world->broker->endpoints) == 0);
  FUZZ_ASSERT (g_hash_table_size (world->broker->modules) == 1); /* juno */
  FUZZ_ASSERT (g_hash_table_size (world->broker->dependents) == 0);
  FUZZ_ASSERT (g_hash_table_size (world->broker->listeners) == 0);
  FUZZ_ASSERT (g_hash_table_size (world->broker->calls) == 0);
  FUZZ_ASSERT (g_queue_is_empty (&world->broker->deadlines));
  FUZZ_ASSERT (world->broker->stats.connections == 0);
  FUZZ_ASSERT (world->broker->stats.modules == 0 && world->broker->stats.active_modules == 0);
  g_clear_object (&world->broker);
}
