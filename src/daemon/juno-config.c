/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-config.c: see juno-config.h
 *
 * juno.conf(5) is a GLib key file whose group [juno] holds juno's long
 * options under their own names. The file's settings are turned into
 * arguments ("--name=value") and parsed by the same GOptionContext entries
 * as the command line, before it: one grammar and one set of checks for
 * both, and every option the daemon gains can be set in the file without
 * a line of code here.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "juno-common.h"
#include "juno-config.h"

#define CONFIG_GROUP "juno"

char *
juno_config_default_path (void)
{
  /* the same rule as the default socket (juno_default_socket_path): a
   * user's runtime directory makes a user broker; root without one is the
   * system broker */
  if (juno_get_runtime_dir () == NULL && geteuid () == 0)
    return g_build_filename (JUNO_SYSCONFDIR, "juno", "juno.conf", NULL);
  return g_build_filename (g_get_user_config_dir (), "juno", "juno.conf", NULL);
}

static const GOptionEntry *
find_entry (const GOptionEntry *entries, const char *name)
{
  for (const GOptionEntry *e = entries; e->long_name != NULL; e++)
    if (g_str_equal (e->long_name, name))
      return e;
  return NULL;
}

static gboolean
takes_no_value (const GOptionEntry *e)
{
  return e->arg == G_OPTION_ARG_NONE || (e->arg == G_OPTION_ARG_CALLBACK && (e->flags & G_OPTION_FLAG_NO_ARG));
}

static gboolean
is_list (const GOptionEntry *e)
{
  return e->arg == G_OPTION_ARG_STRING_ARRAY || e->arg == G_OPTION_ARG_FILENAME_ARRAY;
}

/* Settings that make no sense in a file. */
static gboolean
settable (const char *name)
{
  return !g_str_equal (name, "config") && !g_str_equal (name, "version") && !g_str_equal (name, "help");
}

static gboolean
add_setting (GPtrArray *args, const char *path, GKeyFile *file, const GOptionEntry *e, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (takes_no_value (e))
    {
      /* a switch: true/false, or a count for one that may be repeated (-V) */
      g_autofree char *text = g_key_file_get_value (file, CONFIG_GROUP, e->long_name, NULL);
      guint64 count = 0;

      if (g_strcmp0 (text, "true") == 0)
        count = 1;
      else if (g_strcmp0 (text, "false") == 0)
        count = 0;
      else if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, 16, &count, NULL))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _("%s: '%s' must be true, false or a count, not '%s'"), path, e->long_name,
                       text ? text : "");
          return FALSE;
        }
      for (guint64 i = 0; i < count; i++)
        g_ptr_array_add (args, g_strconcat ("--", e->long_name, NULL));
      return TRUE;
    }
  if (is_list (e))
    {
      g_auto(GStrv) values = g_key_file_get_string_list (file, CONFIG_GROUP, e->long_name, NULL, &local);

      if (values == NULL)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: %s", path, local->message);
          return FALSE;
        }
      for (char **v = values; *v != NULL; v++)
        g_ptr_array_add (args, g_strconcat ("--", e->long_name, "=", *v, NULL));
      return TRUE;
    }
  {
    g_autofree char *value = g_key_file_get_string (file, CONFIG_GROUP, e->long_name, &local);

    if (value == NULL)
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: %s", path, local->message);
        return FALSE;
      }
    g_ptr_array_add (args, g_strconcat ("--", e->long_name, "=", value, NULL));
  }
  return TRUE;
}

