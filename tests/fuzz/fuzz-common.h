/* fuzz-common.h: what every libFuzzer target of juno shares
 *
 * Each target defines LLVMFuzzerTestOneInput(); fuzz_init() silences the
 * core's logging (a hostile line is logged, and libFuzzer runs millions)
 * but turns a critical into a crash, as G_DEBUG=fatal-criticals does in
 * the test suites: a critical is juno's own bug. The same sources build
 * with libFuzzer (-Dfuzzing=true) or with replay.c, which runs the corpus
 * in the tree as a regression test.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    {
      g_log_writer_default (level, fields, n_fields, user_data);
      abort ();
    }
  return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_init (void)
{
  static gboolean done;

  if (done)
    return;
  done = TRUE;
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
}

/* A check on juno's own behaviour: a failure is a crash libFuzzer keeps. */
#define FUZZ_ASSERT(cond) \
  G_STMT_START { \
    if (G_UNLIKELY (!(cond))) \
      { \
        g_printerr ("%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
        abort (); \
      } \
  } G_STMT_END
