// Unix-domain sockets bound or connected by name relative to a directory descriptor, for the
// gofer's bindAt/connect: bind(2) and connect(2) take a path, not a (dirfd, name) pair, and the
// confined gofer has no /proc to name a directory descriptor by. So the calling thread's current
// directory is moved to `dirfd` for the one call and restored right after. The current directory
// is per fs_struct: callers must be the only ones in the process resolving relative paths (the
// gofer's serving thread is; Node's own threads never use relative paths).
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <string>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"

namespace runsc {

namespace {

enum class Op { kBind, kConnect };

// socket(AF_UNIX, type | SOCK_CLOEXEC [| SOCK_NONBLOCK for connect]) then bind/connect to
// `name` (one component, shorter than sun_path) relative to `dirfd`. Returns the socket; throws
// a SystemError naming the failed call.
Napi::Value UnixAt(const Napi::CallbackInfo& info, Op op) {
  Napi::Env env = info.Env();
  int dirfd;
  std::string name;
  uint32_t type;
  if (!GetDirFdArg(info, 0, "dirfd", &dirfd) || !GetPathArg(info, 1, "name", &name) ||
      !GetU32Arg(info, 2, "type", &type)) {
    return env.Undefined();
  }
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (name.empty() || name.size() >= sizeof addr.sun_path || name.find('/') != std::string::npos) {
    ThrowRangeError(env, "The \"name\" argument must be one path component shorter than sun_path");
    return env.Undefined();
  }
  memcpy(addr.sun_path, name.data(), name.size());
  int flags = SOCK_CLOEXEC | (op == Op::kConnect ? SOCK_NONBLOCK : 0);
  int sock = socket(AF_UNIX, static_cast<int>(type) | flags, 0);
  if (sock < 0) {
    ThrowSystemError(env, errno, "socket");
    return env.Undefined();
  }
  int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0) {
    int err = errno;
    close(sock);
    ThrowSystemError(env, err, "open", "current directory");
    return env.Undefined();
  }
  int err = 0;
  const char* failed = nullptr;
  if (fchdir(dirfd) != 0) {
    err = errno;
    failed = "fchdir";
  } else {
    socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + name.size() + 1);
    int r = op == Op::kBind ? bind(sock, reinterpret_cast<struct sockaddr*>(&addr), len)
                            : RetryEintr([&] { return connect(sock, reinterpret_cast<struct sockaddr*>(&addr), len); });
    if (r != 0) {
      err = errno;
      failed = op == Op::kBind ? "bind" : "connect";
    }
    if (fchdir(cwd) != 0 && err == 0) {
      err = errno;
      failed = "fchdir";
    }
  }
  close(cwd);
  if (err != 0) {
    close(sock);
    ThrowSystemError(env, err, failed);
    return env.Undefined();
  }
  return Napi::Number::New(env, sock);
}

// bindUnixAt(dirfd, name, type) -> a bound, not listening, socket (close-on-exec).
Napi::Value BindUnixAt(const Napi::CallbackInfo& info) { return UnixAt(info, Op::kBind); }

// connectUnixAt(dirfd, name, type) -> a connected socket (close-on-exec, non-blocking: a full
// listen backlog is EAGAIN, never a wait).
Napi::Value ConnectUnixAt(const Napi::CallbackInfo& info) { return UnixAt(info, Op::kConnect); }

}  // namespace

void InitFsSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("bindUnixAt", Napi::Function::New(env, BindUnixAt, "bindUnixAt"));
  exports.Set("connectUnixAt", Napi::Function::New(env, ConnectUnixAt, "connectUnixAt"));
}

}  // namespace runsc
