// Fork and threads through the platform.
// mode 1 (fork): fork() -> r; the child stores 'c' in `who`, the parent 'p'; each then
//   write(1, &who, 1) and exit_group(r == 0 ? 0 : 1). Copy-on-write keeps the two apart.
// mode 2 (thread): clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, stack) ->
//   the child sets `flag` to 1 and exit(0)s; the parent loops on getppid() until it sees the
//   flag (the address space is shared), then exit_group(7).
#include "sys.h"

static char who = '?';
static volatile long flag;
static char child_stack[16384] __attribute__((aligned(16)));

#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_THREAD 0x10000

long prog_main(long mode) {
  if (mode == 1) {
    long r = sys0(__NR_fork);
    who = r == 0 ? 'c' : 'p';
    sys3(__NR_write, 1, (long)&who, 1);
    return r == 0 ? 0 : 1;
  }
  if (mode == 2) {
    long r = sys6(__NR_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD,
                  (long)(child_stack + sizeof child_stack), 0, 0, 0, 0);
    if (r == 0) {
      // The child: no stack frame of ours is valid here, so touch only globals.
      flag = 1;
      for (;;) sys1(__NR_exit, 0);
    }
    while (!flag) sys0(__NR_getppid);
    return 7;
  }
  return 99;
}
