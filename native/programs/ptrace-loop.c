// The benchmark's reference: a raw C PTRACE_SYSEMU tracer. Runs `program` (getppid) traced and
// answers every system call itself (getppid -> 4242, exit_group -> let it exit) with the same
// requests the platform makes per call: GETREGS, SETREGS, SYSEMU, waitpid. Prints the number of
// trapped calls and the ns per call, as "calls=N ns_per_call=X".
// With --pin, the tracer binds itself (and so the child it forks) to the CPU it is running on,
// as the platform binds each tracee it resumes to the tracer thread's CPU.
// Usage: ptrace-loop [--pin] PROGRAM
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char** argv) {
  int pin = argc == 3 && strcmp(argv[1], "--pin") == 0;
  if (argc != 2 + pin) {
    fprintf(stderr, "usage: ptrace-loop [--pin] PROGRAM\n");
    return 2;
  }
  const char* program = argv[1 + pin];
  if (pin) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    execl(program, program, (char*)0);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, __WALL) != pid || !WIFSTOPPED(status)) return 3;
  ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD);
  long calls = 0;
  double start = now_ns();
  struct user_regs_struct regs;
  ptrace(PTRACE_SYSEMU, pid, 0, 0);
  for (;;) {
    if (waitpid(pid, &status, __WALL) != pid) return 4;
    if (!WIFSTOPPED(status)) break;
    if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
      fprintf(stderr, "unexpected stop %d\n", WSTOPSIG(status));
      kill(pid, SIGKILL);
      return 5;
    }
    ptrace(PTRACE_GETREGS, pid, 0, &regs);
    calls++;
    if (regs.orig_rax == SYS_exit_group) {
      kill(pid, SIGKILL);
      continue;
    }
    regs.rax = regs.orig_rax == SYS_getppid ? 4242 : (unsigned long long)-38;  // ENOSYS
    ptrace(PTRACE_SETREGS, pid, 0, &regs);
    ptrace(PTRACE_SYSEMU, pid, 0, 0);
  }
  double ns = now_ns() - start;
  printf("calls=%ld ns_per_call=%.1f\n", calls, ns / calls);
  return 0;
}
