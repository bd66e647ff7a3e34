// Bad input: each mode does one thing an application must not be able to break the platform
// with. The tracer checks which event it gets.
//   1 int3                     -> SIGTRAP
//   2 ud2                      -> SIGILL
//   3 divide by zero           -> SIGFPE
//   4 jump to address 0        -> SIGSEGV at 0
//   5 garbage syscalls         -> trapped syscall events, then exit_group(0)
//   6 call the vsyscall page   -> SIGSYS (seccomp) or SIGSEGV (vsyscall=none); never the host
//   7 store to read-only text  -> SIGSEGV at that address
//   8 spin forever             -> only an interrupt or a kill stops it
//  10 int $0x80 (getpid, 20)  -> a trapped syscall whose arch is i386 (or SIGSEGV without
//                                IA32 emulation)
#include "sys.h"

long prog_main(long mode) {
  switch (mode) {
    case 1:
      __asm__ volatile("int3");
      break;
    case 2:
      __asm__ volatile("ud2");
      break;
    case 3: {
      volatile long zero = 0;
      volatile long x = 7 / zero;
      (void)x;
      break;
    }
    case 4: {
      void (*volatile null_fn)(void) = 0;
      null_fn();
      break;
    }
    case 5:
      sys6(-1, -1, -1, -1, -1, -1, -1);
      sys6(0x7fffffff, 0, 0, 0, 0, 0, 0);
      sys6(__NR_mmap, 0xdeadbeef, -1, 77, 88, -9, 0x1234);
      sys6(0x40000000 | __NR_getpid, 0, 0, 0, 0, 0, 0);  // x32 bit
      return 0;
    case 6: {
      long (*vtime)(long) = (long (*)(long))0xffffffffff600400UL;  // vsyscall time()
      return vtime(0);
    }
    case 7:
      *(volatile char*)prog_main = 0;
      break;
    case 8:
      for (;;) __asm__ volatile("" ::: "memory");
    case 10: {
      long r;
      __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
      return r == 4242 ? 0 : 1;
    }
    default:
      break;
  }
  return 99;
}
