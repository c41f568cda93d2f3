/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* junoctl.h: what the junoctl verbs share
 *
 * Each verb lives in its own junoctl-<verb>.c and gets the parsed global
 * options plus its own arguments. Errors are printed once, as
 * "junoctl: VERB: why", by junoctl_fail(), which also picks the exit status.
 */
#pragma once

#include <juno.h>

#include "juno-common.h"

G_BEGIN_DECLS

/* Exit statuses; docs/junoctl.1 lists them. */
typedef enum
{
  JUNOCTL_EXIT_OK = 0,
  JUNOCTL_EXIT_FAILURE = 1,       /* the broker or a module answered with an error */
  JUNOCTL_EXIT_USAGE = 2,         /* bad command line or bad JSON */
  JUNOCTL_EXIT_NO_BROKER = 3,     /* could not reach the broker */
  JUNOCTL_EXIT_DISCONNECTED = 4,  /* the broker went away mid-command */
  JUNOCTL_EXIT_TIMEOUT = 5,       /* gave up waiting */
} JunoctlExit;

/* junoctl-observer.c: a connection that registers no module */
typedef struct _JunoctlObserver JunoctlObserver;
/* @data_json: the data exactly as the broker sent it */
typedef void (*JunoctlHookFunc) (const char *data_json, const char *hook, JsonNode *data, gpointer user_data);
typedef void (*JunoctlLostFunc) (gpointer user_data);

JunoctlObserver *junoctl_observer_connect (const char *address, GError **error);
void junoctl_observer_free (JunoctlObserver *obs);
void junoctl_observer_set_hook_func (JunoctlObserver *obs, JunoctlHookFunc func, gpointer user_data);
void junoctl_observer_set_lost_func (JunoctlObserver *obs, JunoctlLostFunc func, gpointer user_data);
gboolean junoctl_observer_is_lost (JunoctlObserver *obs);
JsonObject *junoctl_observer_request (JunoctlObserver *obs, int type, const char *members,
                                      double timeout_sec, GError **error);

typedef struct
{
  const char *verb;
  char *socket_path;
  char *tcp_address;
  gboolean json;
  gboolean color;
  GMainLoop *loop;
  JunoClient *client;        /* call: a module of its own */
  JunoctlObserver *observer; /* the other verbs: an observer */
  /* Set by whatever ends a long-running verb, possibly before it runs. */
  int status;
  gboolean quit;
  gboolean failed; /* an error was printed: one line is enough */
  guint signal_ids[2]; /* SIGINT, SIGTERM: watched from the first connection on */
} Junoctl;

void junoctl_clear (Junoctl *ctl);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Junoctl, junoctl_clear)

typedef int (*JunoctlVerbFunc) (Junoctl *ctl, int argc, char **argv);

/* junoctl.c */
GOptionContext *junoctl_option_context_new (Junoctl *ctl,
                                            const char *parameters,
                                            const char *summary,
                                            const GOptionEntry *entries);
int junoctl_parse_options (Junoctl *ctl, GOptionContext *context, int *argc, char ***argv);
int junoctl_usage (Junoctl *ctl, const char *message);

/* junoctl-client.c: the thin layer over libjuno */
int junoctl_fail (Junoctl *ctl, const char *what, const GError *error);
int junoctl_exit_status (const GError *error);
JunoClient *junoctl_connect (Junoctl *ctl, const char *module_id, GError **error);
gboolean junoctl_observe (Junoctl *ctl, GError **error);
void junoctl_unobserve (Junoctl *ctl);
JsonNode *junoctl_call (Junoctl *ctl, const char *function, JsonNode *arguments, GError **error);
JsonObject *junoctl_call_raw (Junoctl *ctl, const char *function, const char *arguments_json, GError **error);
gboolean junoctl_listen_pattern (Junoctl *ctl, const char *pattern, GError **error);
void junoctl_set_hook_func (Junoctl *ctl, JunoctlHookFunc func, gpointer user_data);
gboolean junoctl_check_json_object (const char *text, GError **error);
char *junoctl_compact_json_object (const char *text, GError **error);
void junoctl_print_json (Junoctl *ctl, JsonNode *node);
void junoctl_run (Junoctl *ctl);
void junoctl_quit (Junoctl *ctl, int status);
void junoctl_watch_connection (Junoctl *ctl);
char *junoctl_timestamp (void);
char *junoctl_own_module_id (void);
char *junoctl_broker_address (Junoctl *ctl);

/* Output helpers (junoctl-client.c) */
const char *junoctl_color (Junoctl *ctl, const char *code);
void junoctl_print_table (Junoctl *ctl, GPtrArray *rows, guint n_columns);

/* Module objects from juno.listModules / juno.getModuleInfo */
const char *junoctl_module_string (JsonObject *module, const char *member);
gboolean junoctl_module_active (JsonObject *module);
char *junoctl_module_join (JsonObject *module, const char *member, const char *separator);

JsonNode *junoctl_list_modules (Junoctl *ctl, GError **error);

int junoctl_list (Junoctl *ctl, int argc, char **argv);
int junoctl_info (Junoctl *ctl, int argc, char **argv);
int junoctl_call_verb (Junoctl *ctl, int argc, char **argv);
int junoctl_trigger (Junoctl *ctl, int argc, char **argv);
int junoctl_listen (Junoctl *ctl, int argc, char **argv);
int junoctl_monitor (Junoctl *ctl, int argc, char **argv);
int junoctl_stats (Junoctl *ctl, int argc, char **argv);
int junoctl_wait (Junoctl *ctl, int argc, char **argv);
int junoctl_complete (Junoctl *ctl, int argc, char **argv);

G_END_DECLS
