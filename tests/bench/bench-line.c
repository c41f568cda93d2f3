/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-line.c - buffered line connections (see bench-line.h). */
#include "bench-line.h"
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024)

/* A socket for @addr (a Unix socket path, or tcp:PORT for 127.0.0.1:PORT)
 * and its address in @sa. */
static int
socket_for (const char *addr, struct sockaddr_storage *sa, socklen_t *len, int flags)
{
  memset (sa, 0, sizeof *sa);
  if (strncmp (addr, "tcp:", 4) == 0)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) sa;

      in->sin_family = AF_INET;
      in->sin_port = htons ((uint16_t) atoi (addr + 4));
      in->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      *len = sizeof *in;
      return socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    }
  else
    {
      struct sockaddr_un *un = (struct sockaddr_un *) sa;

      un->sun_family = AF_UNIX;
      snprintf (un->sun_path, sizeof un->sun_path, "%s", addr);
      *len = sizeof *un;
      return socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    }
}

int
line_connect (const char *addr)
{
  struct sockaddr_storage sa;
  socklen_t len;
  int fd = socket_for (addr, &sa, &len, 0), one = 1;

  if (fd < 0)
    return -1;
  /* Blocking connect: a Unix listener with a full backlog makes us wait
   * instead of failing, which is what a burst of idle modules needs. */
  while (connect (fd, (struct sockaddr *) &sa, len) < 0)
    {
      if (errno == EINTR)
        continue;
      close (fd);
      return -1;
    }
  if (sa.ss_family == AF_INET)
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl (fd, F_SETFL, O_NONBLOCK);
  return fd;
}

int
line_connect_unix (const char *path)
{
  return line_connect (path);
}

int
line_listen (const char *addr)
{
  struct sockaddr_storage sa;
  socklen_t len;
  int fd = socket_for (addr, &sa, &len, SOCK_NONBLOCK), one = 1;

  if (fd < 0)
    return -1;
  if (sa.ss_family == AF_UNIX)
    unlink (addr);
  else
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &sa, len) < 0 || listen (fd, 4096) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

void
line_init (LineConn *c, int fd)
{
  memset (c, 0, sizeof *c);
  c->fd = fd;
}

void
line_clear (LineConn *c)
{
  if (c->fd >= 0)
    close (c->fd);
  free (c->in);
  free (c->out);
  memset (c, 0, sizeof *c);
  c->fd = -1;
}

char *
line_reserve (LineConn *c, size_t len)
{
  if (c->out_start > 0 && c->out_len + len > c->out_cap)
    {
      memmove (c->out, c->out + c->out_start, c->out_len - c->out_start);
      c->out_len -= c->out_start;
      c->out_start = 0;
    }
  if (c->out_len + len > c->out_cap)
    {
      size_t cap = c->out_cap ? c->out_cap : 4096;

      while (cap < c->out_len + len)
        cap *= 2;
      c->out = realloc (c->out, cap);
      c->out_cap = cap;
    }
  return c->out + c->out_len;
}

void
line_commit (LineConn *c, size_t len)
{
  c->out_len += len;
}

void
line_queue (LineConn *c, const char *data, size_t len)
{
  memcpy (line_reserve (c, len), data, len);
  line_commit (c, len);
}

/* Returns false on a write error (peer gone); true when all was written or
 * the socket is full (the rest stays queued). */
bool
line_flush (LineConn *c)
{
  while (c->out_start < c->out_len)
    {
      ssize_t n = write (c->fd, c->out + c->out_start, c->out_len - c->out_start);

      if (n > 0)
        c->out_start += (size_t) n;
      else if (n < 0 && errno == EINTR)
        continue;
      else if (n < 0 && errno == EAGAIN)
        return true;
      else
        return false;
    }
  /* Everything went: start over at the front, no copy. */
  c->out_start = c->out_len = 0;
  return true;
}

size_t
line_pending (LineConn *c)
{
  return c->out_len - c->out_start;
}

bool
line_flush_blocking (LineConn *c, double timeout)
{
  double deadline = bench_now () + timeout;

  while (line_pending (c) > 0)
    {
      struct pollfd p = { c->fd, POLLOUT, 0 };

      if (!line_flush (c))
        return false;
      if (line_pending (c) == 0)
        break;
      if (bench_now () > deadline)
        return false;
      poll (&p, 1, 100);
    }
  return true;
}

/* Reads what is available. Returns bytes read, 0 at EOF, -1 with errno
 * EAGAIN when nothing is there, -1 otherwise on error. */
ssize_t
line_fill (LineConn *c)
{
  ssize_t n;

  if (c->in_start > 0 && c->in_start == c->in_len)
    c->in_start = c->in_len = 0;
  if (c->in_cap - c->in_len < READ_CHUNK / 4)
    {
      /* Compact first, grow only when a single line needs it. */
      if (c->in_start > 0)
        {
          memmove (c->in, c->in + c->in_start, c->in_len - c->in_start);
          c->in_len -= c->in_start;
          c->in_start = 0;
        }
      if (c->in_cap - c->in_len < READ_CHUNK / 4)
        {
          c->in_cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK;
          c->in = realloc (c->in, c->in_cap);
        }
    }
  do
    n = read (c->fd, c->in + c->in_len, c->in_cap - c->in_len);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    c->in_len += (size_t) n;
  else if (n == 0)
    c->eof = true;
  return n;
}

/* The next complete line (without its newline), valid until the next
 * line_fill(). */
bool
line_next (LineConn *c, const char **line, size_t *len)
{
  char *start = c->in + c->in_start;
  char *nl;

  if (c->in_start >= c->in_len)
    return false;
  nl = memchr (start, '\n', c->in_len - c->in_start);
  if (!nl)
    return false;
  *line = start;
  *len = (size_t) (nl - start);
  c->in_start += *len + 1;
  return true;
}

bool
line_wait_readable (LineConn *c, double timeout)
{
  struct pollfd p = { c->fd, POLLIN, 0 };

  return poll (&p, 1, (int) (timeout * 1000)) > 0;
}
