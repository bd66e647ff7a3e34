// File mappings as a program sees them: shared mappings of files in /tmp and /dev/shm and of
// memfds, seen by read(2) and by a forked child; private mappings that stay private;
// process-shared semaphores and mutexes on shared memory (futexes across processes); mremap;
// fallocate. One line per check; the test compares the output with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void child_writes(char *p, const char *what) {
  pid_t c = fork();
  if (c == 0) {
    memcpy(p, what, strlen(what));
    _exit(0);
  }
  waitpid(c, NULL, 0);
}

static void check_shared_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  ftruncate(fd, 8192);
  char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  child_writes(p, "from the child");
  char buf[16] = {0};
  pread(fd, buf, 14, 0);
  pwrite(fd, "WRITE", 5, 100);
  printf("%s: read sees the child's store: %s; the mapping sees write(): %.5s\n", path, buf, p + 100);
  // A second, independent mapping of the same file shares the pages too.
  char *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
  p[4096] = 'Z';
  printf("%s: second mapping sees it: %c\n", path, q[0]);
  munmap(q, 4096);
  munmap(p, 8192);
  close(fd);
  unlink(path);
}

static void check_private_file(void) {
  int fd = open("/tmp/private-map", O_RDWR | O_CREAT | O_TRUNC, 0600);
  write(fd, "original", 8);
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  memcpy(p, "modified", 8);
  char buf[9] = {0};
  pread(fd, buf, 8, 0);
  printf("private: file keeps %s, mapping has %.8s\n", buf, p);
  int r = msync(p, 4096, MS_SYNC);
  printf("msync: %d\n", r);
  munmap(p, 4096);
  close(fd);
  unlink("/tmp/private-map");
  // A read-only file from the host, mapped shared.
  fd = open("/etc/os-release", O_RDONLY);
  char want[32] = {0};
  read(fd, want, 31);
  char *h = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  printf("host file mapped: %d\n", memcmp(h, want, 31) == 0);
  errno = 0;
  void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("writable shared map of a read-only fd: %s\n", w == MAP_FAILED ? strerrorname_np(errno) : "mapped");
  munmap(h, 4096);
  close(fd);
}

static void check_memfd(void) {
  int fd = memfd_create("shared", 0);
  ftruncate(fd, 4096);
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  child_writes(p, "memfd child");
  char buf[12] = {0};
  pread(fd, buf, 11, 0);
  printf("memfd: %s\n", buf);
  close(fd);
}

static void check_process_shared_sync(void) {
  struct shared {
    sem_t sem;
    pthread_mutex_t mu;
    int counter;
  } *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  sem_init(&s->sem, 1, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->mu, &a);
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      sem_wait(&s->sem);  // blocks until the parent posts: a futex wait woken from another process
      for (int j = 0; j < 1000; j++) {
        pthread_mutex_lock(&s->mu);
        s->counter++;
        pthread_mutex_unlock(&s->mu);
      }
      _exit(0);
    }
  }
  usleep(100000);
  for (int i = 0; i < 3; i++) sem_post(&s->sem);
  for (int i = 0; i < 3; i++) waitpid(kids[i], NULL, 0);
  printf("process-shared mutex and semaphore: counter=%d\n", s->counter);
  // A named semaphore (a file in /dev/shm, mapped shared).
  sem_t *named = sem_open("/runsc-ts-test", O_CREAT, 0600, 0);
  pid_t c = fork();
  if (c == 0) {
    sem_t *mine = sem_open("/runsc-ts-test", 0);
    sem_post(mine);
    _exit(0);
  }
  sem_wait(named);
  waitpid(c, NULL, 0);
  printf("named semaphore posted by the child\n");
  sem_unlink("/runsc-ts-test");
}

static void check_mremap(void) {
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(p, "kept across mremap");
  // Block growth in place with a neighbour, so the mapping must move.
  void *wall = mmap(p + 4096, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  char *q = mremap(p, 4096, 1 << 20, 0);
  printf("mremap without MAYMOVE: %s\n", q == MAP_FAILED ? strerrorname_np(errno) : "grew");
  q = mremap(p, 4096, 1 << 20, MREMAP_MAYMOVE);
  q[(1 << 20) - 1] = 1;
  printf("mremap moved: %d, content: %s\n", q != p, q);
  q = mremap(q, 1 << 20, 4096, 0);
  printf("mremap shrink in place: %s\n", q);
  errno = 0;
  void *bad = mremap((char *)wall + 8192 * 16, 4096, 8192, MREMAP_MAYMOVE);
  printf("mremap of unmapped memory: %s\n", bad == MAP_FAILED ? strerrorname_np(errno) : "?");
}

static void check_fallocate(void) {
  int fd = open("/tmp/falloc", O_RDWR | O_CREAT | O_TRUNC, 0600);
  struct stat st;
  int r = fallocate(fd, 0, 0, 10000);
  fstat(fd, &st);
  printf("fallocate grow: %d size=%ld\n", r, (long)st.st_size);
  write(fd, "xxxxxxxxxx", 10);
  r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2, 5);
  char buf[10];
  pread(fd, buf, 10, 0);
  fstat(fd, &st);
  printf("punch hole: %d bytes=%c%c%d%d%d%d%d%c size=%ld\n", r, buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7], (long)st.st_size);
  r = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20);
  fstat(fd, &st);
  printf("keep size: %d size=%ld\n", r, (long)st.st_size);
  r = fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10);
  printf("punch without keep size: %d %s\n", r, strerrorname_np(errno));
  r = fallocate(fd, 0, 0, 0);
  printf("zero length: %d %s\n", r, strerrorname_np(errno));
  int pfd[2];
  pipe(pfd);
  r = fallocate(pfd[1], 0, 0, 10);
  printf("on a pipe: %d %s\n", r, strerrorname_np(errno));
  close(fd);
  unlink("/tmp/falloc");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  check_shared_file("/tmp/shared-map");
  check_shared_file("/dev/shm/shared-map");
  check_private_file();
  check_memfd();
  check_process_shared_sync();
  check_mremap();
  check_fallocate();
  return 0;
}
