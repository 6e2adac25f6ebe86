/*
 * The Linux side of bench/cnet.ts, on kernel sockets (compiled by the benchmark with cc -O2):
 *   udpecho <port>                              echo UDP (recvmmsg/sendmmsg, 64 a batch) until killed
 *   udpflood <ip> <port> <seconds> <window> <size>  keep <window> datagrams in flight, count the echoes
 *   tcpsink <port>                              accept one connection, read to EOF, close
 *   tcpsend <ip> <port> <seconds>               send for <seconds>, shut down, wait for the peer's close
 * Prints one JSON line with its figures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void die(const char *m) { perror(m); exit(1); }

static int udpecho(int port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  int one = 1 << 22; setsockopt(s, SOL_SOCKET, SO_RCVBUF, &one, sizeof one);
  if (bind(s, (void *)&a, sizeof a) < 0) die("bind");
  static char buf[BATCH][2048]; struct mmsghdr m[BATCH]; struct iovec io[BATCH]; struct sockaddr_in from[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      io[i].iov_base = buf[i]; io[i].iov_len = sizeof buf[i];
      memset(&m[i], 0, sizeof m[i]); m[i].msg_hdr.msg_iov = &io[i]; m[i].msg_hdr.msg_iovlen = 1;
      m[i].msg_hdr.msg_name = &from[i]; m[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(s, m, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) continue;
    for (int i = 0; i < n; i++) io[i].iov_len = m[i].msg_len;
    sendmmsg(s, m, n, 0);
  }
  return 0;
}

static int udpflood(const char *ip, int port, double secs, int window, int size) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 1 << 22; setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big); setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (connect(s, (void *)&a, sizeof a) < 0) die("connect");
  static char out[2048], in[BATCH][2048]; struct mmsghdr sm[BATCH], rm[BATCH]; struct iovec so[BATCH], ri[BATCH];
  memset(out, 'x', sizeof out);
  for (int i = 0; i < BATCH; i++) {
    so[i].iov_base = out; so[i].iov_len = size; memset(&sm[i], 0, sizeof sm[i]); sm[i].msg_hdr.msg_iov = &so[i]; sm[i].msg_hdr.msg_iovlen = 1;
    ri[i].iov_base = in[i]; ri[i].iov_len = sizeof in[i]; memset(&rm[i], 0, sizeof rm[i]); rm[i].msg_hdr.msg_iov = &ri[i]; rm[i].msg_hdr.msg_iovlen = 1;
  }
  long sent = 0, got = 0, lost = 0; int inflight = 0;
  double t0 = now(), end = t0 + secs, last = t0;
  while (now() < end) {
    while (inflight < window) {
      int k = window - inflight < BATCH ? window - inflight : BATCH;
      int n = sendmmsg(s, sm, k, MSG_DONTWAIT);
      if (n <= 0) break;
      sent += n; inflight += n;
    }
    int n = recvmmsg(s, rm, BATCH, MSG_DONTWAIT, NULL);
    if (n > 0) { got += n; inflight -= n; if (inflight < 0) inflight = 0; last = now(); }
    else if (now() - last > 0.02) { lost += inflight; inflight = 0; last = now(); }
  }
  double t = now() - t0;
  printf("{\"sent\":%ld,\"echoed\":%ld,\"lost\":%ld,\"seconds\":%.4f,\"pps\":%.0f}\n", sent, got, lost, t, got / t);
  return 0;
}

static int tcpsink(int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  if (bind(l, (void *)&a, sizeof a) < 0 || listen(l, 4) < 0) die("bind/listen");
  printf("{\"listening\":true}\n"); fflush(stdout);
  int s = accept(l, NULL, NULL);
  static char buf[1 << 16]; long total = 0; double t0 = now();
  for (ssize_t n; (n = read(s, buf, sizeof buf)) > 0;) total += n;
  double t = now() - t0;
  close(s);
  printf("{\"bytes\":%ld,\"seconds\":%.4f}\n", total, t);
  return 0;
}

static int tcpsend(const char *ip, int port, double secs) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, ip, &a.sin_addr);
  for (int i = 0; connect(s, (void *)&a, sizeof a) < 0; i++) { if (i > 100) die("connect"); usleep(20000); close(s); s = socket(AF_INET, SOCK_STREAM, 0); }
  int mss = 0; socklen_t ml = sizeof mss; getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml);
  static char buf[1 << 16]; memset(buf, 'z', sizeof buf);
  long total = 0; double t0 = now(), end = t0 + secs;
  while (now() < end) { ssize_t n = write(s, buf, sizeof buf); if (n < 0) die("write"); total += n; }
  shutdown(s, SHUT_WR);
  while (read(s, buf, sizeof buf) > 0) {}
  double t = now() - t0;
  printf("{\"bytes\":%ld,\"seconds\":%.4f,\"mss\":%d,\"gbps\":%.3f}\n", total, t, mss, total * 8 / t / 1e9);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && !strcmp(argv[1], "udpecho")) return udpecho(atoi(argv[2]));
  if (argc >= 7 && !strcmp(argv[1], "udpflood")) return udpflood(argv[2], atoi(argv[3]), atof(argv[4]), atoi(argv[5]), atoi(argv[6]));
  if (argc >= 3 && !strcmp(argv[1], "tcpsink")) return tcpsink(atoi(argv[2]));
  if (argc >= 5 && !strcmp(argv[1], "tcpsend")) return tcpsend(argv[2], atoi(argv[3]), atof(argv[4]));
  fprintf(stderr, "usage: udpecho <port> | udpflood <ip> <port> <s> <window> <size> | tcpsink <port> | tcpsend <ip> <port> <s>\n");
  return 2;
}
