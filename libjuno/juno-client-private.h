/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-client-private.h: JunoClient's insides, shared by its three files
 *
 * juno-client.c (the object, its state and the public setup API),
 * juno-client-requests.c (requests in flight, calls, triggers) and
 * juno-client-messages.c (the wire side). JunoInvocation uses the last.
 */
#pragma once

#include "juno-client.h"
#include "juno-invocation.h"
#include "juno-link.h"
#include "juno-common.h"

G_BEGIN_DECLS

#define RETRY_DELAY_MIN_MS 100
#define RETRY_DELAY_MAX_MS 5000

typedef enum
{
  JUNO_REQUEST_CALL,
  JUNO_REQUEST_TRIGGER,
  JUNO_REQUEST_DECLARE,
  JUNO_REQUEST_LISTEN,
} JunoRequestKind;

typedef struct
{
  JunoClient *client; /* unowned: the task holds a reference */
  JunoRequestKind kind;
  char *id;
  char *line;     /* the encoded request */
  GTask *task;    /* calls and triggers only */
  GSource *timeout_source;
  GSource *cancel_source;
  gboolean queued;
} JunoRequest;

typedef struct
{
  JunoFunctionHandler handler;
  gpointer user_data;
  GDestroyNotify notify;
} JunoFunctionEntry;

/* A synchronous call in progress: its private context, the id of the
 * request it waits for, the call it was made in (nested syncs). */
typedef struct _JunoSync JunoSync;
struct _JunoSync
{
  JunoSync *outer;
  GMainContext *context;
  char *request_id;
  gboolean all;       /* connect: handle every event */
  gboolean self_call; /* a call of one of the client's own functions */
};

struct _JunoClient
{
  GObject parent_instance;

  GMainContext *context;
  char *module_id;
  char *version;
  char *address;
  gboolean reconnect;
  int default_timeout;

  GHashTable *dependencies; /* module id -> requirement */
  GHashTable *functions;    /* bare name -> JunoFunctionEntry */
  GPtrArray *hooks;         /* "module.hook" listened to, in order */
  GHashTable *requests;     /* request id -> JunoRequest, sent or queued */
  GQueue queue;             /* JunoRequest not yet sent, in order */
  guint64 next_id;

  JunoLink *link;
  GQueue inbox;             /* JunoLinkEvent taken from the link, not yet handled */
  GSource *process_source;  /* handles the inbox in the client's context */
  JunoSync *sync;           /* the innermost synchronous call, or NULL */
  char *register_id;
  guint generation;
  gboolean registered;
  gboolean active;
  gboolean declared; /* declarations sent on this link */
  GTask *connect_task;
  GSource *connect_cancel_source;
  GSource *retry_source;
  guint retry_delay_ms;
};

/* juno-client.c */
void juno_client_set_active (JunoClient *self, gboolean active);
void juno_client_lose_link (JunoClient *self, const GError *error);
void juno_client_emit_hook_triggered (JunoClient *self, const char *hook, JsonNode *data);

/* juno-client-requests.c */
void juno_request_free (JunoRequest *request);
JunoRequest *juno_request_steal (JunoClient *self, JunoRequest *request);
void juno_request_fail (JunoClient *self, JunoRequest *request, GError *error);
char *juno_client_next_request_id (JunoClient *self);
JsonBuilder *juno_message_begin (const char *request_id, JunoMessageType type);
char *juno_message_encode (JsonBuilder *builder);
void juno_client_send_line (JunoClient *self, const char *line);
void juno_client_send_request (JunoClient *self, JunoRequest *request);
void juno_client_submit_request (JunoClient *self,
                                 JunoRequestKind kind,
                                 JsonBuilder *builder,
                                 const char *id,
                                 GTask *task,
                                 int timeout_msec,
                                 GCancellable *cancellable);
void juno_client_submit_line (JunoClient *self,
                              JunoRequestKind kind,
                              char *line,
                              const char *id,
                              GTask *task,
                              int timeout_msec,
                              GCancellable *cancellable);
gboolean juno_message_check (const char *line, GError **error);
gboolean juno_append_json_object (GString *out, const char *text, const char *what, GError **error);
gboolean juno_check_trigger_hook (const char *hook, GError **error);
void juno_client_send_declaration (JunoClient *self, const char *name);
void juno_client_send_listen (JunoClient *self, const char *hook);
gboolean juno_client_sync_begin (JunoClient *self, JunoSync *sync, gboolean all, GError **error);
void juno_client_sync_set_function (JunoClient *self, JunoSync *sync, const char *function);
GAsyncResult *juno_client_sync_end (JunoClient *self, JunoSync *sync, GAsyncResult **result);
void juno_client_on_sync_done (GObject *source, GAsyncResult *result, gpointer user_data);

/* juno-client-messages.c */
void juno_client_start_link (JunoClient *self);
void juno_client_clear_inbox (JunoClient *self);
void juno_client_schedule_processing (JunoClient *self);
void juno_client_pump_sync (JunoClient *self);

/* Whether connection @generation is still the client's live one. */
gboolean juno_client_is_current (JunoClient *client, guint generation);

/* Sends the answer to the call @token received on connection @generation;
 * dropped when that connection is gone (the broker has already failed the
 * call for the caller). @value NULL answers with error @code. */
void juno_client_send_answer (JunoClient *client,
                              guint generation,
                              const char *token,
                              JsonNode *value,
                              int code);

JunoInvocation *juno_invocation_new (JunoClient *client,
                                     guint generation,
                                     const char *token,
                                     const char *function,
                                     const char *caller,
                                     JsonNode *arguments);

G_END_DECLS
