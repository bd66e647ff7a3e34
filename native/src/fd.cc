// File descriptor primitives: close, dup, and the CLOEXEC/NONBLOCK flags.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "modules.h"

namespace runsc {

namespace {

// close(fd). On Linux the descriptor is released even when close reports EINTR, so EINTR is
// success (retrying could close a descriptor another thread has just been given).
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  if (close(fd) != 0 && errno != EINTR) ThrowSystemError(env, errno, "close");
  return env.Undefined();
}

// dup(fd) -> a new descriptor with FD_CLOEXEC set.
Napi::Value Dup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    ThrowSystemError(env, errno, "dup");
    return env.Undefined();
  }
  return Napi::Number::New(env, copy);
}

Napi::Value GetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) {
    ThrowSystemError(env, errno, "fcntl");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, (flags & FD_CLOEXEC) != 0);
}

Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  bool on;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetBoolArg(info, 1, "on", &on)) return env.Undefined();
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) {
    ThrowSystemError(env, errno, "fcntl");
    return env.Undefined();
  }
  int wanted = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (wanted != flags && fcntl(fd, F_SETFD, wanted) < 0) ThrowSystemError(env, errno, "fcntl");
  return env.Undefined();
}

Napi::Value GetNonblock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) {
    ThrowSystemError(env, errno, "fcntl");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, (flags & O_NONBLOCK) != 0);
}

// O_NONBLOCK belongs to the open file description: every descriptor (in any process) that
// shares it sees the change.
Napi::Value SetNonblock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  bool on;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetBoolArg(info, 1, "on", &on)) return env.Undefined();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) {
    ThrowSystemError(env, errno, "fcntl");
    return env.Undefined();
  }
  int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && fcntl(fd, F_SETFL, wanted) < 0) ThrowSystemError(env, errno, "fcntl");
  return env.Undefined();
}

// memfdCreate(name) -> a new anonymous memory file (close-on-exec), for tmpfs files that an
// application maps shared: the host FD can then be mapped into its address space.
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowTypeError(env, "The \"name\" argument must be of type string");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() > 249) name.resize(249);  // MFD_NAME_MAX_LEN
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) {
    ThrowSystemError(env, errno, "memfd_create");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// cpuClockNs(pid) -> the CPU time (ns, scheduler resolution) of host process `pid` so far, from
// its process CPU clock (clock_getcpuclockid's clock: ((~pid) << 3) | CPUCLOCK_SCHED). Each
// application thread is a host process of its own, so this is exactly that thread's time.
Napi::Value CpuClockNs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t pid;
  if (!info[0].IsNumber() || (pid = info[0].As<Napi::Number>().Int32Value()) <= 0) {
    ThrowTypeError(env, "The \"pid\" argument must be a positive integer");
    return env.Undefined();
  }
  clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(pid) << 3) | 2);
  struct timespec ts;
  if (clock_gettime(clock, &ts) != 0) {
    ThrowSystemError(env, errno, "clock_gettime");
    return env.Undefined();
  }
  uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
  return Napi::BigInt::New(env, ns);
}

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("cpuClockNs", Napi::Function::New(env, CpuClockNs, "cpuClockNs"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
  exports.Set("getCloexec", Napi::Function::New(env, GetCloexec, "getCloexec"));
  exports.Set("setCloexec", Napi::Function::New(env, SetCloexec, "setCloexec"));
  exports.Set("getNonblock", Napi::Function::New(env, GetNonblock, "getNonblock"));
  exports.Set("setNonblock", Napi::Function::New(env, SetNonblock, "setNonblock"));
}

}  // namespace runsc
