/* replay.c: runs a fuzz target over files, without libFuzzer
 *
 * Each argument is a file or a folder of files (the seed corpus and the
 * crash reproducers under tests/fuzz/corpus/<target>/); each file is given
 * to LLVMFuzzerTestOneInput() once. Built with the test suites, so the
 * corpus in the tree runs on every CI build, under the sanitizers there.
 */
#include "config.h"

#include "fuzz-common.h"

static int
run_file (const char *path)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  /* an exact copy, so that a read past the end is caught */
  {
    g_autofree guint8 *copy = g_memdup2 (data, len > 0 ? len : 1);

    LLVMFuzzerTestOneInput (copy, len);
  }
  return 0;
}

int
main (int argc, char *argv[])
{
  guint files = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;

      if (dir == NULL)
        {
          if (run_file (argv[i]) != 0)
            return 1;
          files++;
          continue;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);

          if (name[0] == '.' || g_file_test (path, G_FILE_TEST_IS_DIR))
            continue;
          if (run_file (path) != 0)
            return 1;
          files++;
        }
    }
  g_print ("1..1\nok 1 - %u inputs replayed\n", files);
  return files > 0 ? 0 : 1;
}
