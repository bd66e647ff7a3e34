// Processes as a program sees them: fork and exit statuses, wait4/waitid options, job-control
// stops, vfork + exec, close-on-exec, process groups, threads (pthreads, futexes,
// CLONE_CHILD_CLEARTID), and exec from a thread. One line per check; the test compares the
// output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void describe(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by %d core=%d\n", what, WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
  else if (WIFSTOPPED(st)) printf("%s: stopped by %d\n", what, WSTOPSIG(st));
  else if (WIFCONTINUED(st)) printf("%s: continued\n", what);
}

static void check_exit_statuses(void) {
  int st;
  pid_t c = fork();
  if (c == 0) _exit(42);
  printf("wait4 returns the child: %d\n", waitpid(c, &st, 0) == c);
  describe("exit", st);
  c = fork();
  if (c == 0) {
    for (;;) pause();
  }
  kill(c, SIGTERM);
  waitpid(c, &st, 0);
  describe("sigterm", st);
  c = fork();
  if (c == 0) abort();
  waitpid(c, &st, 0);
  describe("abort", st);
  int r = waitpid(-1, &st, WNOHANG);
  printf("no more children: %d errno=%s\n", r, strerrorname_np(errno));
  c = fork();
  if (c == 0) {
    sleep_ms(100);
    _exit(1);
  }
  printf("wnohang before exit: %d\n", waitpid(c, &st, WNOHANG));
  waitpid(c, &st, 0);
  describe("later", st);
}

static void check_waitid(void) {
  pid_t c = fork();
  if (c == 0) _exit(7);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  waitid(P_PID, c, &si, WEXITED | WNOWAIT);
  printf("waitid nowait: pid_ok=%d code_exited=%d status=%d\n", si.si_pid == c, si.si_code == CLD_EXITED, si.si_status);
  memset(&si, 0, sizeof si);
  waitid(P_ALL, 0, &si, WEXITED);
  printf("waitid reap: pid_ok=%d status=%d\n", si.si_pid == c, si.si_status);
  int r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
  printf("waitid none: %d errno=%s\n", r, strerrorname_np(errno));
  r = waitid(P_ALL, 0, &si, WNOHANG);
  printf("waitid bad options: %d errno=%s\n", r, strerrorname_np(errno));
}

static void check_stop_continue(void) {
  pid_t c = fork();
  if (c == 0) {
    for (;;) pause();
  }
  int st;
  kill(c, SIGSTOP);
  waitpid(c, &st, WUNTRACED);
  describe("sigstop", st);
  kill(c, SIGCONT);
  waitpid(c, &st, WCONTINUED);
  describe("sigcont", st);
  kill(c, SIGKILL);
  waitpid(c, &st, 0);
  describe("sigkill", st);
}

static void check_exec(void) {
  int fds[2];
  pipe(fds);
  int keep = dup(fds[1]);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  pid_t c = vfork();
  if (c == 0) {
    char fdarg[32];
    snprintf(fdarg, sizeof fdarg, "/proc/self/fd/%d", fds[1]);
    char *argv[] = {"/bin/sh", "-c", "echo \"sh sees $GREETING\"; test -e \"$1\" && echo cloexec-leaked || echo cloexec-closed", "sh", fdarg, NULL};
    char *envp[] = {"GREETING=hi", "PATH=/bin:/usr/bin", NULL};
    execve(argv[0], argv, envp);
    _exit(127);
  }
  int st;
  waitpid(c, &st, 0);
  describe("vfork+exec", st);
  close(fds[0]);
  close(fds[1]);
  close(keep);
  c = fork();
  if (c == 0) {
    char *argv[] = {"/nonexistent", NULL};
    execv(argv[0], argv);
    printf("execve failure: errno=%s\n", strerrorname_np(errno));
    _exit(3);
  }
  waitpid(c, &st, 0);
  describe("failed exec", st);
}

