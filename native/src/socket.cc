// Unix domain sockets: socketpair, and sendmsg/recvmsg with SCM_RIGHTS descriptor passing.
//
// The functions are stateless and never block on their own: on a non-blocking socket "would
// block" is the return value -1 (EAGAIN/EWOULDBLOCK), EINTR is retried, and every other failure
// throws a SystemError. Buffers are used in place (an iovec per chunk; nothing is copied).
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"

namespace runsc {

namespace {

#ifdef IOV_MAX
constexpr uint32_t kIovMax = IOV_MAX;
#else
constexpr uint32_t kIovMax = 1024;  // UIO_MAXIOV
#endif

// The kernel's SCM_MAX_FD (include/net/scm.h; not in the uapi headers): the most descriptors
// one SCM_RIGHTS message may carry.
constexpr uint32_t kScmMaxFd = 253;

// Control buffer for one SCM_RIGHTS message of up to kScmMaxFd descriptors, aligned for cmsghdr.
union ControlBuffer {
  struct cmsghdr align;
  char bytes[CMSG_SPACE(sizeof(int) * kScmMaxFd)];
};

void CloseAll(const int* fds, size_t n) {
  for (size_t i = 0; i < n; i++) close(fds[i]);
}

// socketpair(type) -> [fd0, fd1]: an AF_UNIX pair. `type` is SOCK_STREAM (or SOCK_DGRAM,
// SOCK_SEQPACKET) or'ed with SOCK_CLOEXEC and SOCK_NONBLOCK as the caller wishes.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int type;
  if (!GetInt(env, info[0], "type", -1, 0, INT_MAX, &type)) return env.Undefined();
  int sv[2];
  if (socketpair(AF_UNIX, type, 0, sv) != 0) {
    ThrowSystemError(env, errno, "socketpair");
    return env.Undefined();
  }
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, sv[0]));
  pair.Set(1u, Napi::Number::New(env, sv[1]));
  return pair;
}

