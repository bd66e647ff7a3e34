// pidfds: pidfd_open, polling for a child's exit, pidfd_send_signal, pidfd_getfd,
// waitid(P_PIDFD) and clone3's CLONE_PIDFD. One line per check; the test compares the output with
// a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long r) { printf("%-40s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }
static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int pipefds[2];
  pipe(pipefds);
  pid_t c = fork();
  if (c == 0) {
    char b;
    read(pipefds[0], &b, 1);
    _exit(4);
  }
  int pfd = pidfd_open(c, 0);
  printf("pidfd_open: %d cloexec=%d\n", pfd >= 0, fcntl(pfd, F_GETFD) & FD_CLOEXEC);
  struct pollfd p = {pfd, POLLIN, 0};
  report("poll while running", poll(&p, 1, 0));
  // pidfd_getfd: the child's pipe write end, duplicated into us.
  int theirs = (int)syscall(SYS_pidfd_getfd, pfd, pipefds[1], 0);
  printf("pidfd_getfd: %d cloexec=%d\n", theirs >= 0, fcntl(theirs, F_GETFD) & FD_CLOEXEC);
  write(theirs, "x", 1);
  report("poll after it exits", poll(&p, 1, 2000));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  report("waitid P_PIDFD", waitid(P_PIDFD, pfd, &si, WEXITED));
  printf("status=%d pid_ok=%d\n", si.si_status, si.si_pid == c);
  report("pidfd_send_signal to the reaped child", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0));
  close(pfd);
  c = fork();
  if (c == 0) {
    for (;;) pause();
  }
  pfd = pidfd_open(c, 0);
  report("pidfd_send_signal SIGKILL", syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0));
  int st;
  waitpid(c, &st, 0);
  printf("killed by %d\n", WTERMSIG(st));
  report("pidfd_open of no process", pidfd_open(999999, 0));
  report("pidfd_open bad flags", pidfd_open(getpid(), 1));
  report("pidfd_send_signal on a plain fd", syscall(SYS_pidfd_send_signal, pipefds[0], 0, NULL, 0));
  // clone3 with CLONE_PIDFD.
  int cfd = -1;
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&cfd;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(6);
  memset(&si, 0, sizeof si);
  waitid(P_PIDFD, cfd, &si, WEXITED);
  printf("clone3 CLONE_PIDFD: pidfd=%d status=%d\n", cfd >= 0, si.si_status);
  return 0;
}
