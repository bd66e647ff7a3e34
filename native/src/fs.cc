// File-system calls relative to directory descriptors, for the gofer: openat/openat2, statx,
// the creating calls, link/unlink/rename, readlinkat, getdents64/lseek, fsync and fstatfs.
//
// Thin and stateless: numbers, names as bytes (string or Uint8Array), caller-owned buffers that
// the kernel fills in place. Struct layouts (statx, statfs, linux_dirent64) are decoded in
// TypeScript with @runsc-ts/abi's generated layouts. Every descriptor returned is the caller's;
// opens always add O_CLOEXEC. EINTR is retried; other failures throw a SystemError.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"

namespace runsc {

namespace {

// openat(dirfd, path, flags, mode) -> fd. O_CLOEXEC is always added.
Napi::Value OpenAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t flags, mode;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "flags", &flags) || !GetU32Arg(info, 3, "mode", &mode)) {
    return env.Undefined();
  }
  int fd = RetryEintr([&] { return openat(dirfd, path.c_str(), static_cast<int>(flags) | O_CLOEXEC, mode); });
  if (fd < 0) {
    ThrowSystemError(env, errno, "openat");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// openat2(dirfd, path, {flags, mode, resolve}) -> fd. O_CLOEXEC is always added.
Napi::Value OpenAt2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t flags, mode, resolve;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "flags", &flags) || !GetU32Arg(info, 3, "mode", &mode) ||
      !GetU32Arg(info, 4, "resolve", &resolve)) {
    return env.Undefined();
  }
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = mode;
  how.resolve = resolve;
  long fd = RetryEintr([&] { return syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how); });
  if (fd < 0) {
    ThrowSystemError(env, errno, "openat2");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

// statx(dirfd, path, flags, mask, out): fills `out` (at least 256 bytes) with a struct statx.
Napi::Value Statx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t flags, mask;
  uint8_t* out;
  size_t outLength;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "flags", &flags) || !GetU32Arg(info, 3, "mask", &mask) ||
      !GetBufferArg(info, 4, "out", sizeof(struct statx), &out, &outLength)) {
    return env.Undefined();
  }
  struct statx st;
  if (RetryEintr([&] { return statx(dirfd, path.c_str(), static_cast<int>(flags), mask, &st); }) != 0) {
    ThrowSystemError(env, errno, "statx");
    return env.Undefined();
  }
  memcpy(out, &st, sizeof st);
  return env.Undefined();
}

// mkdirat(dirfd, path, mode).
Napi::Value MkdirAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t mode;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "mode", &mode)) {
    return env.Undefined();
  }
  if (RetryEintr([&] { return mkdirat(dirfd, path.c_str(), mode); }) != 0) ThrowSystemError(env, errno, "mkdirat");
  return env.Undefined();
}

// mknodat(dirfd, path, mode, major, minor). `mode` includes the S_IFMT type.
Napi::Value MknodAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t mode, major, minor;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "mode", &mode) || !GetU32Arg(info, 3, "major", &major) ||
      !GetU32Arg(info, 4, "minor", &minor)) {
    return env.Undefined();
  }
  if (RetryEintr([&] { return mknodat(dirfd, path.c_str(), mode, makedev(major, minor)); }) != 0) {
    ThrowSystemError(env, errno, "mknodat");
  }
  return env.Undefined();
}

// symlinkat(target, dirfd, path): `target` is stored verbatim.
Napi::Value SymlinkAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target, path;
  int dirfd;
  if (!GetPathArg(info, 0, "target", &target) || !GetDirFdArg(info, 1, "dirfd", &dirfd) ||
      !GetPathArg(info, 2, "path", &path)) {
    return env.Undefined();
  }
  if (RetryEintr([&] { return symlinkat(target.c_str(), dirfd, path.c_str()); }) != 0) {
    ThrowSystemError(env, errno, "symlinkat");
  }
  return env.Undefined();
}

// linkat(olddirfd, oldpath, newdirfd, newpath, flags) (AT_EMPTY_PATH, AT_SYMLINK_FOLLOW).
Napi::Value LinkAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int olddirfd, newdirfd;
  std::string oldpath, newpath;
  uint32_t flags;
  if (!GetDirFdArg(info, 0, "olddirfd", &olddirfd) || !GetPathArg(info, 1, "oldpath", &oldpath) ||
      !GetDirFdArg(info, 2, "newdirfd", &newdirfd) || !GetPathArg(info, 3, "newpath", &newpath) ||
      !GetU32Arg(info, 4, "flags", &flags)) {
    return env.Undefined();
  }
  if (RetryEintr([&] {
        return linkat(olddirfd, oldpath.c_str(), newdirfd, newpath.c_str(), static_cast<int>(flags));
      }) != 0) {
    ThrowSystemError(env, errno, "linkat");
  }
  return env.Undefined();
}

// unlinkat(dirfd, path, flags) (0 or AT_REMOVEDIR).
Napi::Value UnlinkAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  uint32_t flags;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path) ||
      !GetU32Arg(info, 2, "flags", &flags)) {
    return env.Undefined();
  }
  if (RetryEintr([&] { return unlinkat(dirfd, path.c_str(), static_cast<int>(flags)); }) != 0) {
    ThrowSystemError(env, errno, "unlinkat");
  }
  return env.Undefined();
}

