// File attributes, for the gofer: modes, owners, times, sizes and extended attributes.
//
// Thin and stateless like fs.cc: numbers, names as bytes, caller-owned buffers. EINTR is
// retried; other failures throw a SystemError.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"

namespace runsc {

namespace {

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452  // x86-64, Linux 6.6
#endif


// fchmodat(dirfd, path, mode, flags). With flags (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW) this is
// the fchmodat2(2) system call (Linux 6.6), which acts on an O_PATH descriptor with an empty
// path; ENOSYS on older kernels. Without flags it is plain fchmodat(2).
Napi::Value FchmodAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t mode, flags;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "mode", &mode) || !GetU32Arg(info, 3, "flags", &flags)) {
    return env.Undefined();
  }
  long r = flags == 0 ? RetryEintr([&] { return static_cast<long>(fchmodat(dirfd, path.c_str(), mode, 0)); })
                      : RetryEintr([&] { return syscall(SYS_fchmodat2, dirfd, path.c_str(), mode, flags); });
  if (r != 0) ThrowSystemError(env, errno, flags == 0 ? "fchmodat" : "fchmodat2");
  return env.Undefined();
}

// fchmod(fd, mode).
Napi::Value Fchmod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t mode;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetU32Arg(info, 1, "mode", &mode)) return env.Undefined();
  if (RetryEintr([&] { return fchmod(fd, mode); }) != 0) ThrowSystemError(env, errno, "fchmod");
  return env.Undefined();
}

// fchownat(dirfd, path, uid, gid, flags). uid/gid 0xffffffff leave that id unchanged.
Napi::Value FchownAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t uid, gid, flags;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "uid", &uid) || !GetU32Arg(info, 3, "gid", &gid) || !GetU32Arg(info, 4, "flags", &flags)) {
    return env.Undefined();
  }
  if (RetryEintr([&] { return fchownat(dirfd, path.c_str(), uid, gid, static_cast<int>(flags)); }) != 0) {
    ThrowSystemError(env, errno, "fchownat");
  }
  return env.Undefined();
}

// utimensat(dirfd, path, atimeSec, atimeNsec, mtimeSec, mtimeNsec, flags). The nsec values may
// be UTIME_NOW or UTIME_OMIT. AT_EMPTY_PATH acts on an O_PATH descriptor itself.
Napi::Value UtimensAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  int64_t asec, msec;
  uint32_t ansec, mnsec, flags;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetI64Arg(info, 2, "atimeSec", &asec) || !GetU32Arg(info, 3, "atimeNsec", &ansec) ||
      !GetI64Arg(info, 4, "mtimeSec", &msec) || !GetU32Arg(info, 5, "mtimeNsec", &mnsec) ||
      !GetU32Arg(info, 6, "flags", &flags)) {
    return env.Undefined();
  }
  struct timespec ts[2];
  ts[0].tv_sec = static_cast<time_t>(asec);
  ts[0].tv_nsec = static_cast<long>(ansec);
  ts[1].tv_sec = static_cast<time_t>(msec);
  ts[1].tv_nsec = static_cast<long>(mnsec);
  // The raw system call: glibc's utimensat rejects an empty path before the kernel sees
  // AT_EMPTY_PATH on some versions.
  if (RetryEintr([&] { return syscall(SYS_utimensat, dirfd, path.c_str(), ts, flags); }) != 0) {
    ThrowSystemError(env, errno, "utimensat");
  }
  return env.Undefined();
}

// ftruncate(fd, length).
Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  int64_t length;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetI64Arg(info, 1, "length", &length)) return env.Undefined();
  if (length < 0) {
    ThrowRangeError(env, "The \"length\" argument must not be negative");
    return env.Undefined();
  }
  if (RetryEintr([&] { return ftruncate(fd, static_cast<off_t>(length)); }) != 0) {
    ThrowSystemError(env, errno, "ftruncate");
  }
  return env.Undefined();
}

// fgetxattr(fd, name, buf) -> the value's length. An empty `buf` asks for the length only.
Napi::Value Fgetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  std::string name;
  uint8_t* buf;
  size_t length;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetPathArg(info, 1, "name", &name) ||
      !GetBufferArg(info, 2, "buf", 0, &buf, &length)) {
    return env.Undefined();
  }
  ssize_t n = RetryEintr([&] { return fgetxattr(fd, name.c_str(), length == 0 ? nullptr : buf, length); });
  if (n < 0) {
    ThrowSystemError(env, errno, "fgetxattr");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// fsetxattr(fd, name, value, flags) (0, XATTR_CREATE, XATTR_REPLACE).
Napi::Value Fsetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  std::string name;
  uint8_t* value;
  size_t length;
  uint32_t flags;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetPathArg(info, 1, "name", &name) ||
      !GetBufferArg(info, 2, "value", 0, &value, &length) || !GetU32Arg(info, 3, "flags", &flags)) {
    return env.Undefined();
  }
  if (RetryEintr([&] { return fsetxattr(fd, name.c_str(), value, length, static_cast<int>(flags)); }) != 0) {
    ThrowSystemError(env, errno, "fsetxattr");
  }
  return env.Undefined();
}

// flistxattr(fd, buf) -> bytes of NUL-terminated names. An empty `buf` asks for the length only.
Napi::Value Flistxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint8_t* buf;
  size_t length;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetBufferArg(info, 1, "buf", 0, &buf, &length)) return env.Undefined();
  ssize_t n = RetryEintr(
      [&] { return flistxattr(fd, length == 0 ? nullptr : reinterpret_cast<char*>(buf), length); });
  if (n < 0) {
    ThrowSystemError(env, errno, "flistxattr");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// fremovexattr(fd, name).
Napi::Value Fremovexattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  std::string name;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetPathArg(info, 1, "name", &name)) return env.Undefined();
  if (RetryEintr([&] { return fremovexattr(fd, name.c_str()); }) != 0) ThrowSystemError(env, errno, "fremovexattr");
  return env.Undefined();
}

}  // namespace

void InitFsAttr(Napi::Env env, Napi::Object exports) {
  exports.Set("fchmodat", Napi::Function::New(env, FchmodAt, "fchmodat"));
  exports.Set("fchmod", Napi::Function::New(env, Fchmod, "fchmod"));
  exports.Set("fchownat", Napi::Function::New(env, FchownAt, "fchownat"));
  exports.Set("utimensat", Napi::Function::New(env, UtimensAt, "utimensat"));
  exports.Set("ftruncate", Napi::Function::New(env, Ftruncate, "ftruncate"));
  exports.Set("fgetxattr", Napi::Function::New(env, Fgetxattr, "fgetxattr"));
  exports.Set("fsetxattr", Napi::Function::New(env, Fsetxattr, "fsetxattr"));
  exports.Set("flistxattr", Napi::Function::New(env, Flistxattr, "flistxattr"));
  exports.Set("fremovexattr", Napi::Function::New(env, Fremovexattr, "fremovexattr"));
}

}  // namespace runsc
