#include "pivot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace runsc {

namespace {

bool WriteAll(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Where a file root, and the host's "/", are staged before pivot_root: a directory every host
// has, covered only inside this private mount namespace.
constexpr const char kStaging[] = "/proc";
constexpr const char kStagedFile[] = "/proc/file";
static_assert(sizeof kStagedFile == sizeof kStaging + sizeof kPivotFileName, "kStagedFile is kStaging/kPivotFileName");

// A directory root: bind it onto its staging point and remount it read-only if asked. Returns
// the failed step, or kPivotOk with *staging set.
PivotStep StageDirectory(const char* root, bool isHostRoot, bool readOnly, const char** staging) {
  *staging = isHostRoot ? kStaging : root;
  if (mount(root, *staging, nullptr, MS_BIND | MS_REC, nullptr) != 0) return kPivotBind;
  if (readOnly && mount(nullptr, *staging, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) return kPivotRemountReadOnly;
  return kPivotOk;
}

// A file root: a detached bind of the file (taken before anything is covered), a tmpfs with one
// empty file on kStaging, the bind moved onto that file, then both made read-only as asked (the
// tmpfs always). Returns the failed step, or kPivotOk.
PivotStep StageFile(const char* root, bool readOnly) {
  int tree = open_tree(AT_FDCWD, root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return kPivotBind;
  PivotStep failed = kPivotOk;
  if (mount("tmpfs", kStaging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=4,mode=0555") != 0) {
    failed = kPivotWrapper;
  } else {
    int f = open(kStagedFile, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
    if (f < 0) {
      failed = kPivotWrapper;
    } else {
      close(f);
      if (move_mount(tree, "", AT_FDCWD, kStagedFile, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        failed = kPivotBind;
      } else if (readOnly && mount(nullptr, kStagedFile, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
        failed = kPivotRemountReadOnly;
      } else if (mount(nullptr, kStaging, nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        failed = kPivotWrapper;
      }
    }
  }
  int e = errno;
  close(tree);
  errno = e;
  return failed;
}

}  // namespace

void PivotHelperChild(int sock, const char* root, bool readOnly) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  // Keep only the socket: the helper must not hold its parent's descriptors open.
  if (sock > 0) syscall(SYS_close_range, 0, sock - 1, 0);
  syscall(SYS_close_range, sock + 1, ~0U, 0);
  char go;
  ssize_t n;
  do {
    n = read(sock, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(1);  // the parent is gone or changed its mind: do nothing
  PivotAnswer answer = {kPivotOk, 0, 0};
  struct stat st, hostRoot;
  const char* staging = kStaging;
  PivotStep failed = kPivotOk;
  if (stat(root, &st) != 0 || stat("/", &hostRoot) != 0) {
    failed = kPivotStat;
  } else if (S_ISDIR(st.st_mode)) {
    failed = StageDirectory(root, st.st_dev == hostRoot.st_dev && st.st_ino == hostRoot.st_ino, readOnly, &staging);
  } else {
    answer.fileRoot = 1;
    failed = StageFile(root, readOnly);
  }
  if (failed == kPivotOk) {
    if (chdir(staging) != 0) {
      failed = kPivotChdir;
    } else if (syscall(SYS_pivot_root, ".", ".") != 0) {
      failed = kPivotRoot;
    } else if (umount2(".", MNT_DETACH) != 0) {
      failed = kPivotDetachOldRoot;
    } else if (chdir("/") != 0) {
      failed = kPivotChdirRoot;
    }
  }
  if (failed != kPivotOk) {
    answer.step = failed;
    answer.error = errno;
  }
  _exit(WriteAll(sock, &answer, sizeof answer) ? 0 : 2);
}

}  // namespace runsc
