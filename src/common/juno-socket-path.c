/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-socket-path.c: where the broker listens when no socket is named
 *
 * The daemon creates its socket there and libjuno (so junoctl) connects
 * there, so both compute it here:
 *
 *   1. $XDG_RUNTIME_DIR/juno.sock, when XDG_RUNTIME_DIR is an absolute
 *      path. The XDG Base Directory specification says a relative path in
 *      these variables is invalid and must be ignored; an empty one is unset.
 *   2. /run/juno/juno.sock for root (the system broker, juno.socket).
 *   3. ./juno.sock, in the current directory, for anyone else.
 */
#include "config.h"

#include <unistd.h>

#include "juno-common.h"

/* XDG_RUNTIME_DIR when it is usable, else NULL. */
const char *
juno_get_runtime_dir (void)
{
  const char *dir = g_getenv ("XDG_RUNTIME_DIR");

  return dir != NULL && g_path_is_absolute (dir) ? dir : NULL;
}

char *
juno_default_socket_path (void)
{
  const char *runtime_dir = juno_get_runtime_dir ();

  if (runtime_dir != NULL)
    return g_build_filename (runtime_dir, JUNO_SOCKET_NAME, NULL);
  if (geteuid () == 0)
    return g_strdup (JUNO_SYSTEM_SOCKET_PATH);
  return g_strdup ("./" JUNO_SOCKET_NAME);
}
