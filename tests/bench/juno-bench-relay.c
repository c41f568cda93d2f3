/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* juno-bench-relay.c - the floor: a relay that copies bytes and nothing else.
 *
 *   juno-bench-relay --front F --back B --trig T --fan N
 *
 * Each address is a Unix socket path, or tcp:PORT for 127.0.0.1:PORT (the
 * TCP workloads; Nagle is off on every TCP connection, as juno does).
 * A connection accepted on F is paired with a new connection to B (where the
 * echo callee listens) and bytes are copied both ways. Bytes read from a
 * connection accepted on T are copied to every connection accepted on N.
 * One thread, epoll, no parsing: what it costs is the price of one hop
 * through a user-space process, the least any broker can pay.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

enum { KIND_FRONT, KIND_BACK, KIND_TRIG, KIND_FAN };
enum { LISTEN_FRONT, LISTEN_TRIG, LISTEN_FAN, N_LISTEN };

typedef struct Conn Conn;
struct Conn
{
  int fd;
  int kind;
  Conn *peer;          /* FRONT <-> BACK pairs */
  Conn *next_fan;      /* list of FAN connections */
  Conn *prev_fan;
  char *out;           /* bytes the socket did not take yet: */
  size_t out_start, out_len, out_cap; /* out[out_start, out_len) */
};

typedef struct
{
  int ep;
  int listen_fd[N_LISTEN];
  const char *back_path;
  Conn *fans;
  Conn *dead;          /* closed this round, freed after it (epoll may
                        * still hand them to us) */
  char buf[256 * 1024];
} Relay;

/* A socket for @spec (a path or tcp:PORT) and its address in @sa. */
static int
socket_for (const char *spec, struct sockaddr_storage *sa, socklen_t *len, int flags)
{
  memset (sa, 0, sizeof *sa);
  if (strncmp (spec, "tcp:", 4) == 0)
    {
      struct sockaddr_in *in = (struct sockaddr_in *) sa;

      in->sin_family = AF_INET;
      in->sin_port = htons ((uint16_t) atoi (spec + 4));
      in->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      *len = sizeof *in;
      return socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    }
  else
    {
      struct sockaddr_un *un = (struct sockaddr_un *) sa;

      un->sun_family = AF_UNIX;
      snprintf (un->sun_path, sizeof un->sun_path, "%s", spec);
      *len = sizeof *un;
      return socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    }
}

static void
no_delay (int fd)
{
  int one = 1;

  /* Fails harmlessly (ENOTSUP) on Unix sockets. */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int
listen_on (const char *path)
{
  struct sockaddr_storage sa;
  socklen_t len;
  int fd = socket_for (path, &sa, &len, SOCK_NONBLOCK), one = 1;

  if (sa.ss_family == AF_UNIX)
    unlink (path);
  else if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, len) < 0 || listen (fd, 4096) < 0)
    {
      fprintf (stderr, "juno-bench-relay: listen %s: %s\n", path, strerror (errno));
      exit (1);
    }
  return fd;
}

