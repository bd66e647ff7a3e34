// runsc_native: the addon's registration. Each concern registers its own exports (modules.h);
// this file only lists them. Loaded by @runsc-ts/platform's src/native.ts and nowhere else.
#include <napi.h>

#include "modules.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  runsc::InitFd(env, exports);
  runsc::InitSocket(env, exports);
  runsc::InitFdWatcher(env, exports);
  runsc::InitFs(env, exports);
  runsc::InitFsAttr(env, exports);
  runsc::InitConfine(env, exports);
  runsc::InitFsSocket(env, exports);
  runsc::InitPtrace(env, exports);
  runsc::InitTracerWait(env, exports);
  runsc::InitTty(env, exports);
  runsc::InitTun(env, exports);
  runsc::InitLaunch(env, exports);
  runsc::InitSeccomp(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(runsc_native, Init)