static void check_pipeline(void) {
  int fds[2];
  pipe(fds);
  pid_t w = fork();
  if (w == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execlp("seq", "seq", "1", "1000", NULL);
    _exit(127);
  }
  pid_t r = fork();
  if (r == 0) {
    dup2(fds[0], 0);
    close(fds[0]);
    close(fds[1]);
    execlp("wc", "wc", "-l", NULL);
    _exit(127);
  }
  close(fds[0]);
  close(fds[1]);
  int st;
  waitpid(w, &st, 0);
  waitpid(r, &st, 0);
  describe("pipeline", st);
}

static void check_process_groups(void) {
  pid_t kids[2];
  int ready[2];
  pipe(ready);
  for (int i = 0; i < 2; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      setpgid(0, i == 0 ? 0 : kids[0]);
      write(ready[1], "r", 1);
      for (;;) pause();
    }
    setpgid(kids[i], kids[0]);
  }
  char b;
  read(ready[0], &b, 1);
  read(ready[0], &b, 1);
  printf("child pgid is first child: %d %d\n", getpgid(kids[0]) == kids[0], getpgid(kids[1]) == kids[0]);
  kill(-kids[0], SIGTERM);
  for (int i = 0; i < 2; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    describe("group member", st);
  }
  int r = kill(-kids[0], SIGTERM);
  printf("group gone: %d errno=%s\n", r, strerrorname_np(errno));
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int counter, turn;

static void *worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 1000; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  while (turn != id) pthread_cond_wait(&cv, &mu);
  turn++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return (void *)(id * 10);
}

static void check_threads(void) {
  pthread_t th[4];
  for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, (void *)i);
  long sum = 0;
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(th[i], &r);
    sum += (long)r;
  }
  printf("threads: counter=%d turns=%d sum=%ld\n", counter, turn, sum);
}

static volatile int thread_sig_tid;
static void on_usr1(int s) {
  (void)s;
  thread_sig_tid = syscall(SYS_gettid);
}
static void *sleeper(void *arg) {
  (void)arg;
  sleep_ms(200);
  return NULL;
}

static void check_thread_signals(void) {
  signal(SIGUSR1, on_usr1);
  pthread_t th;
  pthread_create(&th, NULL, sleeper, NULL);
  sleep_ms(20);
  pthread_kill(th, SIGUSR1);
  pthread_join(th, NULL);
  printf("tgkill reached the thread: %d\n", thread_sig_tid != 0 && thread_sig_tid != getpid());
}

static void *exec_from_thread(void *arg) {
  (void)arg;
  execl("/bin/sh", "sh", "-c", "echo \"exec from a thread: pid kept $(( $$ == $PARENT_PID ))\"", NULL);
  return NULL;
}

static void check_exec_thread(void) {
  pid_t c = fork();
  if (c == 0) {
    char pid[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    setenv("PARENT_PID", pid, 1);
    pthread_t th;
    pthread_create(&th, NULL, exec_from_thread, NULL);
    for (;;) pause();
  }
  int st;
  waitpid(c, &st, 0);
  describe("exec from thread", st);
}

static void check_subreaper_and_pdeathsig(void) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int get = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &get);
  int fds[2];
  pipe(fds);
  pid_t middle = fork();
  if (middle == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      write(fds[1], "r", 1);
      for (;;) pause();  // killed by SIGTERM when `middle` exits
    }
    char b;
    read(fds[0], &b, 1);
    _exit(0);
  }
  int st;
  waitpid(middle, &st, 0);
  pid_t adopted = waitpid(-1, &st, 0);  // the grandchild, adopted by this subreaper
  printf("subreaper %d adopted the grandchild: %d\n", get, adopted > 0 && adopted != middle);
  describe("parent-death signal", st);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  check_exit_statuses();
  check_waitid();
  check_stop_continue();
  check_exec();
  check_pipeline();
  check_process_groups();
  check_threads();
  check_thread_signals();
  check_exec_thread();
  check_subreaper_and_pdeathsig();
  return 0;
}