static void
watch (Relay *r, Conn *c, bool want_out)
{
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c };

  epoll_ctl (r->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static Conn *
add_conn (Relay *r, int fd, int kind)
{
  Conn *c = calloc (1, sizeof *c);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

  c->fd = fd;
  c->kind = kind;
  epoll_ctl (r->ep, EPOLL_CTL_ADD, fd, &ev);
  if (kind == KIND_FAN)
    {
      c->next_fan = r->fans;
      if (r->fans)
        r->fans->prev_fan = c;
      r->fans = c;
    }
  return c;
}

static void
close_conn (Relay *r, Conn *c)
{
  if (c->kind == KIND_FAN)
    {
      if (c->prev_fan)
        c->prev_fan->next_fan = c->next_fan;
      else
        r->fans = c->next_fan;
      if (c->next_fan)
        c->next_fan->prev_fan = c->prev_fan;
    }
  if (c->peer)
    {
      Conn *p = c->peer;

      p->peer = NULL;
      c->peer = NULL;
      close_conn (r, p);
    }
  epoll_ctl (r->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  c->fd = -1;
  c->next_fan = r->dead;
  r->dead = c;
}

static void
free_dead (Relay *r)
{
  while (r->dead)
    {
      Conn *c = r->dead;

      r->dead = c->next_fan;
      free (c->out);
      free (c);
    }
}

/* Write @data to @c now, queue what the socket does not take. */
static void
send_bytes (Relay *r, Conn *c, const char *data, size_t len)
{
  ssize_t n = 0;

  if (c->out_len == 0)
    {
      n = write (c->fd, data, len);
      if (n < 0)
        n = 0;
    }
  if ((size_t) n == len)
    return;
  if (c->out_start > 0)
    {
      memmove (c->out, c->out + c->out_start, c->out_len - c->out_start);
      c->out_len -= c->out_start;
      c->out_start = 0;
    }
  if (c->out_len + len - (size_t) n > c->out_cap)
    {
      c->out_cap = (c->out_len + len - (size_t) n) * 2;
      c->out = realloc (c->out, c->out_cap);
    }
  memcpy (c->out + c->out_len, data + n, len - (size_t) n);
  c->out_len += len - (size_t) n;
  watch (r, c, true);
}

static void
flush_out (Relay *r, Conn *c)
{
  ssize_t n = write (c->fd, c->out + c->out_start, c->out_len - c->out_start);

  if (n <= 0)
    return;
  c->out_start += (size_t) n;
  if (c->out_start == c->out_len)
    {
      c->out_start = c->out_len = 0;
      watch (r, c, false);
    }
}

static void
accept_on (Relay *r, int which)
{
  for (;;)
    {
      int fd = accept4 (r->listen_fd[which], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        return;
      if (which == LISTEN_FRONT)
        {
          struct sockaddr_storage sa;
          socklen_t len;
          int bfd = socket_for (r->back_path, &sa, &len, 0);
          Conn *front, *back;

          if (bfd < 0 || connect (bfd, (struct sockaddr *) &sa, len) < 0)
            {
              fprintf (stderr, "juno-bench-relay: connect %s: %s\n", r->back_path, strerror (errno));
              close (fd);
              if (bfd >= 0)
                close (bfd);
              continue;
            }
          fcntl (bfd, F_SETFL, O_NONBLOCK);
          no_delay (fd);
          no_delay (bfd);
          front = add_conn (r, fd, KIND_FRONT);
          back = add_conn (r, bfd, KIND_BACK);
          front->peer = back;
          back->peer = front;
        }
      else
        {
          no_delay (fd);
          add_conn (r, fd, which == LISTEN_TRIG ? KIND_TRIG : KIND_FAN);
        }
    }
}

static void
readable (Relay *r, Conn *c)
{
  for (;;)
    {
      ssize_t n = read (c->fd, r->buf, sizeof r->buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          close_conn (r, c);
          return;
        }
      if (c->peer && c->peer->fd >= 0)
        send_bytes (r, c->peer, r->buf, (size_t) n);
      else if (c->kind == KIND_TRIG)
        for (Conn *f = r->fans; f; f = f->next_fan)
          send_bytes (r, f, r->buf, (size_t) n);
      /* Bytes from a fan connection go nowhere. */
      if ((size_t) n < sizeof r->buf)
        return;
    }
}

int
main (int argc, char **argv)
{
  static const struct option options[] = {
    { "front", required_argument, NULL, 'f' },
    { "back", required_argument, NULL, 'b' },
    { "trig", required_argument, NULL, 't' },
    { "fan", required_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
  };
  const char *paths[N_LISTEN] = { NULL };
  static Relay relay;
  Relay *r = &relay;
  struct rlimit rl;
  int opt;

  while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1)
    {
      switch (opt)
        {
        case 'f': paths[LISTEN_FRONT] = optarg; break;
        case 'b': r->back_path = optarg; break;
        case 't': paths[LISTEN_TRIG] = optarg; break;
        case 'n': paths[LISTEN_FAN] = optarg; break;
        default:
          fprintf (stderr, "usage: %s --front F --back B --trig T --fan N\n", argv[0]);
          return 2;
        }
    }
  if (!paths[LISTEN_FRONT] || !r->back_path || !paths[LISTEN_TRIG] || !paths[LISTEN_FAN])
    {
      fprintf (stderr, "usage: %s --front F --back B --trig T --fan N\n", argv[0]);
      return 2;
    }
  /* Like juno: take as many descriptors as we are allowed. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  signal (SIGPIPE, SIG_IGN);
  r->ep = epoll_create1 (EPOLL_CLOEXEC);
  for (int i = 0; i < N_LISTEN; i++)
    {
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

      r->listen_fd[i] = listen_on (paths[i]);
      ev.data.u64 = (uint64_t) i + 1;
      epoll_ctl (r->ep, EPOLL_CTL_ADD, r->listen_fd[i], &ev);
    }
  for (;;)
    {
      struct epoll_event ev[256];
      int n = epoll_wait (r->ep, ev, 256, -1);

      for (int i = 0; i < n; i++)
        {
          Conn *c;

          if (ev[i].data.u64 <= N_LISTEN)
            {
              accept_on (r, (int) ev[i].data.u64 - 1);
              continue;
            }
          c = ev[i].data.ptr;
          if (c->fd < 0)
            continue;
          if ((ev[i].events & EPOLLOUT) && c->out_len > c->out_start)
            flush_out (r, c);
          if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            readable (r, c);
        }
      free_dead (r);
    }
}