// renameat2(olddirfd, oldpath, newdirfd, newpath, flags) (RENAME_NOREPLACE, RENAME_EXCHANGE).
Napi::Value RenameAt2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int olddirfd, newdirfd;
  std::string oldpath, newpath;
  uint32_t flags;
  if (!GetDirFdArg(info, 0, "olddirfd", &olddirfd) || !GetPathArg(info, 1, "oldpath", &oldpath) ||
      !GetDirFdArg(info, 2, "newdirfd", &newdirfd) || !GetPathArg(info, 3, "newpath", &newpath) ||
      !GetU32Arg(info, 4, "flags", &flags)) {
    return env.Undefined();
  }
  if (RetryEintr([&] {
        return syscall(SYS_renameat2, olddirfd, oldpath.c_str(), newdirfd, newpath.c_str(), flags);
      }) != 0) {
    ThrowSystemError(env, errno, "renameat2");
  }
  return env.Undefined();
}

// readlinkat(dirfd, path) -> Buffer with the link's target bytes (an empty path reads the
// symlink an O_PATH|O_NOFOLLOW descriptor refers to).
Napi::Value ReadlinkAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string path;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "path", &path)) return env.Undefined();
  char buf[PATH_MAX];
  ssize_t n = RetryEintr([&] { return readlinkat(dirfd, path.c_str(), buf, sizeof buf); });
  if (n < 0) {
    ThrowSystemError(env, errno, "readlinkat");
    return env.Undefined();
  }
  return Napi::Buffer<char>::Copy(env, buf, static_cast<size_t>(n));
}

// getdents64(fd, buf) -> bytes of linux_dirent64 records written into `buf` (0 at the end).
Napi::Value Getdents64(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint8_t* buf;
  size_t length;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetBufferArg(info, 1, "buf", 1, &buf, &length)) return env.Undefined();
  if (length > INT_MAX) length = INT_MAX;
  long n = RetryEintr([&] { return syscall(SYS_getdents64, fd, buf, length); });
  if (n < 0) {
    ThrowSystemError(env, errno, "getdents64");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// lseek(fd, offset, whence) -> the new offset as a bigint (directory cookies use all 64 bits).
Napi::Value Lseek(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, whence;
  int64_t offset;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetI64Arg(info, 1, "offset", &offset) ||
      !GetInt(env, info[2], "whence", -1, 0, 4, &whence)) {
    return env.Undefined();
  }
  off_t r = lseek(fd, static_cast<off_t>(offset), whence);
  if (r < 0) {
    ThrowSystemError(env, errno, "lseek");
    return env.Undefined();
  }
  return Napi::BigInt::New(env, static_cast<int64_t>(r));
}

// fsync(fd).
Napi::Value Fsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  if (RetryEintr([&] { return fsync(fd); }) != 0) ThrowSystemError(env, errno, "fsync");
  return env.Undefined();
}

// fdatasync(fd).
Napi::Value Fdatasync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  if (RetryEintr([&] { return fdatasync(fd); }) != 0) ThrowSystemError(env, errno, "fdatasync");
  return env.Undefined();
}

// fstatfs(fd, out): fills `out` (at least 120 bytes) with a struct statfs. Works on O_PATH fds.
Napi::Value Fstatfs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint8_t* out;
  size_t outLength;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetBufferArg(info, 1, "out", sizeof(struct statfs), &out, &outLength)) {
    return env.Undefined();
  }
  struct statfs st;
  if (RetryEintr([&] { return fstatfs(fd, &st); }) != 0) {
    ThrowSystemError(env, errno, "fstatfs");
    return env.Undefined();
  }
  memcpy(out, &st, sizeof st);
  return env.Undefined();
}

}  // namespace

void InitFs(Napi::Env env, Napi::Object exports) {
  exports.Set("openat", Napi::Function::New(env, OpenAt, "openat"));
  exports.Set("openat2", Napi::Function::New(env, OpenAt2, "openat2"));
  exports.Set("statx", Napi::Function::New(env, Statx, "statx"));
  exports.Set("mkdirat", Napi::Function::New(env, MkdirAt, "mkdirat"));
  exports.Set("mknodat", Napi::Function::New(env, MknodAt, "mknodat"));
  exports.Set("symlinkat", Napi::Function::New(env, SymlinkAt, "symlinkat"));
  exports.Set("linkat", Napi::Function::New(env, LinkAt, "linkat"));
  exports.Set("unlinkat", Napi::Function::New(env, UnlinkAt, "unlinkat"));
  exports.Set("renameat2", Napi::Function::New(env, RenameAt2, "renameat2"));
  exports.Set("readlinkat", Napi::Function::New(env, ReadlinkAt, "readlinkat"));
  exports.Set("getdents64", Napi::Function::New(env, Getdents64, "getdents64"));
  exports.Set("lseek", Napi::Function::New(env, Lseek, "lseek"));
  exports.Set("fsync", Napi::Function::New(env, Fsync, "fsync"));
  exports.Set("fdatasync", Napi::Function::New(env, Fdatasync, "fdatasync"));
  exports.Set("fstatfs", Napi::Function::New(env, Fstatfs, "fstatfs"));
}

}  // namespace runsc
