// Process confinement primitives, for the gofer (and later the sentry): namespaces, mounts,
// pivot_root/chroot, capabilities and prctl. Policy (what to unshare, which capabilities to
// keep, the order of the steps) lives in TypeScript (packages/gofer/src/confine.ts).
//
// Linux applies every one of these to the *calling thread* only (its fs_struct, nsproxy and
// credentials), not to the other threads of the process. Callers must say what that means for
// them (see the gofer's README).
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"

namespace runsc {

namespace {

// unshare(flags) (CLONE_NEWNS, ...).
Napi::Value Unshare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t flags;
  if (!GetU32Arg(info, 0, "flags", &flags)) return env.Undefined();
  if (unshare(static_cast<int>(flags)) != 0) ThrowSystemError(env, errno, "unshare");
  return env.Undefined();
}

// mount(source, target, fstype, flags, data); source, fstype and data may be null.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source, target, fstype, data;
  bool hasSource, hasFstype, hasData;
  uint32_t flags;
  if (!GetOptionalPathArg(info, 0, "source", &source, &hasSource) || !GetPathArg(info, 1, "target", &target) ||
      !GetOptionalPathArg(info, 2, "fstype", &fstype, &hasFstype) || !GetU32Arg(info, 3, "flags", &flags) ||
      !GetOptionalPathArg(info, 4, "data", &data, &hasData)) {
    return env.Undefined();
  }
  if (mount(hasSource ? source.c_str() : nullptr, target.c_str(), hasFstype ? fstype.c_str() : nullptr, flags,
            hasData ? data.c_str() : nullptr) != 0) {
    ThrowSystemError(env, errno, "mount");
  }
  return env.Undefined();
}

// umount2(target, flags) (MNT_DETACH, ...).
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target;
  uint32_t flags;
  if (!GetPathArg(info, 0, "target", &target) || !GetU32Arg(info, 1, "flags", &flags)) return env.Undefined();
  if (umount2(target.c_str(), static_cast<int>(flags)) != 0) ThrowSystemError(env, errno, "umount2");
  return env.Undefined();
}

// pivot_root(newRoot, putOld).
Napi::Value PivotRoot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string newRoot, putOld;
  if (!GetPathArg(info, 0, "newRoot", &newRoot) || !GetPathArg(info, 1, "putOld", &putOld)) return env.Undefined();
  if (syscall(SYS_pivot_root, newRoot.c_str(), putOld.c_str()) != 0) ThrowSystemError(env, errno, "pivot_root");
  return env.Undefined();
}

// chroot(path).
Napi::Value Chroot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!GetPathArg(info, 0, "path", &path)) return env.Undefined();
  if (chroot(path.c_str()) != 0) ThrowSystemError(env, errno, "chroot");
  return env.Undefined();
}

// chdir(path) for the calling thread (Node's process.chdir is refused in some contexts and
// says nothing about threads; this is the raw call).
Napi::Value Chdir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!GetPathArg(info, 0, "path", &path)) return env.Undefined();
  if (chdir(path.c_str()) != 0) ThrowSystemError(env, errno, "chdir");
  return env.Undefined();
}

// fchdir(fd).
Napi::Value Fchdir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  if (fchdir(fd) != 0) ThrowSystemError(env, errno, "fchdir");
  return env.Undefined();
}

// capset(effective, permitted, inheritable): the calling thread's three capability sets, each
// a bigint mask of (1n << CAP_*) bits (version 3, 64-bit sets).
Napi::Value Capset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t effective, permitted, inheritable;
  if (!GetU64BigIntArg(info, 0, "effective", &effective) || !GetU64BigIntArg(info, 1, "permitted", &permitted) ||
      !GetU64BigIntArg(info, 2, "inheritable", &inheritable)) {
    return env.Undefined();
  }
  struct __user_cap_header_struct header = {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  struct __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) != 0) ThrowSystemError(env, errno, "capset");
  return env.Undefined();
}

// capget() -> {effective, permitted, inheritable} of the calling thread, as bigint masks.
Napi::Value Capget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct __user_cap_header_struct header = {};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    ThrowSystemError(env, errno, "capget");
    return env.Undefined();
  }
  auto join = [&](uint32_t lo, uint32_t hi) {
    return Napi::BigInt::New(env, static_cast<uint64_t>(lo) | (static_cast<uint64_t>(hi) << 32));
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("effective", join(data[0].effective, data[1].effective));
  out.Set("permitted", join(data[0].permitted, data[1].permitted));
  out.Set("inheritable", join(data[0].inheritable, data[1].inheritable));
  return out;
}

// prctl(option, arg2, arg3, arg4, arg5) -> the call's (non-negative) result. The arguments are
// numbers (safe integers) or bigints; missing ones are 0.
Napi::Value Prctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int option;
  if (!GetInt(env, info[0], "option", -1, 0, INT_MAX, &option)) return env.Undefined();
  int64_t args[4] = {0, 0, 0, 0};
  static const char* const kNames[4] = {"arg2", "arg3", "arg4", "arg5"};
  for (size_t i = 0; i < 4; i++) {
    if (info.Length() > i + 1 && !info[i + 1].IsUndefined() && !GetI64Arg(info, i + 1, kNames[i], &args[i])) {
      return env.Undefined();
    }
  }
  int r = prctl(option, static_cast<unsigned long>(args[0]), static_cast<unsigned long>(args[1]),
                static_cast<unsigned long>(args[2]), static_cast<unsigned long>(args[3]));
  if (r < 0) {
    ThrowSystemError(env, errno, "prctl");
    return env.Undefined();
  }
  return Napi::Number::New(env, r);
}

}  // namespace

void InitConfine(Napi::Env env, Napi::Object exports) {
  exports.Set("unshare", Napi::Function::New(env, Unshare, "unshare"));
  exports.Set("mount", Napi::Function::New(env, Mount, "mount"));
  exports.Set("umount2", Napi::Function::New(env, Umount2, "umount2"));
  exports.Set("pivotRoot", Napi::Function::New(env, PivotRoot, "pivotRoot"));
  exports.Set("chroot", Napi::Function::New(env, Chroot, "chroot"));
  exports.Set("chdir", Napi::Function::New(env, Chdir, "chdir"));
  exports.Set("fchdir", Napi::Function::New(env, Fchdir, "fchdir"));
  exports.Set("capset", Napi::Function::New(env, Capset, "capset"));
  exports.Set("capget", Napi::Function::New(env, Capget, "capget"));
  exports.Set("prctl", Napi::Function::New(env, Prctl, "prctl"));
}

}  // namespace runsc
