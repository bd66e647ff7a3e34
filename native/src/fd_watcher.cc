#include "fd_watcher.h"

#include "args.h"
#include "errors.h"
#include "modules.h"

namespace runsc {

Napi::Function FdWatcher::Define(Napi::Env env) {
  return DefineClass(env, "FdWatcher",
                     {
                         InstanceMethod<&FdWatcher::Start>("start"),
                         InstanceMethod<&FdWatcher::Stop>("stop"),
                         InstanceMethod<&FdWatcher::Close>("close"),
                         InstanceMethod<&FdWatcher::RefLoop>("ref"),
                         InstanceMethod<&FdWatcher::UnrefLoop>("unref"),
                     });
}

FdWatcher::FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return;
  if (!info[1].IsFunction()) {
    ThrowTypeError(env, "The \"callback\" argument must be of type function");
    return;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "FdWatcher: no libuv loop for this thread").ThrowAsJavaScriptException();
    return;
  }
  auto* handle = new Handle();
  handle->owner = this;
  handle->poll.data = handle;
  int err = uv_poll_init(loop, &handle->poll, fd);
  if (err != 0) {
    delete handle;  // uv_poll_init failed: libuv does not know the handle.
    ThrowSystemError(env, -err, "uv_poll_init");
    return;
  }
  handle_ = handle;
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  // No resource object: a resource would be held strongly and keep this watcher alive forever.
  async_context_ = std::make_unique<Napi::AsyncContext>(env, "FdWatcher");
}

FdWatcher::~FdWatcher() {
  // Runs from the garbage collector's finalizer: active_ is false here (an active watcher holds
  // a strong reference to itself), so only the handle may remain.
  Release();
}

void FdWatcher::Deactivate() {
  if (!active_) return;
  active_ = false;
  uv_poll_stop(&handle_->poll);
  Unref();  // the strong self reference taken by Start
}

void FdWatcher::Release() {
  if (handle_ == nullptr) return;
  handle_->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), OnClose);
  handle_ = nullptr;
}

Napi::Value FdWatcher::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int events;
  if (!GetInt(env, info[0], "events", -1, 0, UV_READABLE | UV_WRITABLE | UV_DISCONNECT, &events)) {
    return env.Undefined();
  }
  if (handle_ == nullptr) {
    Napi::Error::New(env, "FdWatcher is closed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (events == 0) {
    Deactivate();
    return env.Undefined();
  }
  int err = uv_poll_start(&handle_->poll, events, OnPoll);
  if (err != 0) {
    ThrowSystemError(env, -err, "uv_poll_start");
    return env.Undefined();
  }
  if (!active_) {
    active_ = true;
    Ref();
  }
  return env.Undefined();
}

Napi::Value FdWatcher::Stop(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) Deactivate();
  return info.Env().Undefined();
}

Napi::Value FdWatcher::Close(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) {
    Deactivate();
    Release();
  }
  return info.Env().Undefined();
}

Napi::Value FdWatcher::RefLoop(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
  return info.Env().Undefined();
}

Napi::Value FdWatcher::UnrefLoop(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
  return info.Env().Undefined();
}

void FdWatcher::OnPoll(uv_poll_t* poll, int status, int events) {
  FdWatcher* self = static_cast<Handle*>(poll->data)->owner;
  if (self == nullptr || !self->active_) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  // `receiver` keeps the object (and so `self`) alive through the call, even if the callback
  // closes the watcher and drops the last reference.
  Napi::Object receiver = self->Value();
  // On an error libuv has already stopped the handle (it reports EPOLLERR as UV_EBADF): keep
  // our state in step. The callback may start() again.
  if (status < 0) self->Deactivate();
  // MakeCallback, not Call: it enters the async context and drains the microtask and nextTick
  // queues afterwards, as Node does for its own I/O callbacks.
  self->callback_.MakeCallback(
      receiver, {Napi::Number::New(env, status), Napi::Number::New(env, events)},
      *self->async_context_);
  if (env.IsExceptionPending()) {
    // Nothing up the stack can catch it: report it as Node reports an exception thrown from an
    // I/O callback ('uncaughtException', or exit).
    Napi::Error error = env.GetAndClearPendingException();
    napi_fatal_exception(env, error.Value());
  }
}

void FdWatcher::OnClose(uv_handle_t* handle) {
  delete static_cast<Handle*>(handle->data);
}

void InitFdWatcher(Napi::Env env, Napi::Object exports) {
  exports.Set("FdWatcher", FdWatcher::Define(env));
  Napi::Object constants = Constants(env, exports);
  constants.Set("POLL_READABLE", Napi::Number::New(env, UV_READABLE));
  constants.Set("POLL_WRITABLE", Napi::Number::New(env, UV_WRITABLE));
  constants.Set("POLL_DISCONNECT", Napi::Number::New(env, UV_DISCONNECT));
}

}  // namespace runsc
