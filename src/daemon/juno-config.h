/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-config.h: juno.conf(5), juno's options in a key file
 *
 * Group [juno] holds the long options by name ("max-names=64",
 * "policy-dir=/a;/b", "verbose=2"). The file is read first and the command
 * line after it: a setting given on both takes the command line's value,
 * a list (policy-dir) gets the command line's items after the file's.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* $XDG_CONFIG_HOME/juno/juno.conf for a user broker; SYSCONFDIR/juno/juno.conf
 * for the system broker (root without XDG_RUNTIME_DIR, the rule of the
 * default socket). */
char *juno_config_default_path (void);
/* --config FILE or --config=FILE in @argv, or NULL. */
const char *juno_config_find_arg (int argc, char **argv, gboolean *given);
/* The file's settings as arguments, argv[0] first; a missing file gives
 * just argv[0] unless @must_exist. Unknown groups and settings are errors
 * naming the file. */
char **juno_config_load (const char *path, gboolean must_exist, const GOptionEntry *entries, GError **error);
/* Parses @config_args (errors named after @path), then the command line. */
gboolean juno_config_parse (GOptionContext *context, const GOptionEntry *entries, char **config_args,
                            const char *path, int *argc, char ***argv, GError **error);

G_END_DECLS
