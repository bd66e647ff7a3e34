#include "errors.h"

#include <string.h>
#include <uv.h>

namespace runsc {

namespace {

// The symbolic name ("EBADF") and lowercase description ("bad file descriptor") of errno `err`.
// libuv's tables are Node's, so the text matches Node's own errors; for an errno libuv does not
// know, glibc supplies both.
void Describe(int err, std::string* name, std::string* text) {
  char buf[128];
  uv_err_name_r(-err, buf, sizeof buf);
  if (strncmp(buf, "Unknown", 7) != 0) {
    *name = buf;
    uv_strerror_r(-err, buf, sizeof buf);
    *text = buf;
    return;
  }
  const char* glibc_name = strerrorname_np(err);
  *name = glibc_name != nullptr ? glibc_name : "UNKNOWN";
  *text = strerror_r(err, buf, sizeof buf);  // GNU strerror_r returns the string.
  if (!text->empty() && (*text)[0] >= 'A' && (*text)[0] <= 'Z') (*text)[0] += 'a' - 'A';
}

void SetCode(Napi::Error& error, const char* code) {
  error.Value().Set("code", Napi::String::New(error.Env(), code));
}

}  // namespace

Napi::Error MakeSystemError(Napi::Env env, int err, const char* syscall, const char* detail) {
  std::string name, text;
  Describe(err, &name, &text);
  std::string message = name + ": " + text + ", " + syscall;
  if (detail != nullptr) message += std::string(" (") + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("errno", Napi::Number::New(env, -err));
  obj.Set("code", Napi::String::New(env, name));
  obj.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowSystemError(Napi::Env env, int err, const char* syscall, const char* detail) {
  MakeSystemError(env, err, syscall, detail).ThrowAsJavaScriptException();
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  SetCode(error, "ERR_INVALID_ARG_TYPE");
  error.ThrowAsJavaScriptException();
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::RangeError::New(env, message);
  SetCode(error, "ERR_OUT_OF_RANGE");
  error.ThrowAsJavaScriptException();
}

}  // namespace runsc
