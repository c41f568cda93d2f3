/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-line.h - a minimal buffered line connection over a stream socket.
 *
 * Used by the juno and floor generators: non-blocking fd, one input buffer
 * that lines are parsed from in place, one output buffer written in as few
 * write(2) calls as possible. No allocation on the hot path once warm.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct
{
  int fd;
  char *in;
  size_t in_start, in_len, in_cap;  /* unparsed bytes: in[in_start, in_len) */
  char *out;
  size_t out_start, out_len, out_cap; /* unsent bytes: out[out_start, out_len) */
  bool eof;
} LineConn;

/* Queues a string literal, newline included. */
#define LINE_QUEUE_LITERAL(c, s) line_queue ((c), (s), sizeof (s) - 1)

/* @addr: a Unix socket path, or tcp:PORT for 127.0.0.1:PORT. */
int line_connect (const char *addr);
int line_listen (const char *addr);
/* The same, for a path only. */
int line_connect_unix (const char *path);
void line_init (LineConn *c, int fd);
void line_clear (LineConn *c);
void line_queue (LineConn *c, const char *data, size_t len);
char *line_reserve (LineConn *c, size_t len);
void line_commit (LineConn *c, size_t len);
bool line_flush (LineConn *c);
size_t line_pending (LineConn *c);
ssize_t line_fill (LineConn *c);
bool line_next (LineConn *c, const char **line, size_t *len);
bool line_wait_readable (LineConn *c, double timeout);
bool line_flush_blocking (LineConn *c, double timeout);