char **
juno_config_load (const char *path, gboolean must_exist, const GOptionEntry *entries, GError **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) groups = NULL;
  g_auto(GStrv) keys = NULL;

  g_ptr_array_add (args, g_strdup ("juno"));
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local))
    {
      if (!must_exist && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_ptr_array_add (args, NULL);
          return (char **) g_ptr_array_steal (args, NULL);
        }
      g_set_error (error, local->domain, local->code, "%s: %s", path, local->message);
      return NULL;
    }

  groups = g_key_file_get_groups (file, NULL);
  for (char **g = groups; *g != NULL; g++)
    if (!g_str_equal (*g, CONFIG_GROUP))
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                     _("%s: unknown group [%s]; the settings go in [%s]"), path, *g, CONFIG_GROUP);
        return NULL;
      }
  if (groups[0] == NULL)
    {
      g_ptr_array_add (args, NULL);
      return (char **) g_ptr_array_steal (args, NULL);
    }

  keys = g_key_file_get_keys (file, CONFIG_GROUP, NULL, NULL);
  for (char **k = keys; k != NULL && *k != NULL; k++)
    {
      const GOptionEntry *e = find_entry (entries, *k);

      if (e == NULL || !settable (*k))
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                       _("%s: unknown setting '%s' in [%s] (see juno.conf(5))"), path, *k, CONFIG_GROUP);
          return NULL;
        }
      if (!add_setting (args, path, file, e, error))
        return NULL;
    }
  g_ptr_array_add (args, NULL);
  return (char **) g_ptr_array_steal (args, NULL);
}

const char *
juno_config_find_arg (int argc, char **argv, gboolean *given)
{
  *given = FALSE;
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        break;
      if (g_str_has_prefix (argv[i], "--config="))
        {
          *given = TRUE;
          return argv[i] + strlen ("--config=");
        }
      if (g_str_equal (argv[i], "--config") && i + 1 < argc)
        {
          *given = TRUE;
          return argv[i + 1];
        }
    }
  return NULL;
}

gboolean
juno_config_parse (GOptionContext *context, const GOptionEntry *entries, char **config_args,
                   const char *path, int *argc, char ***argv, GError **error)
{
  int n_config = (int) g_strv_length (config_args);
  gpointer *lists;
  gsize n_entries = 0;
  gboolean ok = TRUE;

  for (const GOptionEntry *e = entries; e->long_name != NULL; e++)
    n_entries++;
  lists = g_new0 (gpointer, n_entries);

  /* the file first, its errors named after it, in a context of its own
   * (a context remembers the lists it filled until it is freed) */
  if (n_config > 1)
    {
      g_autoptr(GOptionContext) file_context = g_option_context_new (NULL);
      g_autoptr(GError) local = NULL;
      g_autofree char **copy = g_memdup2 (config_args, sizeof (char *) * (gsize) (n_config + 1));
      int n = n_config;
      char **v = copy;

      g_option_context_add_main_entries (file_context, entries, GETTEXT_PACKAGE);
      g_option_context_set_help_enabled (file_context, FALSE);
      if (!g_option_context_parse (file_context, &n, &v, &local))
        {
          g_set_error (error, G_OPTION_ERROR, local->code, "%s: %s", path, local->message);
          ok = FALSE;
        }
    }
  /* A list set by the file is put aside, so the command line's adds to it
   * instead of replacing it (and the file's is not lost). */
  for (gsize i = 0; ok && i < n_entries; i++)
    if (is_list (&entries[i]))
      {
        lists[i] = *(char ***) entries[i].arg_data;
        *(char ***) entries[i].arg_data = NULL;
      }
  if (ok && !g_option_context_parse (context, argc, argv, error))
    ok = FALSE;
  for (gsize i = 0; i < n_entries; i++)
    {
      char ***target = entries[i].arg_data;
      g_autoptr(GStrvBuilder) merged = NULL;

      if (lists[i] == NULL)
        continue;
      if (*target == NULL)
        {
          *target = lists[i];
          continue;
        }
      merged = g_strv_builder_new ();
      g_strv_builder_addv (merged, (const char **) lists[i]);
      g_strv_builder_addv (merged, (const char **) *target);
      g_strfreev (lists[i]);
      g_strfreev (*target);
      *target = g_strv_builder_end (merged);
    }
  g_free (lists);
  return ok;
}
