// FdWatcher: readiness notification for one descriptor through libuv's uv_poll_t on the event
// loop of the thread that created it (no extra thread, no ThreadSafeFunction).
//
// JavaScript surface:
//   new FdWatcher(fd, callback)  callback(status, events) runs on the loop; `this` is the
//                                watcher. status is 0 or a negative errno; events is a mask of
//                                POLL_READABLE | POLL_WRITABLE | POLL_DISCONNECT. A negative
//                                status means the watcher has been stopped: libuv reports an
//                                error condition on the descriptor (EPOLLERR) as EBADF, and the
//                                descriptor's own error is for a read or write to find.
//   start(events)                starts watching, or changes the mask of a started watcher.
//   stop()                       stops; a stopped watcher never keeps the loop alive.
//   ref() / unref()              whether an active watcher keeps the loop alive (default: yes).
//   close()                      releases the handle; idempotent, and safe inside the callback.
//
// Notes: libuv switches `fd` to non-blocking mode. Polling is level-triggered. Close the
// watcher before closing `fd` (closing unregisters the descriptor from the loop at once).
//
// Lifetime: the uv_poll_t lives in a heap block of its own that libuv frees in its close
// callback, so the JavaScript object may be collected first. While started, the watcher holds
// a strong reference to its own JavaScript object (and so to the callback); stop() and close()
// drop it. A watcher collected without close() is closed by its finalizer.
#ifndef RUNSC_NATIVE_FD_WATCHER_H_
#define RUNSC_NATIVE_FD_WATCHER_H_

#include <napi.h>
#include <uv.h>

#include <memory>

namespace runsc {

class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit FdWatcher(const Napi::CallbackInfo& info);
  ~FdWatcher() override;

  FdWatcher(const FdWatcher&) = delete;
  FdWatcher& operator=(const FdWatcher&) = delete;

 private:
  // The uv handle and a back pointer to its watcher (null once the watcher is gone).
  struct Handle {
    uv_poll_t poll;
    FdWatcher* owner;
  };

  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value RefLoop(const Napi::CallbackInfo& info);
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info);

  // Stops polling and drops the strong self reference taken by Start.
  void Deactivate();
  // Hands the handle to uv_close; afterwards handle_ is null.
  void Release();

  static void OnPoll(uv_poll_t* poll, int status, int events);
  static void OnClose(uv_handle_t* handle);

  Handle* handle_ = nullptr;
  bool active_ = false;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

}  // namespace runsc

#endif  // RUNSC_NATIVE_FD_WATCHER_H_
