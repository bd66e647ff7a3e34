// Memory round trip through trapped syscalls: read(0, buf, 64) -> n, then write(1, buf, n),
// then getpid(), then exit_group(n). The tracer answers read by writing into `buf` and write by
// reading it back.
#include "sys.h"

static char buf[64];

long prog_main(long mode) {
  (void)mode;
  long n = sys3(__NR_read, 0, (long)buf, sizeof buf);
  if (n < 0) return 100;
  sys3(__NR_write, 1, (long)buf, n);
  sys0(__NR_getpid);
  return n;
}
