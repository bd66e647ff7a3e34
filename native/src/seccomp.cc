// Seccomp-BPF: installing a filter program built in TypeScript (packages/platform/src/seccomp),
// and probing one in a forked child for tests.
//
//  - seccompSetFilter(program, flags): seccomp(SECCOMP_SET_MODE_FILTER, flags, program) on the
//    calling thread; with SECCOMP_FILTER_FLAG_TSYNC every thread of the process gets it (the
//    kernel also sets no_new_privs on them if the caller has it). Returns the call's result
//    (with TSYNC, a positive value is the id of a thread that could not be synchronised).
//  - seccompProbe(program, flags, calls): forks a child that sets no_new_privs, installs the
//    program and makes each call in turn ({nr, args, abi}: abi "x86_64", "x32" — nr with the
//    x32 bit — or "i386" through int 0x80), reporting each result over a pipe. Returns
//    {installErrno, results: [{ret, errno}], code, signal}: a call that killed the child
//    leaves `results` short and `signal` set. Only async-signal-safe calls after fork.
//
// The program is an array of struct sock_filter (8 bytes each, host byte order) and is checked
// for shape only (a whole number of instructions, at most BPF_MAXINSNS): the kernel verifies it.
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452  // x86-64, Linux 6.6 (as in fs_attr.cc), for headers that predate it
#endif

