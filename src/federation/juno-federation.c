/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-federation.c: the daemon's side of the federation
 *
 * What needs no NATS: the option checks and the default broker name,
 * which the module calls too, and the loader of the module
 * juno-federation.so (juno-federation-nats.c), which the daemon opens
 * only for --nats. The module is looked for in $JUNO_MODULE_DIR, else in
 * the directory it is installed in (JUNO_MODULEDIR); it is opened with
 * every symbol bound at once, so that a function of the daemon it needs
 * and does not find is an error here, not a crash later, and stays loaded.
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <gmodule.h>
#include <stdlib.h>
#include <string.h>

#include "juno-common.h"
#include "juno-federation.h"
#include "juno-federation-module.h"

/* the table of the module, once loaded */
static const JunoFederationModule *module_table;

gboolean
juno_federation_supported (void)
{
  return JUNO_HAVE_NATS;
}

char *
juno_federation_module_path (void)
{
  /* the caller's environment, as GIO_MODULE_DIR; not for a set-id process */
  const char *dir = secure_getenv (JUNO_MODULE_DIR_VARIABLE);

  if (dir == NULL || dir[0] == '\0')
    dir = JUNO_MODULEDIR;
  return g_build_filename (dir, JUNO_FEDERATION_MODULE_FILE, NULL);
}

gboolean
juno_federation_load (GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) local_error = NULL;
  JunoFederationModuleEntry entry = NULL;
  const JunoFederationModule *table;
  GModule *module;

  if (module_table != NULL)
    return TRUE;
  if (!juno_federation_supported ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("juno was built without NATS support: --nats is not available"));
      return FALSE;
    }
  path = juno_federation_module_path ();
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("--nats needs the federation module %s, which is missing (%s names the directory to look in)"),
                   path, JUNO_MODULE_DIR_VARIABLE);
      return FALSE;
    }
  /* not lazy: a symbol of the daemon the module lacks fails here */
  module = g_module_open_full (path, G_MODULE_BIND_LOCAL, &local_error);
  if (module == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("cannot load the federation module %s: %s"), path,
                   local_error->message);
      return FALSE;
    }
  if (!g_module_symbol (module, JUNO_FEDERATION_MODULE_ENTRY, (gpointer *) &entry) || entry == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s is not juno's federation module: %s"), path,
                   g_module_error ());
      g_module_close (module);
      return FALSE;
    }
  table = entry ();
  if (table == NULL || table->abi != JUNO_FEDERATION_MODULE_ABI || table->size != sizeof (JunoFederationModule) ||
      g_strcmp0 (table->version, PACKAGE_VERSION) != 0 || table->create == NULL || table->stop == NULL ||
      table->get_state == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("%s is the federation module of another build of juno, not of juno %s"), path, PACKAGE_VERSION);
      g_module_close (module);
      return FALSE;
    }
  g_module_make_resident (module);
  g_debug ("Federation module %s loaded", path);
  module_table = table;
  return TRUE;
}


char *
juno_federation_default_broker_name (void)
{
  const char *host = g_get_host_name ();
  GString *name = g_string_new (NULL);

  for (const char *p = host; *p != '\0' && name->len < JUNO_BROKER_NAME_MAX_LENGTH; p++)
    g_string_append_c (name, g_ascii_isalnum (*p) || *p == '_' || *p == '-' ? *p : '-');
  if (name->len == 0)
    g_string_assign (name, "broker");
  return g_string_free (name, FALSE);
}

gboolean
juno_federation_options_check (const JunoFederationOptions *options, GError **error)
{
  double heartbeat = options->heartbeat > 0 ? options->heartbeat : JUNO_FEDERATION_HEARTBEAT_DEFAULT_SEC;
  double timeout = options->timeout > 0 ? options->timeout : JUNO_FEDERATION_TIMEOUT_DEFAULT_SEC;

  if (options->servers == NULL || options->servers[0] == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("--nats needs at least one server URL"));
      return FALSE;
    }
  for (guint i = 0; options->servers[i] != NULL; i++)
    if (options->servers[i][0] == '\0' || strchr (options->servers[i], ' ') != NULL)
      {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("'%s' is not a NATS server URL"),
                     options->servers[i]);
        return FALSE;
      }
  if (options->federation != NULL && !juno_broker_name_is_valid (options->federation))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("'%s' is not a federation name: 1 to %d letters, digits, '-' or '_'"), options->federation,
                   JUNO_BROKER_NAME_MAX_LENGTH);
      return FALSE;
    }
  if (options->broker_name != NULL && !juno_broker_name_is_valid (options->broker_name))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("'%s' is not a broker name: 1 to %d letters, digits, '-' or '_'"), options->broker_name,
                   JUNO_BROKER_NAME_MAX_LENGTH);
      return FALSE;
    }
  if (heartbeat < JUNO_FEDERATION_HEARTBEAT_MIN_SEC || timeout <= heartbeat || timeout > 3600)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--federation-heartbeat must be at least %.1f s and --federation-timeout longer than it "
                     "(and at most an hour)"),
                   JUNO_FEDERATION_HEARTBEAT_MIN_SEC);
      return FALSE;
    }
  if ((options->tls_cert != NULL) != (options->tls_key != NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("--nats-tls-cert and --nats-tls-key go together"));
      return FALSE;
    }
  return TRUE;
}

JunoFederation *
juno_federation_new (JunoBroker *broker, JunoPoller *poller, const JunoFederationOptions *options, GError **error)
{
  g_return_val_if_fail (JUNO_IS_BROKER (broker), NULL);

  if (!juno_federation_load (error))
    return NULL;
  return module_table->create (broker, poller, options, error);
}

void
juno_federation_stop (JunoFederation *self)
{
  g_return_if_fail (G_IS_OBJECT (self));
  g_return_if_fail (module_table != NULL);

  module_table->stop (self);
}

const char *
juno_federation_get_state (JunoFederation *self)
{
  g_return_val_if_fail (G_IS_OBJECT (self), NULL);
  g_return_val_if_fail (module_table != NULL, NULL);

  return module_table->get_state (self);
}
