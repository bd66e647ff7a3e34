// runsc-stub: the host process behind every application address space.
//
// The tracer starts one stub (the "zygote") with PTRACE_TRACEME in a new session and with
// PR_SET_PDEATHSIG; every address space is then an injected fork of it. The stub's own code runs
// once, traced, before any application code exists:
//
//   0. Every signal is unblocked (the tracer forks it with all blocked): the tracer must see
//      each one at its delivery stop, the interrupt signal included.
//   1. Every disposition is reset to the default (execve keeps the ones Node ignores, such as
//      SIGPIPE), then SIGCHLD is ignored, so stubs forked from this one are reaped by the kernel once the
//      tracer has collected their exit (the tracer is not their parent); and the zygote is a
//      child subreaper, so a stub orphaned by its parent's death is reaped the same way rather
//      than left to the host's init.
//      It then leaves the host's network, IPC and UTS namespaces (where it may).
//   2. The stub page (stub.h) is mapped at the top of the address space and filled with
//      `syscall; int3`, then made read+exec.
//   3. no_new_privs, then a seccomp filter that allows a system call only if it is x86-64 and
//      its instruction pointer is right after the stub page's syscall instruction; any other
//      system call gets SECCOMP_RET_TRAP (SIGSYS, which the tracer sees and never delivers).
//      Under PTRACE_SYSEMU the ptrace stop comes first and skips the call, so the filter only
//      matters when interception fails: application code never reaches the host kernel.
//   4. It jumps to the int3 of the stub page. The SIGTRAP stop there hands the process to the
//      tracer, which unmaps everything else (this binary, its stack, the vDSO) by injecting
//      munmap at the stub's syscall instruction.
//
// Freestanding: no libc, no stack protector; built static at a fixed address by the Makefile.
#include <asm/unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include "stub.h"

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define PR_SET_CHILD_SUBREAPER 36
#define PR_SET_NO_NEW_PRIVS 38
#define SIGCHLD 17
#define CLONE_NEWUTS 0x04000000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWNET 0x40000000
#define SIG_IGN_HANDLER ((unsigned long)1)
#define SA_RESTORER 0x04000000

static long raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static __attribute__((noreturn)) void die(int status) {
  for (;;) raw_syscall(__NR_exit_group, status, 0, 0, 0, 0, 0);
}

// The kernel's struct sigaction for rt_sigaction (not libc's).
struct kernel_sigaction {
  unsigned long handler;
  unsigned long flags;
  unsigned long restorer;
  unsigned long mask;
};

__attribute__((noreturn, used)) void stub_main(void) {
  unsigned long none = 0;
  if (raw_syscall(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&none, 0, 8, 0, 0) != 0) die(STUB_EXIT_SETUP);
  struct kernel_sigaction dfl = {0, 0, 0, 0};
  for (long sig = 1; sig <= 64; sig++) {
    if (sig != 9 && sig != 19) raw_syscall(__NR_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
  }
  struct kernel_sigaction ignore = {SIG_IGN_HANDLER, 0, 0, 0};
  if (raw_syscall(__NR_rt_sigaction, SIGCHLD, (long)&ignore, 0, 8, 0, 0) != 0) die(STUB_EXIT_SETUP);
  if (raw_syscall(__NR_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0) != 0) die(STUB_EXIT_SETUP);
  // Its own network, IPC and UTS namespaces (inherited by every stub forked from it): a stub
  // never needs the host's, and this takes them out of reach should interception and the
  // filter both fail. Unprivileged (a developer without root), unshare is refused and the stub
  // goes on without: the seccomp filter is the boundary that must always hold.
  raw_syscall(__NR_unshare, CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS, 0, 0, 0, 0, 0);

  long page = raw_syscall(__NR_mmap, STUB_PAGE_ADDR, STUB_PAGE_SIZE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (page != (long)STUB_PAGE_ADDR) die(page == -17 /* EEXIST */ ? STUB_EXIT_PAGE_BUSY : STUB_EXIT_SETUP);
  volatile unsigned char* code = (volatile unsigned char*)STUB_PAGE_ADDR;
  for (unsigned long i = 0; i < STUB_PAGE_SIZE; i++) code[i] = 0xcc;  // int3
  code[0] = 0x0f;  // syscall
  code[1] = 0x05;
  if (raw_syscall(__NR_mprotect, STUB_PAGE_ADDR, STUB_PAGE_SIZE, PROT_READ | PROT_EXEC, 0, 0, 0) != 0) {
    die(STUB_EXIT_SETUP);
  }

  const unsigned long allowed_ip = STUB_SYSCALL_ADDR + 2;  // the ip after the syscall instruction
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(allowed_ip & 0xffffffffUL), 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(allowed_ip >> 32), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  if (raw_syscall(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0) != 0) die(STUB_EXIT_SETUP);
  if (raw_syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog, 0, 0, 0) != 0) {
    die(STUB_EXIT_SETUP);
  }
  // From here on only the stub page's syscall instruction may enter the kernel.
  __asm__ volatile("jmp *%0" : : "r"(STUB_TRAP_ADDR));
  __builtin_unreachable();
}

__asm__(
    ".globl _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  and $-16, %rsp\n"
    "  call stub_main\n"
    "  hlt\n");
