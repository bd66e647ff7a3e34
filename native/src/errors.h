// Errors thrown by the addon, shaped like Node's own.
//
// A failed system call throws an Error like Node's SystemError: message
// "EBADF: bad file descriptor, sendmsg", and properties code ("EBADF"), errno (-9, negative as
// libuv and Node report it) and syscall ("sendmsg"). Bad arguments throw TypeError/RangeError
// with Node's codes (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE). The errno is never flattened into
// a string only.
//
// Every Throw* function leaves a pending JavaScript exception: the caller returns right after
// (C++ exceptions are disabled, NAPI_DISABLE_CPP_EXCEPTIONS).
#ifndef RUNSC_NATIVE_ERRORS_H_
#define RUNSC_NATIVE_ERRORS_H_

#include <napi.h>

#include <string>

namespace runsc {

// Builds the SystemError for host errno `err` (positive, as in errno) from `syscall`.
// `detail`, when given, is appended to the message in parentheses.
Napi::Error MakeSystemError(Napi::Env env, int err, const char* syscall,
                            const char* detail = nullptr);

// Throws MakeSystemError(...).
void ThrowSystemError(Napi::Env env, int err, const char* syscall,
                      const char* detail = nullptr);

// Throws TypeError with code ERR_INVALID_ARG_TYPE.
void ThrowTypeError(Napi::Env env, const std::string& message);

// Throws RangeError with code ERR_OUT_OF_RANGE.
void ThrowRangeError(Napi::Env env, const std::string& message);

}  // namespace runsc

#endif  // RUNSC_NATIVE_ERRORS_H_
