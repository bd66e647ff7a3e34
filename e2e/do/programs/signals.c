// Signal delivery as a program sees it: handlers and siginfo, masks, restarts and EINTR,
// sigsuspend, sigtimedwait, the alternate stack, FP state across a handler, and faults caught by
// handlers. Prints one line per check; the test compares the output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits;
static volatile int last_code, last_pid_ok, last_sig;
static void on_info(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  hits++;
  last_sig = sig;
  last_code = si->si_code;
  last_pid_ok = si->si_pid == getpid();
}
static void on_plain(int sig) { hits++; last_sig = sig; }

static void handle(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  sigaction(sig, &sa, NULL);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

// A child that sends `sig` to the parent after `ms`, then exits.
static pid_t signal_later(int sig, int ms) {
  pid_t parent = getpid();
  pid_t c = fork();
  if (c == 0) {
    sleep_ms(ms);
    kill(parent, sig);
    _exit(0);
  }
  return c;
}

static void reap(pid_t c) { waitpid(c, NULL, 0); }

static void check_raise(void) {
  handle(SIGUSR1, on_info, 0);
  hits = 0;
  raise(SIGUSR1);
  printf("raise: hits=%d sig=%d code_is_tkill=%d pid_ok=%d\n", hits, last_sig, last_code == SI_TKILL, last_pid_ok);
  kill(getpid(), SIGUSR1);
  printf("kill self: hits=%d code_is_user=%d pid_ok=%d\n", hits, last_code == SI_USER, last_pid_ok);
  union sigval v = {.sival_int = 42};
  sigqueue(getpid(), SIGUSR1, v);
  printf("sigqueue: hits=%d code_is_queue=%d\n", hits, last_code == SI_QUEUE);
}

static void check_mask(void) {
  sigset_t s, old, pend;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  handle(SIGUSR2, on_info, 0);
  sigprocmask(SIG_BLOCK, &s, &old);
  hits = 0;
  raise(SIGUSR2);
  raise(SIGUSR2); // a standard signal is pending at most once
  sigpending(&pend);
  printf("blocked: hits=%d pending=%d\n", hits, sigismember(&pend, SIGUSR2));
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("unblocked: hits=%d\n", hits);
  // SIGKILL and SIGSTOP cannot be blocked.
  sigfillset(&s);
  sigprocmask(SIG_SETMASK, &s, NULL);
  sigprocmask(SIG_SETMASK, NULL, &old);
  printf("fill mask: kill=%d stop=%d usr1=%d\n", sigismember(&old, SIGKILL), sigismember(&old, SIGSTOP), sigismember(&old, SIGUSR1));
  sigemptyset(&s);
  sigprocmask(SIG_SETMASK, &s, NULL);
  // Real-time signals queue, in order.
  sigaddset(&s, SIGRTMIN + 1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  for (int i = 0; i < 3; i++) {
    union sigval v = {.sival_int = i};
    sigqueue(getpid(), SIGRTMIN + 1, v);
  }
  siginfo_t si;
  struct timespec zero = {0, 0};
  printf("rt queue:");
  while (sigtimedwait(&s, &si, &zero) == SIGRTMIN + 1) printf(" %d", si.si_value.sival_int);
  printf(" then errno=%s\n", strerrorname_np(errno));
  sigprocmask(SIG_UNBLOCK, &s, NULL);
}

static void check_restart(void) {
  int fds[2];
  char b;
  // Without SA_RESTART a blocked read fails with EINTR.
  handle(SIGALRM, on_info, 0);
  pipe(fds);
  pid_t c = signal_later(SIGALRM, 50);
  errno = 0;
  int r = read(fds[0], &b, 1);
  printf("read no-restart: r=%d errno=%s\n", r, strerrorname_np(errno));
  reap(c);
  // With SA_RESTART it resumes and gets the byte written later.
  handle(SIGALRM, on_info, SA_RESTART);
  pid_t parent = getpid();
  c = fork();
  if (c == 0) {
    sleep_ms(50);
    kill(parent, SIGALRM);
    sleep_ms(50);
    write(fds[1], "x", 1);
    _exit(0);
  }
  hits = 0;
  r = read(fds[0], &b, 1);
  printf("read restart: r=%d byte=%c hits=%d\n", r, b, hits);
  reap(c);
  // nanosleep always fails with EINTR under a handler, reporting the time left.
  c = signal_later(SIGALRM, 50);
  struct timespec ts = {3, 0}, rem = {0, 0};
  r = nanosleep(&ts, &rem);
  printf("nanosleep: r=%d errno=%s rem_ok=%d\n", r, strerrorname_np(errno), rem.tv_sec >= 1 && rem.tv_sec <= 3);
  reap(c);
  close(fds[0]);
  close(fds[1]);
}

static void check_suspend(void) {
  sigset_t block, wait;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  handle(SIGUSR1, on_info, 0);
  sigprocmask(SIG_BLOCK, &block, NULL);
  pid_t c = signal_later(SIGUSR1, 50);
  sigemptyset(&wait);
  hits = 0;
  int r = sigsuspend(&wait);
  sigset_t now;
  sigprocmask(SIG_SETMASK, NULL, &now);
  printf("sigsuspend: r=%d errno=%s hits=%d mask_restored=%d\n", r, strerrorname_np(errno), hits, sigismember(&now, SIGUSR1));
  reap(c);
  // sigwaitinfo takes a blocked signal without running the handler.
  c = signal_later(SIGUSR1, 50);
  siginfo_t si;
  hits = 0;
  r = sigwaitinfo(&block, &si);
  printf("sigwaitinfo: r=%d hits=%d from_child=%d\n", r, hits, si.si_pid == c);
  reap(c);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
}

static void *alt_base;
static volatile int on_alt;
static void on_alt_handler(int sig) {
  int local;
  (void)sig;
  on_alt = (char *)&local >= (char *)alt_base && (char *)&local < (char *)alt_base + 65536;
  stack_t cur;
  sigaltstack(NULL, &cur);
  on_alt = on_alt && (cur.ss_flags & SS_ONSTACK);
}

static void check_altstack(void) {
  alt_base = malloc(65536);
  stack_t ss = {.ss_sp = alt_base, .ss_size = 65536, .ss_flags = 0};
  printf("sigaltstack: %d\n", sigaltstack(&ss, NULL));
  stack_t small = {.ss_sp = alt_base, .ss_size = 1024, .ss_flags = 0};
  int r = sigaltstack(&small, NULL);
  printf("too small: %d errno=%s\n", r, strerrorname_np(errno));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alt_handler;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);
  stack_t cur;
  sigaltstack(NULL, &cur);
  printf("handler on alt stack: %d, after: flags=%d\n", on_alt, cur.ss_flags);
}

static volatile double fp_seen;
static void on_fp(int sig) {
  (void)sig;
  volatile double x = 1.0;
  for (int i = 0; i < 10; i++) x = x * 3.0 + 0.5;
  fp_seen = x;
}

static void check_fp(void) {
  signal(SIGUSR1, on_fp);
  volatile double a = 1.25, b = 2.5, c = 0;
  for (int i = 0; i < 100; i++) {
    c = a * b + c;
    if (i == 50) raise(SIGUSR1);
  }
  printf("fp: c=%.3f handler=%.1f\n", c, fp_seen);
}

static sigjmp_buf jump;
static volatile uintptr_t fault_addr;
static volatile int fault_code;
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  fault_addr = (uintptr_t)si->si_addr;
  fault_code = si->si_code;
  siglongjmp(jump, sig);
}

