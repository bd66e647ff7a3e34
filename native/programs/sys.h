// Freestanding helpers for the platform's test and bench programs: raw system calls and an
// entry point. The programs are static, position dependent (linked at 0x400000) and use no libc,
// so their only interaction with a kernel is the syscall instruction: exactly what the platform
// traps. `_start` passes the entry value of %rdi to prog_main; the platform's tests set it to
// pick a scenario, and a kernel exec leaves it 0.
#ifndef RUNSC_PROGRAMS_SYS_H_
#define RUNSC_PROGRAMS_SYS_H_

#include <asm/unistd.h>

static inline long sys6(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
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
static inline long sys0(long nr) { return sys6(nr, 0, 0, 0, 0, 0, 0); }
static inline long sys1(long nr, long a0) { return sys6(nr, a0, 0, 0, 0, 0, 0); }
static inline long sys3(long nr, long a0, long a1, long a2) { return sys6(nr, a0, a1, a2, 0, 0, 0); }

static inline __attribute__((noreturn)) void exit_group(long status) {
  for (;;) sys1(__NR_exit_group, status);
}

long prog_main(long mode);

__asm__(
    ".globl _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  and $-16, %rsp\n"
    "  call prog_main\n"
    "  mov %rax, %rdi\n"
    "1: mov $231, %eax\n"  // exit_group(prog_main's result)
    "  syscall\n"
    "  jmp 1b\n");

#endif  // RUNSC_PROGRAMS_SYS_H_
