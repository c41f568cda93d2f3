/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nats-idle.c - idle NATS clients on raw sockets.
 *
 * An idle module is a connection that has sent CONNECT and got the PONG to
 * its PING: registered in NATS terms. libnats would start threads for each,
 * so these speak the text protocol directly. A hundred thousand TCP
 * connections to one port exhaust one source address's ephemeral ports, so
 * they are spread over source addresses 127.77.X.1, all on loopback. The
 * holder answers the server's keep-alive PINGs until it is stopped.
 */
#include "sys-nats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PER_SOURCE 20000

static const char hello[] = "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"idle\"}\r\nPING\r\n";

static int
connect_one (int port, long index)
{
  struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  src.sin_addr.s_addr = htonl ((127u << 24) | (77u << 16) | ((unsigned) (index / PER_SOURCE % 256) << 8) | 1u);
  dst.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  dst.sin_port = htons ((uint16_t) port);
  if (bind (fd, (struct sockaddr *) &src, sizeof src) < 0 ||
      connect (fd, (struct sockaddr *) &dst, sizeof dst) < 0 ||
      write (fd, hello, sizeof hello - 1) != (ssize_t) (sizeof hello - 1))
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Reads until PONG; the INFO line comes first. */
static bool
await_pong (int fd, double timeout)
{
  char buf[4096];
  size_t len = 0;
  double deadline = bench_now () + timeout;

  while (bench_now () < deadline)
    {
      struct pollfd p = { fd, POLLIN, 0 };
      ssize_t n;

      if (poll (&p, 1, 100) <= 0)
        continue;
      n = read (fd, buf + len, sizeof buf - 1 - len);
      if (n <= 0)
        return false;
      len += (size_t) n;
      buf[len] = '\0';
      if (strstr (buf, "PONG\r\n"))
        return true;
      if (strstr (buf, "-ERR"))
        return false;
      if (len > sizeof buf / 2)
        {
          /* Keep the tail, where PONG will be. */
          memmove (buf, buf + len - 8, 8);
          len = 8;
        }
    }
  return false;
}

static void
hold (BenchCtx *ctx, int *fds, long count)
{
  int ep = epoll_create1 (EPOLL_CLOEXEC);

  for (long i = 0; i < count; i++)
    {
      fcntl (fds[i], F_SETFL, O_NONBLOCK);
      epoll_ctl (ep, EPOLL_CTL_ADD, fds[i], &(struct epoll_event){ .events = EPOLLIN, .data.fd = fds[i] });
    }
  while (!bench_stopped (ctx, STOP_LONG))
    {
      struct epoll_event ev[256];
      int n = epoll_wait (ep, ev, 256, 100);

      for (int i = 0; i < n; i++)
        {
          char buf[4096];
          ssize_t r = read (ev[i].data.fd, buf, sizeof buf - 1);

          if (r <= 0)
            {
              epoll_ctl (ep, EPOLL_CTL_DEL, ev[i].data.fd, NULL);
              continue;
            }
          buf[r] = '\0';
          if (strstr (buf, "PING"))
            (void) !write (ev[i].data.fd, "PONG\r\n", 6);
        }
    }
  close (ep);
}

int
nats_idle_hold (BenchCtx *ctx, int port, long first, long count)
{
  const long batch = 256;
  int *fds = calloc ((size_t) count, sizeof (int));

  for (long done = 0; done < count; done += batch)
    {
      long n = count - done < batch ? count - done : batch;

      for (long i = 0; i < n; i++)
        {
          fds[done + i] = connect_one (port, first + done + i);
          if (fds[done + i] < 0)
            {
              bench_fail (ctx, "nats idle: connection #%ld: %s", first + done + i, strerror (errno));
              return 1;
            }
        }
      for (long i = 0; i < n; i++)
        if (!await_pong (fds[done + i], 30))
          {
            bench_fail (ctx, "nats idle: connection #%ld got no PONG", first + done + i);
            return 1;
          }
    }
  atomic_fetch_add (&ctx->sh->ready, 1);
  hold (ctx, fds, count);
  return 0;
}

/* Reads what @fd has; true once a PONG was seen (INFO comes first). */
static bool
storm_read (int fd, bool *failed)
{
  char buf[4096];
  bool pong = false;

  for (;;)
    {
      ssize_t r = read (fd, buf, sizeof buf - 1);

      if (r < 0 && errno == EAGAIN)
        return pong;
      if (r <= 0)
        {
          *failed = true;
          return pong;
        }
      buf[r] = '\0';
      if (strstr (buf, "PONG\r\n"))
        pong = true;
      if (strstr (buf, "-ERR"))
        *failed = true;
    }
}

static bool
storm_drain (int ep, bool *ponged, long *done, int timeout_ms)
{
  struct epoll_event ev[256];
  int n = epoll_wait (ep, ev, 256, timeout_ms);
  bool failed = false;

  for (int i = 0; i < n; i++)
    {
      long idx = (long) ev[i].data.u64;

      if (storm_read ((int) (ev[i].data.u64 >> 32), &failed) && !ponged[(uint32_t) idx])
        {
          ponged[(uint32_t) idx] = true;
          (*done)++;
        }
    }
  return !failed;
}

/* The storm workload: @count connections, each sending CONNECT and PING as
 * soon as it is connected, all at once; done when every PONG is in. */
int
nats_storm_hold (BenchCtx *ctx, int port, long count)
{
  int ep = epoll_create1 (EPOLL_CLOEXEC);
  bool *ponged = calloc ((size_t) count, sizeof (bool));
  int *fds = calloc ((size_t) count, sizeof (int));
  long done = 0;
  double deadline;

  ctx->sh->storm_start = bench_now ();
  for (long i = 0; i < count; i++)
    {
      fds[i] = connect_one (port, i);
      if (fds[i] < 0)
        {
          bench_fail (ctx, "nats storm: connection #%ld: %s", i, strerror (errno));
          return 1;
        }
      fcntl (fds[i], F_SETFL, O_NONBLOCK);
      epoll_ctl (ep, EPOLL_CTL_ADD, fds[i],
                 &(struct epoll_event){ .events = EPOLLIN,
                                        .data.u64 = ((uint64_t) (uint32_t) fds[i] << 32) | (uint64_t) i });
      if (i % 64 == 63 && !storm_drain (ep, ponged, &done, 0))
        {
          bench_fail (ctx, "nats storm: a connection failed");
          return 1;
        }
    }
  ctx->sh->storm_last = bench_now ();
  deadline = bench_now () + 300;
  while (done < count)
    if (bench_now () > deadline || !storm_drain (ep, ponged, &done, 100))
      {
        bench_fail (ctx, "nats storm: %ld of %ld connections got their PONG", done, count);
        return 1;
      }
  ctx->sh->storm_done = bench_now ();
  atomic_fetch_add (&ctx->sh->ready, 1);
  close (ep);
  hold (ctx, fds, count);
  return 0;
}
