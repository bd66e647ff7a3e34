// AF_UNIX sockets as a program sees them: socketpair and named sockets of each type, data and
// end of file, readiness, SIGPIPE/EPIPE, passing descriptors (and truncating them), credentials,
// peeking and truncation, and the errors for bad names and states. One line per check; the test
// compares the output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long r) { printf("%-44s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }

static struct sockaddr_un named(const char *path, socklen_t *len) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, path);
  *len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
  return a;
}

static void check_pair(void) {
  int sv[2];
  report("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  char buf[64];
  report("empty nonblocking read", read(sv[1], buf, sizeof buf));
  struct pollfd p = {sv[1], POLLIN | POLLOUT, 0};
  poll(&p, 1, 0);
  printf("poll before data: in=%d out=%d\n", !!(p.revents & POLLIN), !!(p.revents & POLLOUT));
  write(sv[0], "abc", 3);
  report("MSG_PEEK", recv(sv[1], buf, sizeof buf, MSG_PEEK));
  report("read", read(sv[1], buf, sizeof buf));
  shutdown(sv[0], SHUT_WR);
  report("read after the peer's SHUT_WR (eof)", read(sv[1], buf, sizeof buf));
  report("write on the shut side", send(sv[0], "x", 1, MSG_NOSIGNAL));
  close(sv[0]);
  p.events = POLLIN | POLLOUT;
  poll(&p, 1, 0);
  printf("poll after close: hup=%d\n", !!(p.revents & POLLHUP));
  report("send to a closed peer (MSG_NOSIGNAL)", send(sv[1], "x", 1, MSG_NOSIGNAL));
  close(sv[1]);
  // Without MSG_NOSIGNAL, SIGPIPE kills.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[0]);
  pid_t c = fork();
  if (c == 0) {
    write(sv[1], "x", 1);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf("write to a closed peer: killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  close(sv[1]);
  // The same for a pipe with no reader left; with SIGPIPE ignored, EPIPE instead.
  int pp[2];
  pipe(pp);
  close(pp[0]);
  c = fork();
  if (c == 0) {
    write(pp[1], "x", 1);
    _exit(0);
  }
  waitpid(c, &st, 0);
  printf("write to a pipe without readers: killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  signal(SIGPIPE, SIG_IGN);
  report("the same with SIGPIPE ignored", write(pp[1], "x", 1));
  signal(SIGPIPE, SIG_DFL);
  close(pp[1]);
  // Datagrams keep boundaries; MSG_TRUNC reports the real length.
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  send(sv[0], "0123456789", 10, 0);
  send(sv[0], "ab", 2, 0);
  report("dgram recv 4 with MSG_TRUNC", recv(sv[1], buf, 4, MSG_TRUNC));
  report("next dgram", recv(sv[1], buf, sizeof buf, 0));
  close(sv[0]);
  close(sv[1]);
}

static void check_rights(void) {
  int sv[2], fds[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pipe(fds);
  char cbuf[CMSG_SPACE(2 * sizeof(int))];
  struct iovec iov = {"r", 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  memcpy(CMSG_DATA(c), fds, 2 * sizeof(int));
  report("sendmsg two descriptors", sendmsg(sv[0], &m, 0));
  char small[CMSG_SPACE(sizeof(int))];
  char data[4];
  struct iovec riov = {data, sizeof data};
  struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = small, .msg_controllen = sizeof small};
  report("recvmsg with room for one", recvmsg(sv[1], &rm, MSG_CMSG_CLOEXEC));
  int got;
  memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof got);
  printf("truncated=%d cloexec=%d\n", !!(rm.msg_flags & MSG_CTRUNC), fcntl(got, F_GETFD) & FD_CLOEXEC);
  write(fds[1], "via passed fd", 13);
  char out[32] = {0};
  read(got, out, sizeof out - 1);
  printf("read through the passed descriptor: %s\n", out);
  memcpy(&got, fds, sizeof got);
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int bad = 9999;
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  m.msg_controllen = CMSG_SPACE(sizeof(int));
  report("sendmsg a bad descriptor", sendmsg(sv[0], &m, 0));
  // Credentials, when asked for.
  int on = 1;
  setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  send(sv[0], "c", 1, 0);
  char cred[CMSG_SPACE(sizeof(struct ucred))];
  rm.msg_control = cred;
  rm.msg_controllen = sizeof cred;
  recvmsg(sv[1], &rm, 0);
  struct ucred uc;
  memcpy(&uc, CMSG_DATA(CMSG_FIRSTHDR(&rm)), sizeof uc);
  printf("SCM_CREDENTIALS: type=%d pid_ok=%d uid=%u\n", CMSG_FIRSTHDR(&rm)->cmsg_type, uc.pid == getpid(), uc.uid);
  close(sv[0]);
  close(sv[1]);
}

static void check_named(void) {
  socklen_t len;
  struct sockaddr_un a = named("/tmp/sock-test", &len);
  unlink(a.sun_path);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  report("listen unbound", listen(s, 1));
  report("bind path", bind(s, (struct sockaddr *)&a, len));
  struct stat st;
  stat(a.sun_path, &st);
  printf("socket file: %d\n", S_ISSOCK(st.st_mode));
  int t = socket(AF_UNIX, SOCK_STREAM, 0);
  report("bind the same path again", bind(t, (struct sockaddr *)&a, len));
  report("connect before listen", connect(t, (struct sockaddr *)&a, len));
  report("listen", listen(s, 4));
  report("connect", connect(t, (struct sockaddr *)&a, len));
  struct sockaddr_un peer;
  socklen_t plen = sizeof peer;
  int conn = accept4(s, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
  printf("accept4: %d peer-addr-len=%d cloexec=%d\n", conn >= 0, (int)plen, fcntl(conn, F_GETFD) & FD_CLOEXEC);
  struct sockaddr_un me;
  socklen_t mlen = sizeof me;
  getsockname(s, (struct sockaddr *)&me, &mlen);
  printf("getsockname: %s len=%d\n", me.sun_path, (int)mlen);
  mlen = sizeof me;
  getpeername(t, (struct sockaddr *)&me, &mlen);
  printf("getpeername: %s\n", me.sun_path);
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  mlen = sizeof me;
  report("getpeername unconnected", getpeername(u, (struct sockaddr *)&me, &mlen));
  struct sockaddr_un nowhere = named("/tmp/no-such-socket", &len);
  report("connect to a missing path", connect(u, (struct sockaddr *)&nowhere, len));
  struct sockaddr_un file = named("/etc/hostname", &len);
  report("connect to a regular file", connect(u, (struct sockaddr *)&file, len));
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  report("connect a dgram to a stream listener", connect(d, (struct sockaddr *)&a, len));
  report("listen on a dgram socket", listen(d, 1));
  struct sockaddr_un autob = {.sun_family = AF_UNIX};
  report("autobind", bind(d, (struct sockaddr *)&autob, sizeof(sa_family_t)));
  mlen = sizeof me;
  getsockname(d, (struct sockaddr *)&me, &mlen);
  printf("autobind name: abstract=%d len=%d\n", me.sun_path[0] == 0, (int)mlen);
  report("socket bad type", socket(AF_UNIX, 42, 0));
  report("socket bad protocol", socket(AF_UNIX, SOCK_STREAM, 7));
  close(conn);
  close(s);
  close(t);
  unlink("/tmp/sock-test");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  check_pair();
  check_rights();
  check_named();
  return 0;
}
