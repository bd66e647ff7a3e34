// The pivot helper: the part of a gofer's confinement that must run in another process (see
// launch.cc and packages/gofer/src/confine.ts). Plain C++ with no Node dependency, shared by the
// addon (forkPivotHelper) and the confinement launcher (native/confine).
#ifndef RUNSC_NATIVE_PIVOT_H_
#define RUNSC_NATIVE_PIVOT_H_

#include <stdint.h>

namespace runsc {

// Steps of the pivot helper, as reported in its answer (packages/gofer/src/confine.ts has the
// names).
enum PivotStep : int32_t {
  kPivotOk = 0,
  kPivotBind = 1,
  kPivotRemountReadOnly = 2,
  kPivotChdir = 3,
  kPivotRoot = 4,
  kPivotDetachOldRoot = 5,
  kPivotChdirRoot = 6,
  kPivotStat = 7,
  kPivotWrapper = 8,
};

// The helper's answer: the failed step (kPivotOk for none), its errno, and what the new root is.
struct PivotAnswer {
  int32_t step;
  int32_t error;
  // 0: the mount root is "/" itself (a directory was bound). 1: the mount root was a file; "/" is
  // a read-only tmpfs holding only kPivotFileName, with the file bound onto it.
  int32_t fileRoot;
};

// The name of the bound file in the wrapper directory of a file mount.
inline constexpr const char kPivotFileName[] = "file";

// The helper's life, in a freshly forked child: blocks every signal, closes every descriptor but
// `sock`, waits for one byte on it, then makes `root` (resolved then, following symlinks) the
// root of its mount namespace:
//  - a directory is bind-mounted onto itself (the host's "/" onto /proc instead: a mount stacked
//    on the process's own root is never crossed by path lookup), remounted read-only if asked,
//    and pivot_root'ed into;
//  - anything else is bound (open_tree + move_mount) onto an empty file in a small tmpfs mounted
//    on /proc, the file remounted read-only if asked, the tmpfs made read-only, and the tmpfs
//    pivot_root'ed into;
// then the old root is detached, and it answers with a PivotAnswer. EOF instead of the byte (its
// parent died) makes it exit without doing anything. Only async-signal-safe calls: it may be a
// fork of a multi-threaded process. Never returns.
[[noreturn]] void PivotHelperChild(int sock, const char* root, bool readOnly);

}  // namespace runsc

#endif  // RUNSC_NATIVE_PIVOT_H_
