// Argument validation for the file-system and confinement functions (fs.cc, fs_attr.cc,
// confine.cc), on top of args.h. Like args.h, each Get* returns false after throwing and the
// caller returns at once; nothing here makes a system call.
#ifndef RUNSC_NATIVE_FS_ARGS_H_
#define RUNSC_NATIVE_FS_ARGS_H_

#include <napi.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "errors.h"

namespace runsc {

// Runs `call` (a system call returning a negative value with errno on failure) until it stops
// failing with EINTR.
template <typename F>
auto RetryEintr(F call) -> decltype(call()) {
  decltype(call()) r;
  do {
    r = call();
  } while (r < 0 && errno == EINTR);
  return r;
}

// A path or file name: a string (UTF-8) or a Uint8Array of raw bytes (Linux names are bytes).
// An embedded NUL is a TypeError (the kernel would silently truncate the name there).
inline bool GetPathArg(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out) {
  Napi::Env env = info.Env();
  if (info[i].IsString()) {
    *out = info[i].As<Napi::String>().Utf8Value();
  } else {
    void* data;
    size_t length;
    if (!GetUint8Array(env, info[i], &data, &length)) {
      ThrowTypeError(env, std::string("The \"") + name + "\" argument must be of type string or Uint8Array");
      return false;
    }
    out->assign(static_cast<const char*>(data), length);
  }
  if (out->find('\0') != std::string::npos) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must not contain NUL bytes");
    return false;
  }
  if (out->size() >= PATH_MAX) {
    ThrowRangeError(env, std::string("The \"") + name + "\" argument is longer than PATH_MAX");
    return false;
  }
  return true;
}

// Like GetPathArg, but null/undefined gives `*present = false` (mount(2)'s optional strings).
inline bool GetOptionalPathArg(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out,
                               bool* present) {
  if (info[i].IsNull() || info[i].IsUndefined()) {
    *present = false;
    return true;
  }
  *present = true;
  return GetPathArg(info, i, name, out);
}

// A directory FD for the *at calls: AT_FDCWD (-100) or a descriptor.
inline bool GetDirFdArg(const Napi::CallbackInfo& info, size_t i, const char* name, int* out) {
  if (!GetInt(info.Env(), info[i], name, -1, -100, INT_MAX, out)) return false;
  if (*out < 0 && *out != -100) {
    ThrowRangeError(info.Env(), std::string("The \"") + name + "\" argument must be a descriptor or AT_FDCWD");
    return false;
  }
  return true;
}

// An unsigned 32-bit integer (flags, modes, ids).
inline bool GetU32Arg(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t* out) {
  Napi::Env env = info.Env();
  if (!info[i].IsNumber()) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be of type number");
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::trunc(d) || d < 0 || d > 4294967295.0) {
    ThrowRangeError(env, std::string("The \"") + name + "\" argument must be an integer in [0, 2**32)");
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// A signed 64-bit integer given as a bigint or as a safe-integer number (offsets, seconds).
inline bool GetI64Arg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t* out) {
  Napi::Env env = info.Env();
  if (info[i].IsBigInt()) {
    bool lossless;
    *out = info[i].As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) {
      ThrowRangeError(env, std::string("The \"") + name + "\" argument does not fit in 64 bits");
      return false;
    }
    return true;
  }
  if (!info[i].IsNumber()) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be of type bigint or number");
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > 9007199254740991.0) {
    ThrowRangeError(env, std::string("The \"") + name + "\" argument must be a safe integer");
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// An unsigned 64-bit mask given as a bigint (capability sets).
inline bool GetU64BigIntArg(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t* out) {
  Napi::Env env = info.Env();
  if (!info[i].IsBigInt()) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be of type bigint");
    return false;
  }
  bool lossless;
  *out = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    ThrowRangeError(env, std::string("The \"") + name + "\" argument must be in [0, 2**64)");
    return false;
  }
  return true;
}

// A Uint8Array to read from or write into (used in place). `min` is the smallest length allowed.
inline bool GetBufferArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t min, uint8_t** data,
                         size_t* length) {
  Napi::Env env = info.Env();
  void* p;
  if (!GetUint8Array(env, info[i], &p, length)) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a Uint8Array");
    return false;
  }
  if (*length < min) {
    ThrowRangeError(env, std::string("The \"") + name + "\" argument must be at least " + std::to_string(min) +
                             " bytes long");
    return false;
  }
  *data = static_cast<uint8_t*>(p);
  return true;
}

}  // namespace runsc

#endif  // RUNSC_NATIVE_FS_ARGS_H_
