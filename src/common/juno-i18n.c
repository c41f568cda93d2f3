/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-i18n.c: where the message catalogues of juno are
 *
 * The daemon, junoctl and libjuno all translate through the text domain
 * GETTEXT_PACKAGE ("juno") and bind it here, so that all three read the
 * same catalogues:
 *
 *   1. $JUNO_LOCALEDIR, when it is an absolute path: a tree installed with
 *      DESTDIR, or moved after it was installed (the tests run an installed
 *      tree this way). Ignored in a setuid or setgid process.
 *   2. LOCALEDIR, PREFIX/share/locale as configured.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>
#include <stdlib.h>

#include "juno-common.h"

const char *
juno_get_locale_dir (void)
{
  const char *dir = secure_getenv ("JUNO_LOCALEDIR");

  return dir != NULL && g_path_is_absolute (dir) ? dir : LOCALEDIR;
}

void
juno_i18n_bind (void)
{
  bindtextdomain (GETTEXT_PACKAGE, juno_get_locale_dir ());
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}

void
juno_i18n_init (void)
{
  setlocale (LC_ALL, "");
  juno_i18n_bind ();
  textdomain (GETTEXT_PACKAGE);
}
