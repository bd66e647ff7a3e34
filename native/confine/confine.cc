// runsc-confine: the first stage of a gofer's confinement as a small program, so that a sandbox
// starting a gofer runs Node once instead of twice (packages/gofer/src/confine.ts explains the
// two stages; `runsc-ts gofer` started on its own does this stage itself in Node and re-execs).
//
//   runsc-confine --root PATH [--ro] --keep-caps MASK -- PROGRAM [ARG...]
//
// In order: a mount namespace of its own (unshare CLONE_NEWNS); every mount private; cwd "/";
// the pivot helper forked (pivot.h), waiting on a socket for the gofer's word; every capability
// outside MASK dropped from the bounding set, the ambient set cleared, effective = permitted =
// MASK (within what it holds), inheritable empty; no_new_privs; then execv PROGRAM with ARGs and
// "--pivot-helper PID:FD" appended, FD being its end of the helper's socket. The exec'd gofer
// checks that all of this happened before it asks the helper to move the root.
//
// Exit status: 2 for a usage error, 1 when a step fails (one line on stderr naming the step).
// Single-threaded throughout, so the fork of the helper is an ordinary one.
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../src/pivot.h"

namespace {

[[noreturn]] void Usage(const char* why) {
  fprintf(stderr, "runsc-confine: %s\nusage: runsc-confine --root PATH [--ro] --keep-caps MASK -- PROGRAM [ARG...]\n", why);
  exit(2);
}

[[noreturn]] void Fail(const char* step) {
  int e = errno;
  const char* name = strerrorname_np(e);
  fprintf(stderr, "runsc-ts: gofer: cannot confine the gofer (%s): %s: %s; run as root\n", step, name != nullptr ? name : "E?", strerror(e));
  exit(1);
}

// A capability mask: 0x-prefixed hex or decimal, nothing else.
bool ParseMask(const char* s, uint64_t* out) {
  if (*s == '\0' || *s == '-' || *s == '+') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool CapGet(__user_cap_data_struct data[2]) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capget, &header, data) == 0;
}

bool CapSet(uint64_t effective, uint64_t permitted) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = 0;
  }
  return syscall(SYS_capset, &header, data) == 0;
}

void DropCapabilities(uint64_t kept) {
  // Beyond CAP_LAST_CAP of the headers a newer kernel may know more: drop until it says EINVAL.
  for (int cap = 0; cap < 64; cap++) {
    if ((kept >> cap) & 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL && cap > CAP_LAST_CAP) break;
      Fail("drop capabilities");
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) Fail("drop capabilities");
  __user_cap_data_struct now[2];
  if (!CapGet(now)) Fail("drop capabilities");
  uint64_t permitted = (static_cast<uint64_t>(now[1].permitted) << 32) | now[0].permitted;
  uint64_t keep = kept & permitted;
  if (!CapSet(keep, keep)) Fail("drop capabilities");
}

}  // namespace

int main(int argc, char** argv) {
  const char* root = nullptr;
  bool readOnly = false;
  bool haveMask = false;
  uint64_t kept = 0;
  int i = 1;
  auto value = [&](int at) -> const char* {
    if (at >= argc) Usage("an option lacks its value");
    return argv[at];
  };
  for (; i < argc; i++) {
    const char* a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "--ro") == 0) {
      readOnly = true;
    } else if (strcmp(a, "--root") == 0) {
      root = value(++i);
    } else if (strcmp(a, "--keep-caps") == 0) {
      if (!ParseMask(value(++i), &kept)) Usage("--keep-caps takes a capability mask (e.g. 0x1f)");
      haveMask = true;
    } else {
      Usage("unknown option (the program comes after --)");
    }
  }
  if (root == nullptr || !haveMask) Usage("--root and --keep-caps are required");
  if (root[0] != '/') Usage("--root takes an absolute path");
  if (i >= argc) Usage("no program to run");
  if (argv[i][0] != '/') Usage("the program must be an absolute path");

  if (unshare(CLONE_NEWNS) != 0) Fail("unshare(CLONE_NEWNS)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) Fail("make mounts private");
  if (chdir("/") != 0) Fail("chdir to /");
  int sock[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) != 0) Fail("start the pivot helper");
  pid_t helper = fork();
  if (helper < 0) Fail("start the pivot helper");
  if (helper == 0) runsc::PivotHelperChild(sock[1], root, readOnly);
  close(sock[1]);
  DropCapabilities(kept);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail("no_new_privs");

  std::vector<char*> args(argv + i, argv + argc);
  std::string flag = "--pivot-helper";
  std::string helperArg = std::to_string(helper) + ":" + std::to_string(sock[0]);
  args.push_back(flag.data());
  args.push_back(helperArg.data());
  args.push_back(nullptr);
  execv(argv[i], args.data());
  Fail("execve");
}
