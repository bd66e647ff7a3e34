// timerfd and signalfd: expirations counted and read, blocking and non-blocking, with epoll;
// signals read as signalfd_siginfo (a kill, a child's exit). One line per check; the test
// compares the output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long r) { printf("%-36s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }

static volatile sig_atomic_t cpu_signals[65];
static void on_cpu_signal(int sig) { cpu_signals[sig]++; }

/** Spins until `sig` has come `want` times, or for at most two seconds of wall time. */
static void spin_until(int sig, int want) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    for (volatile int i = 0; i < 100000; i++) {
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (cpu_signals[sig] < want && now.tv_sec - start.tv_sec < 2);
}

/** ITIMER_VIRTUAL and ITIMER_PROF count CPU time: they fire for a spinning process, not a sleeping one. */
static void cpu_timers(void) {
  signal(SIGVTALRM, on_cpu_signal);
  signal(SIGPROF, on_cpu_signal);
  struct itimerval v = {.it_value = {0, 30000}};
  report("setitimer ITIMER_VIRTUAL 30ms", setitimer(ITIMER_VIRTUAL, &v, NULL));
  struct itimerval got;
  getitimer(ITIMER_VIRTUAL, &got);
  // Linux rounds up to its accounting tick, so only "armed, under a second" is certain.
  printf("  armed: %d\n", got.it_value.tv_sec == 0 && got.it_value.tv_usec > 0);
  struct timespec nap = {0, 100000000};
  nanosleep(&nap, NULL);
  printf("  SIGVTALRM while sleeping 100ms: %d\n", cpu_signals[SIGVTALRM]);
  spin_until(SIGVTALRM, 1);
  printf("  SIGVTALRM after spinning: %d\n", cpu_signals[SIGVTALRM]);
  getitimer(ITIMER_VIRTUAL, &got);
  printf("  one-shot, now disarmed: %d\n", got.it_value.tv_sec == 0 && got.it_value.tv_usec == 0);
  struct itimerval p = {.it_interval = {0, 20000}, .it_value = {0, 20000}};
  report("setitimer ITIMER_PROF every 20ms", setitimer(ITIMER_PROF, &p, NULL));
  spin_until(SIGPROF, 3);
  struct itimerval off = {0};
  setitimer(ITIMER_PROF, &off, &got);
  printf("  SIGPROF at least 3 times: %d; period kept: %ld\n", cpu_signals[SIGPROF] >= 3, (long)got.it_interval.tv_usec);

  // POSIX timers on the process's and the thread's CPU clocks.
  signal(SIGUSR2, on_cpu_signal);
  signal(SIGURG, on_cpu_signal);
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
  timer_t process_timer, thread_timer;
  report("timer_create CLOCK_PROCESS_CPUTIME_ID", timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &process_timer));
  ev.sigev_signo = SIGURG;
  report("timer_create CLOCK_THREAD_CPUTIME_ID", timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &thread_timer));
  struct itimerspec once = {.it_value = {0, 20000000}};
  timer_settime(process_timer, 0, &once, NULL);
  timer_settime(thread_timer, 0, &once, NULL);
  spin_until(SIGUSR2, 1);
  spin_until(SIGURG, 1);
  printf("  process clock timer fired: %d, thread clock timer fired: %d\n", cpu_signals[SIGUSR2], cpu_signals[SIGURG]);
  timer_delete(process_timer);
  timer_delete(thread_timer);

  clockid_t mine, thread;
  struct timespec by_id, by_thread;
  report("clock_getcpuclockid(self)", clock_getcpuclockid(getpid(), &mine));
  report("clock_gettime on it", clock_gettime(mine, &by_id));
  report("pthread_getcpuclockid(self)", pthread_getcpuclockid(pthread_self(), &thread));
  report("clock_gettime on it", clock_gettime(thread, &by_thread));
  printf("  process and thread CPU time at least 50ms: %d %d\n", by_id.tv_sec > 0 || by_id.tv_nsec >= 50000000, by_thread.tv_sec > 0 || by_thread.tv_nsec >= 50000000);
  report("clock_gettime, a CPU clock counting nothing", clock_gettime((clockid_t)-5, &by_id));
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "cpu-after-exec") == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    printf("process CPU time after exec at least 50ms: %d\n", ts.tv_sec > 0 || ts.tv_nsec >= 50000000);
    return 0;
  }
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
  cpu_timers();
  // The process's CPU time survives execve (the spinning above is more than 50ms of it).
  fflush(stdout);
  execl("/proc/self/exe", "fdtimers", "cpu-after-exec", (char *)NULL);
  return 1;
}
