// Starting a process that is confined in every thread (the gofer; later the sentry).
//
// Linux applies namespaces, root changes, capabilities and no_new_privs to the calling thread,
// and Node starts its helper threads before any JavaScript runs. So the confinement a process
// must have in all its threads is put in place *before* it execs Node (everything a thread
// inherits at creation: the mount namespace, the capability bounding set and sets, no_new_privs,
// the shared fs_struct), and the one step that needs Node already loaded — moving the root,
// after which Node's files are unreachable — is done by a helper process in the same mount
// namespace: pivot_root(2) moves the root and cwd of every task whose root or cwd was the old
// root, which includes every thread of the exec'd process. The policy (which steps, which
// capabilities) is in TypeScript (packages/gofer/src/confine.ts); this file has the three
// primitives that cannot be written there:
//
//  - forkPivotHelper: forks the pivot helper (pivot.h), a single-threaded child that waits on a
//    socket for one byte, then moves the root, and answers with the failed step and errno.
//  - execve: replaces the calling process (every other thread ends).
//  - waitpid: reaps a child, blocking.
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"
#include "pivot.h"

namespace runsc {

namespace {

// forkPivotHelper(sock, root, readOnly) -> pid. `sock` is the helper's end of a
// connected socket (the caller closes its copy afterwards).
Napi::Value ForkPivotHelper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock;
  std::string root;
  bool readOnly;
  if (!GetFdArg(info, 0, "sock", &sock) || !GetPathArg(info, 1, "root", &root) || !GetBoolArg(info, 2, "readOnly", &readOnly)) {
    return env.Undefined();
  }
  if (fcntl(sock, F_GETFD) < 0) {
    ThrowSystemError(env, errno, "fcntl");
    return env.Undefined();
  }
  pid_t pid = fork();
  if (pid < 0) {
    ThrowSystemError(env, errno, "fork");
    return env.Undefined();
  }
  if (pid == 0) PivotHelperChild(sock, root.c_str(), readOnly);
  return Napi::Number::New(env, pid);
}

bool GetStringArray(const Napi::CallbackInfo& info, size_t i, const char* name, std::vector<std::string>* out) {
  Napi::Array a;
  if (!GetArrayArg(info, i, name, &a)) return false;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsString()) {
      ThrowTypeError(info.Env(), "The \"" + ArgName(name, k) + "\" argument must be of type string");
      return false;
    }
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) {
      ThrowTypeError(info.Env(), "The \"" + ArgName(name, k) + "\" argument must not contain NUL bytes");
      return false;
    }
    out->push_back(std::move(s));
  }
  return true;
}

// execve(path, argv, envp): returns only by throwing.
Napi::Value Execve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  std::vector<std::string> args, envs;
  if (!GetPathArg(info, 0, "path", &path) || !GetStringArray(info, 1, "argv", &args) ||
      !GetStringArray(info, 2, "envp", &envs)) {
    return env.Undefined();
  }
  std::vector<char*> argv, envp;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  execve(path.c_str(), argv.data(), envp.data());
  ThrowSystemError(env, errno, "execve");
  return env.Undefined();
}

// waitpid(pid) -> {code, signal}: blocks until child `pid` exits; code is null if it was
// killed, signal null if it exited.
Napi::Value Waitpid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid;
  if (!GetInt(env, info[0], "pid", -1, 1, INT_MAX, &pid)) return env.Undefined();
  int status;
  if (RetryEintr([&] { return waitpid(pid, &status, 0); }) < 0) {
    ThrowSystemError(env, errno, "waitpid");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("code", WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
  out.Set("signal", WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
  return out;
}

}  // namespace

void InitLaunch(Napi::Env env, Napi::Object exports) {
  exports.Set("forkPivotHelper", Napi::Function::New(env, ForkPivotHelper, "forkPivotHelper"));
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
  exports.Set("waitpid", Napi::Function::New(env, Waitpid, "waitpid"));
}

}  // namespace runsc