static void check_faults(void) {
  handle(SIGSEGV, on_fault, 0);
  handle(SIGFPE, on_fault, 0);
  char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int sig = sigsetjmp(jump, 1);
  if (sig == 0) {
    *(volatile char *)(page + 16) = 1;
  } else {
    printf("segv caught: sig=%d addr_ok=%d code_is_accerr=%d\n", sig, fault_addr == (uintptr_t)page + 16, fault_code == SEGV_ACCERR);
  }
  sig = sigsetjmp(jump, 1);
  if (sig == 0) {
    volatile int zero = 0;
    volatile int r = 10 / zero;
    (void)r;
  } else {
    printf("fpe caught: sig=%d code_is_intdiv=%d\n", sig, fault_code == FPE_INTDIV);
  }
  // A blocked fault still kills: the child dies of SIGSEGV.
  pid_t c = fork();
  if (c == 0) {
    sigset_t s;
    sigfillset(&s);
    sigprocmask(SIG_BLOCK, &s, NULL);
    *(volatile char *)page = 1;
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf("blocked segv: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
}

static void check_resethand(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_plain;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGUSR1, &sa, NULL);
  hits = 0;
  raise(SIGUSR1);
  struct sigaction now;
  sigaction(SIGUSR1, NULL, &now);
  printf("resethand: hits=%d now_default=%d\n", hits, now.sa_handler == SIG_DFL);
  signal(SIGUSR1, SIG_IGN);
  raise(SIGUSR1);
  printf("ignored: survived\n");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  check_raise();
  check_mask();
  check_restart();
  check_suspend();
  check_altstack();
  check_fp();
  check_faults();
  check_resethand();
  return 0;
}
