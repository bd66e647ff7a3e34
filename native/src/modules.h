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

}  // namespace runsc

#endif  // RUNSC_NATIVE_MODULES_H_
