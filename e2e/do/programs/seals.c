// memfd seals (fcntl F_ADD_SEALS/F_GET_SEALS) and how writes, truncation and mappings obey them;
// each call's result and errno, compared with a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define R(x) do { int r_ = (x); printf("%-48s %d %s\n", #x, r_, r_ < 0 ? strerrorname_np(errno) : ""); } while (0)
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int plain = memfd_create("plain", 0);
  R(fcntl(plain, F_GET_SEALS));
  R(fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));
  int fd = memfd_create("sealed", MFD_ALLOW_SEALING);
  R(fcntl(fd, F_GET_SEALS));
  R((int)write(fd, "hello", 5));
  R(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
  R(ftruncate(fd, 2));
  R(ftruncate(fd, 100));
  R((int)pwrite(fd, "HE", 2, 0));
  R((int)pwrite(fd, "toolong", 7, 0));
  R(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL));
  R(fcntl(fd, F_GET_SEALS));
  R((int)pwrite(fd, "x", 1, 0));
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("shared writable map after F_SEAL_WRITE: %s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
  p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("private map: %s %.5s\n", p == MAP_FAILED ? strerrorname_np(errno) : "mapped", (char *)p);
  R(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
  R(fcntl(fd, F_ADD_SEALS, 0x100));
  int fd2 = memfd_create("busy", MFD_ALLOW_SEALING);
  ftruncate(fd2, 4096);
  void *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
  (void)q;
  R(fcntl(fd2, F_ADD_SEALS, F_SEAL_WRITE));
  int pfd[2]; pipe(pfd);
  R(fcntl(pfd[0], F_GET_SEALS));
  return 0;
}
