// Terminal ioctls on host FDs the sentry holds (the sandbox's stdio when it is a terminal): the
// termios and window-size requests a program makes through tcgetattr/tcsetattr/TIOCGWINSZ, and
// the byte counts FIONREAD/TIOCOUTQ. Only these requests pass: the sentry never issues an ioctl
// it has not vetted on a host FD.
#include <errno.h>
#include <string.h>
#include <asm/termbits.h>  // the kernel's struct termios (glibc's <termios.h> has its own, larger one)
#include <sys/ioctl.h>
#include <unistd.h>

#include "args.h"
#include "errors.h"
#include "fs_args.h"
#include "modules.h"

namespace runsc {

namespace {

// The size of the argument each request reads or writes through its pointer.
size_t ArgSize(unsigned long request) {
  switch (request) {
    case TCGETS:
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
      return sizeof(struct termios);  // 36 bytes on x86-64
    case TIOCGWINSZ:
    case TIOCSWINSZ:
      return sizeof(struct winsize);
    case FIONREAD:
    case TIOCOUTQ:
      return sizeof(int);
    default:
      return 0;
  }
}

// ttyIoctl(fd, request, buf) -> the ioctl's result. `buf` (exactly the request's argument size)
// is passed by pointer and updated in place. RangeError for a request outside the list or a
// buffer of the wrong size; SystemError for a failed ioctl (ENOTTY for a non-terminal).
Napi::Value TtyIoctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t request;
  uint8_t* data;
  size_t len;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetU32Arg(info, 1, "request", &request) ||
      !GetBufferArg(info, 2, "buf", 0, &data, &len)) {
    return env.Undefined();
  }
  size_t want = ArgSize(request);
  if (want == 0) {
    ThrowRangeError(env, "ttyIoctl: the request is not one the sentry passes to a host terminal");
    return env.Undefined();
  }
  if (len != want) {
    ThrowRangeError(env, "ttyIoctl: the buffer's size does not match the request's argument");
    return env.Undefined();
  }
  int r;
  do {
    r = ioctl(fd, request, data);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    ThrowSystemError(env, errno, "ioctl");
    return env.Undefined();
  }
  return Napi::Number::New(env, r);
}

}  // namespace

void InitTty(Napi::Env env, Napi::Object exports) {
  exports.Set("ttyIoctl", Napi::Function::New(env, TtyIoctl, "ttyIoctl"));
}

}  // namespace runsc
