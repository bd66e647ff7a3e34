// The stub's fixed layout, shared by the stub (stub.c) and the tracer (src/ptrace*.cc).
//
// The stub page is the last page of the 47-bit user address space. It holds three bytes of
// code, `syscall; int3`, and int3 padding. Every host system call of an application address
// space is executed by that one syscall instruction (the seccomp filter admits no other); the
// int3 after it hands control back to the tracer.
#ifndef RUNSC_STUB_H_
#define RUNSC_STUB_H_

#define STUB_PAGE_ADDR 0x7fffffffe000UL
#define STUB_PAGE_SIZE 0x1000UL
// The syscall instruction, and the int3 right after it.
#define STUB_SYSCALL_ADDR STUB_PAGE_ADDR
#define STUB_TRAP_ADDR (STUB_PAGE_ADDR + 2)
// The top of the user address space (x86-64, 4-level paging: TASK_SIZE_MAX).
#define STUB_USER_TOP 0x7ffffffff000UL
// A writable page just below the stub page, for the arguments of injected calls that take
// pointers (recvmsg's msghdr). The tracer maps it; the application's address space ends here.
#define STUB_SCRATCH_ADDR (STUB_PAGE_ADDR - 0x1000UL)
#define STUB_SCRATCH_SIZE 0x1000UL
// The descriptor every stub inherits from the zygote: a SOCK_SEQPACKET socket on which the
// sentry sends host FDs (SCM_RIGHTS) for the stub to map (shared file mappings).
#define STUB_CHANNEL_FD 3

// Exit statuses of a stub that could not start (before the tracer took over).
#define STUB_EXIT_PAGE_BUSY 120   // the stub page overlaps the exec'd image (stack, vdso)
#define STUB_EXIT_SETUP 121       // a setup system call failed

#endif  // RUNSC_STUB_H_
