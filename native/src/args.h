// Argument validation shared by the addon's functions. Each Get* returns false after throwing
// (TypeError for a wrong type, RangeError for a value out of range); the caller then returns
// at once. Validation happens before any system call.
#ifndef RUNSC_NATIVE_ARGS_H_
#define RUNSC_NATIVE_ARGS_H_

#include <napi.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <string>

#include "errors.h"

namespace runsc {

// The name of an argument in messages: `name`, or `name[index]` for an element of an array
// argument. Built only when an error is thrown (validation sits on hot paths).
inline std::string ArgName(const char* name, int64_t index) {
  std::string s(name);
  if (index >= 0) s += "[" + std::to_string(index) + "]";
  return s;
}

// An integer in [min, max] (a JavaScript number with no fractional part). `index` >= 0 names an
// array element.
inline bool GetInt(const Napi::Env& env, const Napi::Value& value, const char* name, int64_t index,
                   int min, int max, int* out) {
  if (!value.IsNumber()) {
    ThrowTypeError(env, "The \"" + ArgName(name, index) + "\" argument must be of type number");
    return false;
  }
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::trunc(d)) {
    ThrowRangeError(env, "The \"" + ArgName(name, index) + "\" argument must be an integer");
    return false;
  }
  if (d < min || d > max) {
    ThrowRangeError(env, "The \"" + ArgName(name, index) + "\" argument is out of range: " +
                             std::to_string(static_cast<long long>(d)));
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

// A file descriptor: an integer in [0, INT_MAX].
inline bool GetFd(const Napi::Env& env, const Napi::Value& value, const char* name, int64_t index,
                  int* out) {
  return GetInt(env, value, name, index, 0, INT_MAX, out);
}

inline bool GetFdArg(const Napi::CallbackInfo& info, size_t i, const char* name, int* out) {
  return GetFd(info.Env(), info[i], name, -1, out);
}

inline bool GetBoolArg(const Napi::CallbackInfo& info, size_t i, const char* name, bool* out) {
  if (!info[i].IsBoolean()) {
    ThrowTypeError(info.Env(), std::string("The \"") + name + "\" argument must be of type boolean");
    return false;
  }
  *out = info[i].As<Napi::Boolean>().Value();
  return true;
}

// The bytes of a Uint8Array (a Buffer is one), with a single N-API call: this is on the path of
// every sendmsg/recvmsg. Returns false, without throwing, if `value` is not a Uint8Array.
inline bool GetUint8Array(const Napi::Env& env, napi_value value, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok) {
    return false;  // not a typed array (napi reports it as a status, with no exception)
  }
  if (type != napi_uint8_array) return false;
  if (*data == nullptr) *length = 0;  // detached
  return true;
}

inline bool GetArrayArg(const Napi::CallbackInfo& info, size_t i, const char* name,
                        Napi::Array* out) {
  if (!info[i].IsArray()) {
    ThrowTypeError(info.Env(), std::string("The \"") + name + "\" argument must be an Array");
    return false;
  }
  *out = info[i].As<Napi::Array>();
  return true;
}

}  // namespace runsc

#endif  // RUNSC_NATIVE_ARGS_H_
