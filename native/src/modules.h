// Each concern of the addon registers its exports here; addon.cc calls them in order.
// A concern lives in its own source file (fd.cc, socket.cc, fd_watcher.cc; later ptrace and
// stub control) and exposes only its Init function.
#ifndef RUNSC_NATIVE_MODULES_H_
#define RUNSC_NATIVE_MODULES_H_

#include <napi.h>

namespace runsc {

// The addon's `constants` object (created on first use): each concern adds its own.
inline Napi::Object Constants(Napi::Env env, Napi::Object exports) {
  Napi::Value existing = exports.Get("constants");
  if (existing.IsObject()) return existing.As<Napi::Object>();
  Napi::Object constants = Napi::Object::New(env);
  exports.Set("constants", constants);
  return constants;
}

// close, dup, getCloexec, setCloexec, getNonblock, setNonblock.
void InitFd(Napi::Env env, Napi::Object exports);

// socketpair, sendmsg, recvmsg and the socket constants.
void InitSocket(Napi::Env env, Napi::Object exports);

// The FdWatcher class (uv_poll_t on the calling thread's loop) and the POLL_* constants.
void InitFdWatcher(Napi::Env env, Napi::Object exports);

// openat/openat2, statx, mkdirat, mknodat, symlinkat, linkat, unlinkat, renameat2, readlinkat,
// getdents64, lseek, fsync, fdatasync, fstatfs (fs.cc).
void InitFs(Napi::Env env, Napi::Object exports);

// fchmodat(2), fchmod, fchownat, utimensat, ftruncate and the f*xattr calls (fs_attr.cc).
void InitFsAttr(Napi::Env env, Napi::Object exports);

// unshare, mount, umount2, pivotRoot, chroot, chdir, fchdir, capset, capget, prctl
// (confine.cc).
void InitConfine(Napi::Env env, Napi::Object exports);

// bindUnixAt, connectUnixAt: AF_UNIX sockets by name relative to a directory FD (fs_socket.cc).
void InitFsSocket(Napi::Env env, Napi::Object exports);

// The ptrace platform: stub processes, registers, injected syscalls, process_vm_readv/writev,
// the tracer's wait (ptrace.cc), and its helper threads and idle callback (tracer_wait.cc).
void InitPtrace(Napi::Env env, Napi::Object exports);
void InitTracerWait(Napi::Env env, Napi::Object exports);

// ttyIoctl: vetted terminal ioctls on host FDs (tty.cc).
void InitTty(Napi::Env env, Napi::Object exports);

// tunOpen (TUNSETIFF), tunGetFlags, tunSetOffload, readPackets, writePackets and the IFF_*/TUN_F_*
// constants (tun.cc).
void InitTun(Napi::Env env, Napi::Object exports);

// forkPivotHelper, execve, waitpid: starting a process confined in every thread (launch.cc).
void InitLaunch(Napi::Env env, Napi::Object exports);

// seccompSetFilter, seccompProbe (seccomp.cc).
void InitSeccomp(Napi::Env env, Napi::Object exports);

}  // namespace runsc

#endif  // RUNSC_NATIVE_MODULES_H_
