// Advisory locks between processes: flock (owned by the open file description), POSIX record
// locks (owned by the process, dropped by any close of the file), OFD locks; blocking waits and
// bad arguments. One line per check; the test compares the output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *PATH = "/tmp/locks-test";

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static int lock(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

static void report(const char *what, int r) { printf("%s: %d %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }

static void check_flock(void) {
  int fd = open(PATH, O_RDWR | O_CREAT, 0600);
  report("flock LOCK_EX", flock(fd, LOCK_EX));
  pid_t c = fork();
  if (c == 0) {
    int own = open(PATH, O_RDWR);
    report("child: another description LOCK_EX|LOCK_NB", flock(own, LOCK_EX | LOCK_NB));
    report("child: the inherited description LOCK_EX (same owner)", flock(fd, LOCK_EX | LOCK_NB));
    _exit(0);
  }
  waitpid(c, NULL, 0);
  c = fork();
  if (c == 0) {
    int own = open(PATH, O_RDWR);
    report("child: blocking LOCK_SH, granted once the parent unlocks", flock(own, LOCK_SH));
    _exit(0);
  }
  sleep_ms(100);
  flock(fd, LOCK_UN);
  waitpid(c, NULL, 0);
  report("flock bad operation", flock(fd, 0));
  report("flock LOCK_MAND (obsolete: succeeds, locks nothing)", flock(fd, LOCK_MAND | LOCK_READ));
  close(fd);
}

static void check_posix(void) {
  int fd = open(PATH, O_RDWR | O_CREAT, 0600);
  report("F_SETLK write [0,10)", lock(fd, F_SETLK, F_WRLCK, 0, 10));
  int other = open(PATH, O_RDONLY);
  report("same process, other fd: no conflict with itself", lock(other, F_SETLK, F_RDLCK, 5, 10));
  pid_t parent = getpid();
  int ready[2];
  pipe(ready);
  pid_t c = fork();
  if (c == 0) {
    int own = open(PATH, O_RDWR);
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 3, .l_len = 1};
    fcntl(own, F_GETLK, &q);
    printf("child: F_GETLK sees type=%s pid_is_parent=%d start=%ld len=%ld\n", q.l_type == F_WRLCK ? "write" : q.l_type == F_RDLCK ? "read" : "unlock", q.l_pid == parent, (long)q.l_start, (long)q.l_len);
    report("child: F_SETLK [5,15) conflicts", lock(own, F_SETLK, F_WRLCK, 5, 10));
    report("child: F_SETLK [15,20) is free", lock(own, F_SETLK, F_WRLCK, 15, 5));
    write(ready[1], "r", 1);
    report("child: F_SETLKW [0,10) waits for the parent's close", lock(own, F_SETLKW, F_WRLCK, 0, 10));
    _exit(0);
  }
  char b;
  read(ready[0], &b, 1);
  sleep_ms(100);
  close(other); // closing ANY descriptor of the file drops the process's locks on it
  waitpid(c, NULL, 0);
  struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  fcntl(fd, F_GETLK, &q);
  printf("after the child exited: %s\n", q.l_type == F_UNLCK ? "unlocked" : "still locked");
  report("bad whence", fcntl(fd, F_SETLK, &(struct flock){.l_type = F_WRLCK, .l_whence = 7}));
  report("negative start", lock(fd, F_SETLK, F_WRLCK, -5, 1));
  report("bad type", lock(fd, F_SETLK, 9, 0, 1));
  int ro = open(PATH, O_RDONLY);
  report("write lock on a read-only fd", lock(ro, F_SETLK, F_WRLCK, 0, 1));
  close(ro);
  close(fd);
}

static void check_ofd(void) {
  int a = open(PATH, O_RDWR);
  int b = open(PATH, O_RDWR);
  report("F_OFD_SETLK on a", lock(a, F_OFD_SETLK, F_WRLCK, 0, 0));
  report("F_OFD_SETLK on b (another description, same process)", lock(b, F_OFD_SETLK, F_WRLCK, 0, 1));
  struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  fcntl(b, F_OFD_GETLK, &q);
  printf("F_OFD_GETLK: pid=%d\n", q.l_pid);
  struct flock bad = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1};
  report("OFD lock with l_pid set", fcntl(b, F_OFD_SETLK, &bad));
  close(a);
  report("after closing a, b may lock", lock(b, F_OFD_SETLK, F_WRLCK, 0, 1));
  close(b);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  unlink(PATH);
  check_flock();
  check_posix();
  check_ofd();
  unlink(PATH);
  return 0;
}
