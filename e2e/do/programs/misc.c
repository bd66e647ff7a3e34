// Smaller calls a program expects to work: scheduling settings (nice, policies, affinity),
// copy_file_range, utimes, the sync family, mlock and chroot (sethostname is tested in the
// sandbox only: natively it would rename the host). One line per check;
// the test compares the output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, long r) { printf("%-40s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  errno = 0;
  report("getpriority", getpriority(PRIO_PROCESS, 0));
  report("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
  report("getpriority after", getpriority(PRIO_PROCESS, 0));
  pid_t c = fork();
  if (c == 0) {
    printf("child inherits nice: %d\n", getpriority(PRIO_PROCESS, 0));
    _exit(0);
  }
  waitpid(c, NULL, 0);
  report("setpriority bad which", setpriority(42, 0, 1));
  report("sched_getscheduler", sched_getscheduler(0));
  struct sched_param sp = {.sched_priority = 10};
  report("sched_setscheduler FIFO 10", sched_setscheduler(0, SCHED_FIFO, &sp));
  report("sched_getscheduler after", sched_getscheduler(0));
  sp.sched_priority = 0;
  report("SCHED_OTHER with priority 0", sched_setscheduler(0, SCHED_OTHER, &sp));
  report("FIFO max", sched_get_priority_max(SCHED_FIFO));
  report("FIFO min", sched_get_priority_min(SCHED_FIFO));
  report("bad policy max", sched_get_priority_max(42));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  report("sched_setaffinity cpu 0", sched_setaffinity(0, sizeof set, &set));
  CPU_ZERO(&set);
  report("sched_setaffinity empty", sched_setaffinity(0, sizeof set, &set));

  int in = open("/tmp/cfr-in", O_RDWR | O_CREAT | O_TRUNC, 0600);
  write(in, "0123456789", 10);
  int out = open("/tmp/cfr-out", O_RDWR | O_CREAT | O_TRUNC, 0600);
  off64_t off_in = 2;
  report("copy_file_range", copy_file_range(in, &off_in, out, NULL, 5, 0));
  char buf[16] = {0};
  pread(out, buf, sizeof buf - 1, 0);
  printf("copied: %s off_in=%ld\n", buf, (long)off_in);
  report("copy_file_range bad flags", copy_file_range(in, NULL, out, NULL, 5, 1));
  struct timeval tv[2] = {{1000000, 250000}, {2000000, 500000}};
  report("utimes", utimes("/tmp/cfr-out", tv));
  struct stat st;
  stat("/tmp/cfr-out", &st);
  printf("times: %ld.%09ld %ld.%09ld\n", (long)st.st_atim.tv_sec, st.st_atim.tv_nsec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  tv[0].tv_usec = 2000000;
  report("utimes bad usec", utimes("/tmp/cfr-out", tv));
  sync();
  report("syncfs", syncfs(out));
  report("fdatasync", fdatasync(out));
  report("posix_fadvise", posix_fadvise(out, 0, 0, POSIX_FADV_SEQUENTIAL));
  report("posix_fadvise bad advice", posix_fadvise(out, 0, 0, 99));
  unlink("/tmp/cfr-in");
  unlink("/tmp/cfr-out");

  void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  report("mlock", mlock(p, 8192));
  report("munlock", munlock(p, 8192));
  munmap(p, 8192);
  report("mlock unmapped", mlock(p, 4096));
  report("mlockall bad flags", mlockall(0));

  c = fork();
  if (c == 0) {
    mkdir("/tmp/newroot", 0755);
    mkdir("/tmp/newroot/inside", 0755);
    report("chroot", chroot("/tmp/newroot"));
    struct stat s2;
    report("stat /inside after chroot", stat("/inside", &s2));
    report("stat /etc after chroot", stat("/etc", &s2));
    _exit(0);
  }
  waitpid(c, NULL, 0);
  rmdir("/tmp/newroot/inside");
  rmdir("/tmp/newroot");
  return 0;
}
