// timerfd and signalfd: expirations counted and read, blocking and non-blocking, with epoll;
// signals read as signalfd_siginfo (a kill, a child's exit). One line per check; the test
// compares the output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long r) { printf("%-36s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  uint64_t n = 0;
  report("read before arming", read(tfd, &n, sizeof n));
  struct itimerspec its = {.it_interval = {0, 20000000}, .it_value = {0, 20000000}};
  report("timerfd_settime 20 ms periodic", timerfd_settime(tfd, 0, &its, NULL));
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  struct epoll_event out;
  printf("epoll woke for the timer: %d data=%u\n", epoll_wait(ep, &out, 1, 1000), out.data.u32);
  usleep(70000);
  read(tfd, &n, sizeof n);
  printf("expirations counted: %d\n", n >= 2);
  struct itimerspec cur;
  timerfd_gettime(tfd, &cur);
  printf("gettime: interval %ld ns, armed %d\n", cur.it_interval.tv_nsec, cur.it_value.tv_nsec > 0 || cur.it_value.tv_sec > 0);
  memset(&its, 0, sizeof its);
  timerfd_settime(tfd, 0, &its, &cur);
  report("read after disarming", read(tfd, &n, sizeof n));
  report("short read", read(tfd, &n, 4));
  report("timerfd bad clock", timerfd_create(42, 0));
  // Absolute expiry in the past fires at once; a blocking read waits for it.
  int b = timerfd_create(CLOCK_REALTIME, 0);
  struct itimerspec abs = {.it_value = {1, 0}};
  timerfd_settime(b, TFD_TIMER_ABSTIME, &abs, NULL);
  report("blocking read of a past expiry", read(b, &n, sizeof n));
  printf("  = %lu\n", (unsigned long)n);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
  struct signalfd_siginfo si;
  report("signalfd read, nothing pending", read(sfd, &si, sizeof si));
  kill(getpid(), SIGUSR1);
  report("signalfd read after kill", read(sfd, &si, sizeof si));
  printf("  signo=%u code_is_user=%d pid_ok=%d\n", si.ssi_signo, si.ssi_code == SI_USER, si.ssi_pid == (uint32_t)getpid());
  pid_t c = fork();
  if (c == 0) _exit(5);
  struct epoll_event sev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev);
  epoll_wait(ep, &out, 1, 1000);
  read(sfd, &si, sizeof si);
  printf("SIGCHLD via signalfd: signo=%u pid_ok=%d status=%d code_exited=%d\n", si.ssi_signo, si.ssi_pid == (uint32_t)c, si.ssi_status, si.ssi_code == CLD_EXITED);
  waitpid(c, NULL, 0);
  report("signalfd short buffer", read(sfd, &si, 64));
  sigemptyset(&mask);
  report("signalfd on a timerfd", signalfd(tfd, &mask, 0));
  return 0;
}