// sendmsg(fd, chunks, fds) -> bytes sent, or -1 if the socket would block.
//
// A gather write of `chunks` (at most IOV_MAX of them per call: the caller sends the rest
// later) with MSG_NOSIGNAL. When `fds` is not empty they travel as one SCM_RIGHTS message
// attached to the first byte sent; the caller keeps its descriptors (the kernel dups them) and
// must not resend them once this returned a positive count. fds need at least one byte to
// travel with: a stream socket silently drops ancillary data sent with no bytes, so that is a
// RangeError here.
Napi::Value SendMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Napi::Array chunks, fd_array;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetArrayArg(info, 1, "chunks", &chunks) ||
      !GetArrayArg(info, 2, "fds", &fd_array)) {
    return env.Undefined();
  }

  uint32_t nchunks = chunks.Length();
  uint32_t niov = nchunks < kIovMax ? nchunks : kIovMax;
  struct iovec iov[kIovMax];
  size_t total = 0;
  for (uint32_t i = 0; i < nchunks; i++) {
    napi_value chunk;
    void* data = nullptr;
    size_t length = 0;
    if (napi_get_element(env, chunks, i, &chunk) != napi_ok ||
        !GetUint8Array(env, chunk, &data, &length)) {
      if (env.IsExceptionPending()) return env.Undefined();  // a throwing getter
      ThrowTypeError(env, "The \"chunks[" + std::to_string(i) + "]\" argument must be a Uint8Array");
      return env.Undefined();
    }
    if (i < niov) {
      iov[i].iov_base = data;
      iov[i].iov_len = length;
      total += length;
    }
  }

  uint32_t nfds = fd_array.Length();
  if (nfds > kScmMaxFd) {
    ThrowRangeError(env, "The \"fds\" argument holds " + std::to_string(nfds) +
                             " descriptors; at most " + std::to_string(kScmMaxFd) +
                             " (SCM_MAX_FD) travel in one message");
    return env.Undefined();
  }
  if (nfds > 0 && total == 0) {
    ThrowRangeError(env, "The \"fds\" argument needs at least one byte in \"chunks\" to travel with");
    return env.Undefined();
  }

  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = niov;
  ControlBuffer control;
  if (nfds > 0) {
    int fds[kScmMaxFd];
    for (uint32_t i = 0; i < nfds; i++) {
      if (!GetFd(env, fd_array.Get(i), "fds", i, &fds[i])) {
        return env.Undefined();
      }
    }
    memset(&control, 0, sizeof control);
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }

  ssize_t sent;
  do {
    sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowSystemError(env, errno, "sendmsg");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

// recvmsg(fd, buf, fdsOut) -> bytes read into `buf` (0 at end of stream), or -1 if the socket
// would block.
//
// Descriptors that arrive (SCM_RIGHTS, received with MSG_CMSG_CLOEXEC so they are close-on-exec)
// are appended to `fdsOut`; the caller owns them. One call receives at most one SCM_RIGHTS
// message (the kernel stops reading at a message that carries descriptors), and the control
// buffer holds SCM_MAX_FD of them. If the kernel still truncated the control data (MSG_CTRUNC:
// typically the receiver hit RLIMIT_NOFILE), the descriptors that did arrive are closed and this
// throws a SystemError with code "EMSGSIZE" (syscall "recvmsg"): the bytes of that read are lost
// with them, so the stream is no longer usable.
Napi::Value RecvMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Napi::Array fds_out;
  struct iovec iov;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  if (!GetUint8Array(env, info[1], &iov.iov_base, &iov.iov_len)) {
    ThrowTypeError(env, "The \"buf\" argument must be a Uint8Array");
    return env.Undefined();
  }
  if (!GetArrayArg(info, 2, "fdsOut", &fds_out)) return env.Undefined();
  if (iov.iov_len == 0) {
    ThrowRangeError(env, "The \"buf\" argument must not be empty (0 bytes read means end of stream)");
    return env.Undefined();
  }

  ControlBuffer control;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;

  ssize_t got;
  do {
    got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowSystemError(env, errno, "recvmsg");
    return env.Undefined();
  }

  int fds[kScmMaxFd];
  size_t nfds = 0;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr;
       cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (n > kScmMaxFd - nfds) n = kScmMaxFd - nfds;  // cannot happen with one SCM_RIGHTS
    memcpy(&fds[nfds], CMSG_DATA(cmsg), n * sizeof(int));
    nfds += n;
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    CloseAll(fds, nfds);
    ThrowSystemError(env, EMSGSIZE, "recvmsg",
                     "SCM_RIGHTS control data truncated: descriptors lost, those received were "
                     "closed");
    return env.Undefined();
  }
  uint32_t base = nfds > 0 ? fds_out.Length() : 0;
  for (size_t i = 0; i < nfds; i++) {
    if (!fds_out.Set(base + static_cast<uint32_t>(i), Napi::Number::New(env, fds[i]))) {
      CloseAll(&fds[i], nfds - i);  // the exception is pending; do not leak the rest
      return env.Undefined();
    }
  }
  return Napi::Number::New(env, static_cast<double>(got));
}

// listen(fd, backlog): a bound stream socket starts accepting connections.
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t backlog;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetU32Arg(info, 1, "backlog", &backlog)) return env.Undefined();
  if (listen(fd, static_cast<int>(backlog > 4096 ? 4096 : backlog)) != 0) ThrowSystemError(env, errno, "listen");
  return env.Undefined();
}

// accept4(fd) -> a connected socket (close-on-exec, non-blocking), or -1 when no connection is
// waiting on a non-blocking listener. EINTR and ECONNABORTED (a client gone before accept) are
// retried.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  int conn;
  do {
    conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } while (conn < 0 && (errno == EINTR || errno == ECONNABORTED));
  if (conn < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowSystemError(env, errno, "accept4");
    return env.Undefined();
  }
  return Napi::Number::New(env, conn);
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept4", Napi::Function::New(env, Accept, "accept4"));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair, "socketpair"));
  exports.Set("sendmsg", Napi::Function::New(env, SendMsg, "sendmsg"));
  exports.Set("recvmsg", Napi::Function::New(env, RecvMsg, "recvmsg"));

  Napi::Object constants = Constants(env, exports);
  constants.Set("SOCK_STREAM", Napi::Number::New(env, SOCK_STREAM));
  constants.Set("SOCK_DGRAM", Napi::Number::New(env, SOCK_DGRAM));
  constants.Set("SOCK_SEQPACKET", Napi::Number::New(env, SOCK_SEQPACKET));
  constants.Set("SOCK_CLOEXEC", Napi::Number::New(env, SOCK_CLOEXEC));
  constants.Set("SOCK_NONBLOCK", Napi::Number::New(env, SOCK_NONBLOCK));
  constants.Set("IOV_MAX", Napi::Number::New(env, kIovMax));
  constants.Set("SCM_MAX_FD", Napi::Number::New(env, kScmMaxFd));
}

}  // namespace runsc
