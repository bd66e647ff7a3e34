// Changing credentials: the set*id family with and without privilege, saved ids, keepcaps,
// supplementary groups, capget/capset and the capability transition at execve. Compared with a
// native run (the capabilities shown are masked: the host may lack some).
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
static void ids(const char *what) {
  uid_t r, e, s; gid_t gr, ge, gs;
  getresuid(&r, &e, &s); getresgid(&gr, &ge, &gs);
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  syscall(SYS_capget, &h, d);
  gid_t groups[8]; int n = getgroups(8, groups);
  // The host's own set may lack some capabilities: show the ones this test changes.
  const unsigned mask = (1u << CAP_SETUID) | (1u << CAP_CHOWN) | (1u << CAP_KILL);
  printf("%-28s uid %u/%u/%u gid %u/%u/%u groups %d eff %08x prm %08x\n", what, r, e, s, gr, ge, gs, n, d[0].effective & mask, d[0].permitted & mask);
}
#define R(x) do { errno = 0; int r_ = (x); printf("  %-40s %d %s\n", #x, r_, r_ < 0 ? strerrorname_np(errno) : ""); } while (0)
static void *thread_ids(void *a) { (void)a; uid_t r, e, s; getresuid(&r, &e, &s); printf("  thread sees euid %u\n", e); return NULL; }
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  ids("start");
  pid_t c = fork();
  if (c == 0) {
    gid_t g[] = {100, 10};
    R(setgroups(2, g));
    R(setresgid(1000, 1000, 1000));
    R(setresuid(1000, 0, 0));
    ids("after setresuid(1000,0,0)");
    R(seteuid(1000));
    ids("euid 1000");
    R(seteuid(0));
    ids("euid 0 again");
    R(prctl(PR_SET_KEEPCAPS, 1));
    R(setuid(1000));
    ids("setuid(1000) keepcaps");
    R(setuid(0));
    R(setgroups(0, NULL));
    R(setfsuid(5));
    pthread_t th; pthread_create(&th, NULL, thread_ids, NULL); pthread_join(th, NULL);
    execl("/usr/bin/id", "id", NULL);
    _exit(1);
  }
  waitpid(c, NULL, 0);
  c = fork();
  if (c == 0) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{0}};
    d[0].permitted = d[0].effective = 1 << CAP_SETUID;
    R((int)syscall(SYS_capset, &h, d));
    ids("capset CAP_SETUID only");
    d[0].permitted |= 1 << CAP_CHOWN;
    R((int)syscall(SYS_capset, &h, d));
    h.version = 42;
    R((int)syscall(SYS_capget, &h, NULL));
    printf("  version written back: %x\n", h.version);
    R(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN));
    R(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN));
    execl("/bin/sh", "sh", "-c", "p=$(grep CapPrm /proc/self/status | cut -f2); e=$(grep CapEff /proc/self/status | cut -f2); [ \"$p\" = \"$e\" ] && [ \"$p\" != 0000000000000000 ] && echo root regains its capabilities on exec", NULL);
    _exit(1);
  }
  waitpid(c, NULL, 0);
  return 0;
}
