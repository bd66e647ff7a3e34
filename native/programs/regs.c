// Register state across a trapped syscall. Loads known values into the callee-saved registers
// and xmm0, makes syscall 0x1234 with six recognisable arguments, and exits with
//   0 if rax == 0x5151 and rbx == 0xb0b0 after the call (the tracer sets both),
//   1 otherwise.
#include "sys.h"

static const unsigned long long xmm_pattern[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};

long prog_main(long mode) {
  (void)mode;
  long rax, rbx;
  __asm__ volatile(
      "movdqu (%[xmm]), %%xmm0\n"
      "mov $0x1234, %%eax\n"
      "mov $0x1111, %%rdi\n"
      "mov $0x2222, %%rsi\n"
      "mov $0x3333, %%rdx\n"
      "mov $0x4444, %%r10\n"
      "mov $0x5555, %%r8\n"
      "mov $0x6666, %%r9\n"
      "mov $0xbbbb, %%rbx\n"
      "mov $0xcccc, %%r12\n"
      "mov $0xdddd, %%r13\n"
      "syscall\n"
      "mov %%rbx, %[rbx]\n"
      : "=a"(rax), [rbx] "=m"(rbx)
      : [xmm] "r"(xmm_pattern)
      : "rdi", "rsi", "rdx", "r10", "r8", "r9", "rbx", "r12", "r13", "rcx", "r11", "xmm0", "memory");
  return (rax == 0x5151 && rbx == 0xb0b0) ? 0 : 1;
}
