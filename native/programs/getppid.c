// The benchmark's workload: `count` getppid() calls (the entry %rdi, or 100,000 when it is 0),
// then exit_group(0). Exits 1 if an answer changes, so a broken tracer cannot pass unnoticed.
#include "sys.h"

long prog_main(long count) {
  if (count <= 0) count = 100000;
  long first = sys0(__NR_getppid);
  for (long i = 1; i < count; i++) {
    if (sys0(__NR_getppid) != first) return 1;
  }
  return 0;
}