namespace runsc {

namespace {

constexpr long kX32SyscallBit = 0x40000000;

bool GetProgram(const Napi::CallbackInfo& info, size_t i, struct sock_fprog* prog) {
  Napi::Env env = info.Env();
  void* data;
  size_t length;
  if (!GetUint8Array(env, info[i], &data, &length)) {
    ThrowTypeError(env, "The \"program\" argument must be an instance of Uint8Array");
    return false;
  }
  if (length == 0 || length % sizeof(struct sock_filter) != 0 ||
      length / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    ThrowRangeError(env, "The \"program\" argument must hold 1 to 4096 whole 8-byte instructions, got " +
                             std::to_string(length) + " bytes");
    return false;
  }
  prog->len = static_cast<unsigned short>(length / sizeof(struct sock_filter));
  prog->filter = static_cast<struct sock_filter*>(data);
  return true;
}

Napi::Value SeccompSetFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct sock_fprog prog;
  uint32_t flags;
  if (!GetProgram(info, 0, &prog) || !GetU32Arg(info, 1, "flags", &flags)) return env.Undefined();
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (r < 0) {
    ThrowSystemError(env, errno, "seccomp");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

enum class Abi { kX86_64, kX32, kI386 };

struct ProbeCall {
  long nr;
  long args[6];
  Abi abi;
};

struct ProbeResult {
  int64_t ret;
  int32_t err;
  int32_t pad;
};

long Int80(long nr, const long* a) {
  long ret;
  asm volatile("int $0x80"
               : "=a"(ret)
               : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
               : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

[[noreturn]] void ProbeChild(const struct sock_fprog& prog, uint32_t flags, const std::vector<ProbeCall>& calls, int out) {
  ProbeResult first = {0, 0, 0};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) < 0) {
    first.ret = -1;
    first.err = errno;
  }
  if (write(out, &first, sizeof first) != sizeof first || first.ret < 0) _exit(3);
  for (const ProbeCall& c : calls) {
    ProbeResult r = {0, 0, 0};
    if (c.abi == Abi::kI386) {
      long v = Int80(c.nr, c.args);
      if (v < 0 && v > -4096) {
        r.ret = -1;
        r.err = static_cast<int32_t>(-v);
      } else {
        r.ret = v;
      }
    } else {
      long nr = c.abi == Abi::kX32 ? (c.nr | kX32SyscallBit) : c.nr;
      errno = 0;
      r.ret = syscall(nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]);
      r.err = r.ret < 0 ? errno : 0;
    }
    if (write(out, &r, sizeof r) != sizeof r) _exit(4);
  }
  _exit(0);
}

Napi::Value SeccompProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct sock_fprog prog;
  uint32_t flags;
  Napi::Array list;
  if (!GetProgram(info, 0, &prog) || !GetU32Arg(info, 1, "flags", &flags) || !GetArrayArg(info, 2, "calls", &list)) {
    return env.Undefined();
  }
  std::vector<ProbeCall> calls;
  std::vector<std::unique_ptr<char[]>> strings;
  for (uint32_t k = 0; k < list.Length(); k++) {
    Napi::Value v = list.Get(k);
    if (!v.IsObject()) {
      ThrowTypeError(env, "The \"" + ArgName("calls", k) + "\" argument must be an object");
      return env.Undefined();
    }
    Napi::Object o = v.As<Napi::Object>();
    ProbeCall c = {};
    int nr;
    if (!GetInt(env, o.Get("nr"), "calls.nr", k, 0, 0x3fffffff, &nr)) return env.Undefined();
    c.nr = nr;
    Napi::Value args = o.Get("args");
    if (!args.IsUndefined()) {
      if (!args.IsArray() || args.As<Napi::Array>().Length() > 6) {
        ThrowTypeError(env, "The \"" + ArgName("calls.args", k) + "\" argument must be an Array of at most 6 numbers");
        return env.Undefined();
      }
      Napi::Array a = args.As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length(); j++) {
        Napi::Value x = a.Get(j);
        if (x.IsBigInt()) {
          bool lossless;
          c.args[j] = static_cast<long>(x.As<Napi::BigInt>().Int64Value(&lossless));
        } else if (x.IsNumber()) {
          c.args[j] = static_cast<long>(x.As<Napi::Number>().Int64Value());
        } else if (x.IsString()) {
          // A string argument is passed as a pointer to its bytes (NUL-terminated), kept alive
          // until the child is reaped.
          std::string s = x.As<Napi::String>().Utf8Value();
          strings.emplace_back(new char[s.size() + 1]);
          std::memcpy(strings.back().get(), s.c_str(), s.size() + 1);
          c.args[j] = reinterpret_cast<long>(strings.back().get());
        } else {
          ThrowTypeError(env, "The \"" + ArgName("calls.args", k) + "\" elements must be numbers, bigints or strings");
          return env.Undefined();
        }
      }
    }
    Napi::Value abi = o.Get("abi");
    std::string abiName = abi.IsString() ? abi.As<Napi::String>().Utf8Value() : "x86_64";
    if (abiName == "x86_64") {
      c.abi = Abi::kX86_64;
    } else if (abiName == "x32") {
      c.abi = Abi::kX32;
    } else if (abiName == "i386") {
      c.abi = Abi::kI386;
    } else {
      ThrowRangeError(env, "The \"" + ArgName("calls.abi", k) + "\" argument must be \"x86_64\", \"x32\" or \"i386\"");
      return env.Undefined();
    }
    calls.push_back(c);
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ThrowSystemError(env, errno, "pipe2");
    return env.Undefined();
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    ThrowSystemError(env, e, "fork");
    return env.Undefined();
  }
  if (pid == 0) {
    close(fds[0]);
    ProbeChild(prog, flags, calls, fds[1]);
  }
  close(fds[1]);
  std::vector<ProbeResult> got;
  ProbeResult r;
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fds[0], reinterpret_cast<char*>(&r) + have, sizeof r - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<size_t>(n);
    if (have == sizeof r) {
      got.push_back(r);
      have = 0;
    }
  }
  close(fds[0]);
  int status = 0;
  RetryEintr([&] { return waitpid(pid, &status, 0); });
  Napi::Object out = Napi::Object::New(env);
  out.Set("installErrno", got.empty() ? Napi::Value(env.Null()) : Napi::Number::New(env, got[0].ret < 0 ? got[0].err : 0));
  Napi::Array results = Napi::Array::New(env);
  for (size_t k = 1; k < got.size(); k++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("ret", Napi::Number::New(env, static_cast<double>(got[k].ret)));
    e.Set("errno", Napi::Number::New(env, got[k].err));
    results.Set(static_cast<uint32_t>(k - 1), e);
  }
  out.Set("results", results);
  out.Set("code", WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
  out.Set("signal", WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
  return out;
}

}  // namespace

void InitSeccomp(Napi::Env env, Napi::Object exports) {
  exports.Set("seccompSetFilter", Napi::Function::New(env, SeccompSetFilter, "seccompSetFilter"));
  exports.Set("seccompProbe", Napi::Function::New(env, SeccompProbe, "seccompProbe"));
  // System calls newer than the kernel headers abi is generated from, which the addon uses.
  Constants(env, exports).Set("SYS_fchmodat2", Napi::Number::New(env, SYS_fchmodat2));
}

}  // namespace runsc
