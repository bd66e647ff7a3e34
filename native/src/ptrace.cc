// The ptrace platform's mechanism: stub processes, their registers, injected system calls,
// memory copies, and the tracer's wait. Policy (which call to inject, what an event means to
// a task) lives in packages/platform/src/ptrace/.
//
// Model. The first call starts the zygote: runsc-stub (native/stub), forked from the calling
// thread with PTRACE_TRACEME in a new session (its process group holds every tracee, so the
// tracer waits with waitpid(-pgid) and never reaps a child of Node's own), PR_SET_PDEATHSIG and
// options EXITKILL | TRACESYSGOOD | TRACEFORK | TRACEVFORK | TRACECLONE. Once its setup is done
// (stub.c) the tracer unmaps everything but the stub page by injection. Every address space is
// then an injected fork of the zygote, and every context an injected CLONE_VM clone of its
// address space's stub; injected children are auto-attached and inherit the options.
//
// Threads: every function must be called on the tracer thread, the thread that started the
// zygote (ptrace requests are accepted only from the tracing thread); others throw.
//
// Registered tracees (ptraceRegister) have a register buffer (BigUint64Array, user_regs_struct)
// and a siginfo buffer (Uint8Array, 128 bytes) owned by JavaScript; ptraceWait fills them for
// the tracee that stopped, and ptraceResume writes the registers back first when asked.
#include <cpuid.h>
#include <linux/audit.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "../stub/stub.h"
#include "args.h"
#include "errors.h"
#include "modules.h"
#include "tracer.h"

namespace runsc {

namespace {

// Host signal the platform sends a tracee to make it stop running application code
// (ptraceInterrupt); recognised at its signal-delivery stop and never delivered.
constexpr int kInterruptSignal = 63;

// ptraceResume modes.
constexpr int kResumeSysemu = 0;
constexpr int kResumeCont = 1;
constexpr int kResumeSinglestep = 2;

// ptraceWait event kinds (out[1]).
enum EventKind {
  kEventNone = 0,       // nothing is running: nothing to wait for
  kEventLoop = 1,       // woken for the event loop (I/O ready or a timer due)
  kEventSyscall = 2,    // syscall-entry stop (PTRACE_SYSEMU): registers filled
  kEventSignal = 3,     // signal-delivery stop: out[2] = signal; registers and siginfo filled
  kEventInterrupt = 4,  // the interrupt signal's delivery stop: registers filled
  kEventExit = 5,       // exited: out[2] = status
  kEventKilled = 6,     // killed by a signal: out[2] = signal
  kEventPtrace = 7,     // an unexpected PTRACE_EVENT stop: out[2] = event
  kEventUnknown = 8,    // a report for an unregistered tracee: out[2] = raw wait status
};

struct Tracee {
  uint64_t* regs = nullptr;     // user_regs_struct, JavaScript-owned
  uint8_t* siginfo = nullptr;   // 128 bytes, JavaScript-owned
  Napi::Reference<Napi::Value> regs_ref;
  Napi::Reference<Napi::Value> siginfo_ref;
  bool running = false;
  int cpu = -1;  // the CPU this tracee is bound to (pinning), or -1
};

pid_t g_zygote = 0;  // also the process group of every tracee
bool g_pin = true;   // bind a resumed tracee to the tracer thread's current CPU
std::unordered_map<pid_t, Tracee>* g_tracees = nullptr;
int g_running = 0;

bool CheckTracer(const Napi::Env& env, const char* fn) {
  if (tracer::OnTracerThread()) return true;
  Napi::Error::New(env, std::string(fn) + ": must be called on the tracer thread (the thread that started the platform)")
      .ThrowAsJavaScriptException();
  return false;
}

bool GetTid(const Napi::CallbackInfo& info, size_t i, pid_t* out) {
  int v;
  if (!GetInt(info.Env(), info[i], "tid", -1, 1, INT32_MAX, &v)) return false;
  *out = v;
  return true;
}

bool GetBigUint64Array(const Napi::Env& env, const Napi::Value& value, const char* name, uint64_t** data,
                       size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, value, &type, length, &ptr, &buffer, &offset) != napi_ok ||
      type != napi_biguint64_array) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a BigUint64Array");
    return false;
  }
  *data = static_cast<uint64_t*>(ptr);
  return true;
}

bool GetBytes(const Napi::Env& env, const Napi::Value& value, const char* name, void** data, size_t* length) {
  if (!GetUint8Array(env, value, data, length)) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a Uint8Array");
    return false;
  }
  return true;
}

// waitpid(pid, __WALL), retrying EINTR (the tracer's wake signal may land here).
pid_t WaitFor(pid_t pid, int* status) {
  pid_t r;
  do {
    r = waitpid(pid, status, __WALL);
  } while (r < 0 && errno == EINTR);
  return r;
}

Tracee* Find(pid_t tid) {
  if (g_tracees == nullptr) return nullptr;
  auto it = g_tracees->find(tid);
  return it == g_tracees->end() ? nullptr : &it->second;
}

// Forgets a tracee that has exited (its report was collected).
void Forget(pid_t tid) {
  Tracee* t = Find(tid);
  if (t == nullptr) return;
  if (t->running) g_running--;
  g_tracees->erase(tid);
}

// With pinning on, binds tracee `tid` to the tracer thread's current CPU: each stop and resume
// is then a local context switch instead of a cross-CPU wakeup (see docs/architecture.md,
// "Platform"). sched_getcpu is a vDSO call; the affinity changes only when the tracer thread has
// migrated. Contexts are pinned when resumed, stubs when a system call is injected into them.
void PinToTracerCpu(pid_t tid, Tracee* t) {
  if (!g_pin) return;
  int cpu = sched_getcpu();
  if (cpu < 0 || cpu == t->cpu) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(tid, sizeof set, &set) == 0) t->cpu = cpu;
}

// Runs system call `nr` in the stopped tracee `tid` at the stub's syscall instruction and puts
// its registers back. Returns 0 with *result, or an errno (ESRCH: the tracee is gone). A fork
// or clone it makes is auto-attached: *child is then the new tracee, collected at its first
// stop (SIGSTOP). Injection targets stubs only (never a context), and a stub never gets a
// host signal delivered: any other signal that stops it meanwhile (a SIGSTOP or SIGTERM from
// outside) is dropped.
int Inject(pid_t tid, long nr, const uint64_t args[6], int64_t* result, pid_t* child) {
  struct user_regs_struct saved, regs;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &saved) != 0) return errno;
  regs = saved;
  regs.rip = STUB_SYSCALL_ADDR;
  regs.rax = static_cast<uint64_t>(nr);
  regs.orig_rax = static_cast<uint64_t>(-1);  // not in a system call: no restart logic on resume
  regs.rdi = args[0];
  regs.rsi = args[1];
  regs.rdx = args[2];
  regs.r10 = args[3];
  regs.r8 = args[4];
  regs.r9 = args[5];
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs) != 0) return errno;
  if (child != nullptr) *child = 0;
  if (ptrace(PTRACE_CONT, tid, nullptr, nullptr) != 0) return errno;
  for (;;) {
    int status;
    if (WaitFor(tid, &status) < 0) return errno;
    if (!WIFSTOPPED(status)) {
      Forget(tid);
      return ESRCH;
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
      unsigned long msg = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg);
      if (child != nullptr) *child = static_cast<pid_t>(msg);
    } else if (sig == SIGTRAP && event == 0) {
      if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return errno;
      if (regs.rip == STUB_TRAP_ADDR + 1) break;
    }
    if (ptrace(PTRACE_CONT, tid, nullptr, nullptr) != 0) return errno;
  }
  *result = static_cast<int64_t>(regs.rax);
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &saved) != 0) return errno;
  if (child != nullptr && *child > 0) {
    int status;
    // The new tracee's first report: SIGSTOP (auto-attach), or its death if it was killed.
    if (WaitFor(*child, &status) < 0 || !WIFSTOPPED(status)) *child = -1;
  }
  return 0;
}

// The zygote's birth: fork (raw clone: no atfork handlers in a multi-threaded parent), then in
// the child only async-signal-safe system calls before execve. Every signal stays blocked in
// the child until the stub unblocks them itself (stub.c), so none of Node's handlers can run in
// the child before execve resets them.
pid_t SpawnStub(const char* path, int channel, int* err) {
  pid_t parent = getpid();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid != 0) {
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) {
      *err = saved;
      return -1;
    }
  }
  if (pid == 0) {
    syscall(SYS_setsid);
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (syscall(SYS_getppid) != parent) syscall(SYS_exit_group, 126);
    long persona = syscall(SYS_personality, 0xffffffffUL);
    if (persona >= 0 && (persona & ADDR_NO_RANDOMIZE)) {
      syscall(SYS_personality, persona & ~static_cast<long>(ADDR_NO_RANDOMIZE));
    }
    // Only the channel survives, as STUB_CHANNEL_FD (dup2 clears close-on-exec; so must fcntl
    // when it is already there).
    if (channel == STUB_CHANNEL_FD) syscall(SYS_fcntl, channel, F_SETFD, 0);
    else if (syscall(SYS_dup2, channel, STUB_CHANNEL_FD) != STUB_CHANNEL_FD) syscall(SYS_exit_group, 124);
    syscall(SYS_close_range, 0U, STUB_CHANNEL_FD - 1U, 0U);
    syscall(SYS_close_range, STUB_CHANNEL_FD + 1U, ~0U, 0U);
    if (syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) != 0) syscall(SYS_exit_group, 125);
    const char* argv[] = {path, nullptr};
    const char* envp[] = {nullptr};
    syscall(SYS_execve, path, argv, envp);
    syscall(SYS_exit_group, 127);
  }
  return static_cast<pid_t>(pid);
}

// Starts one zygote; returns its pid, or 0 with *err / *detail on failure (the child is reaped).
pid_t StartZygote(const char* path, int channel, int* err, std::string* detail, bool* retry) {
  *retry = false;
  pid_t pid = SpawnStub(path, channel, err);
  if (pid < 0) {
    *detail = "clone";
    return 0;
  }
  auto fail = [&](int e, const std::string& what) {
    *err = e;
    *detail = what;
    kill(pid, SIGKILL);
    int st;
    while (WaitFor(pid, &st) > 0 && !WIFEXITED(st) && !WIFSIGNALED(st)) {
    }
    return static_cast<pid_t>(0);
  };
  int status;
  if (WaitFor(pid, &status) < 0) return fail(errno, "waitpid");
  if (!WIFSTOPPED(status)) {
    return fail(ENOEXEC, "stub did not start (exit status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  long options = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                 PTRACE_O_TRACECLONE;
  if (ptrace(PTRACE_SETOPTIONS, pid, nullptr, options) != 0) return fail(errno, "PTRACE_SETOPTIONS");
  if (ptrace(PTRACE_CONT, pid, nullptr, nullptr) != 0) return fail(errno, "PTRACE_CONT");
  if (WaitFor(pid, &status) < 0) return fail(errno, "waitpid");
  if (WIFEXITED(status)) {
    *retry = WEXITSTATUS(status) == STUB_EXIT_PAGE_BUSY;
    *err = EAGAIN;
    *detail = "stub setup failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    return 0;
  }
  struct user_regs_struct regs;
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP || ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0 ||
      regs.rip != STUB_TRAP_ADDR + 1) {
    return fail(EPROTO, "stub did not stop at its trap");
  }
  // Unmap everything but the stub page: the stub binary, its stack, the vDSO and vvar. Then
  // map the scratch page below it.
  uint64_t below[6] = {0, STUB_PAGE_ADDR, 0, 0, 0, 0};
  uint64_t above[6] = {STUB_PAGE_ADDR + STUB_PAGE_SIZE, STUB_USER_TOP - STUB_PAGE_ADDR - STUB_PAGE_SIZE, 0, 0, 0, 0};
  int64_t result = 0;
  int e = Inject(pid, SYS_munmap, below, &result, nullptr);
  if (e != 0 || result != 0) return fail(e != 0 ? e : static_cast<int>(-result), "munmap");
  if (above[1] != 0) {
    e = Inject(pid, SYS_munmap, above, &result, nullptr);
    if (e != 0 || result != 0) return fail(e != 0 ? e : static_cast<int>(-result), "munmap");
  }
  uint64_t scratch[6] = {STUB_SCRATCH_ADDR, STUB_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, static_cast<uint64_t>(-1), 0};
  e = Inject(pid, SYS_mmap, scratch, &result, nullptr);
  if (e != 0 || result != static_cast<int64_t>(STUB_SCRATCH_ADDR)) {
    return fail(e != 0 ? e : static_cast<int>(-result), "mmap of the scratch page");
  }
  return pid;
}

// ptraceStart(stubPath, channelFd) -> the zygote's pid (also the tracees' process group).
// Makes the calling thread the tracer. `channelFd` becomes the zygote's (and every stub's)
// STUB_CHANNEL_FD; the caller keeps its own copy. Throws if already started (one platform per
// process).
Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowTypeError(env, "The \"stubPath\" argument must be of type string");
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int channel;
  if (!GetFdArg(info, 1, "channelFd", &channel)) return env.Undefined();
  if (g_zygote != 0) {
    Napi::Error::New(env, "ptraceStart: the platform is already started in this process").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!tracer::Init(env)) return env.Undefined();
  if (!CheckTracer(env, "ptraceStart")) return env.Undefined();
  int err = 0;
  std::string detail;
  bool retry = false;
  pid_t pid = 0;
  for (int attempt = 0; attempt < 4 && pid == 0; attempt++) {
    pid = StartZygote(path.c_str(), channel, &err, &detail, &retry);
    if (pid == 0 && !retry) break;
  }
  if (pid == 0) {
    ThrowSystemError(env, err, "ptraceStart", detail.c_str());
    return env.Undefined();
  }
  g_zygote = pid;
  if (g_tracees == nullptr) g_tracees = new std::unordered_map<pid_t, Tracee>();
  (*g_tracees)[pid] = Tracee();
  return Napi::Number::New(env, pid);
}

// ptraceStop(): kills the zygote and every registered tracee, reaps them. The platform can be
// started again afterwards.
Napi::Value Stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (g_zygote == 0) return env.Undefined();
  if (!CheckTracer(env, "ptraceStop")) return env.Undefined();
  std::vector<pid_t> tids;
  for (auto& kv : *g_tracees) tids.push_back(kv.first);
  for (pid_t tid : tids) kill(tid, SIGKILL);
  for (pid_t tid : tids) {
    int st;
    while (WaitFor(tid, &st) > 0 && !WIFEXITED(st) && !WIFSIGNALED(st)) {
    }
  }
  // Tracees the platform never registered (a child of an injection that failed midway).
  int st;
  while (waitpid(-g_zygote, &st, __WALL | WNOHANG) > 0) {
  }
  g_tracees->clear();
  g_running = 0;
  g_zygote = 0;
  return env.Undefined();
}

// ptraceRegister(tid, regs: BigUint64Array(27), siginfo: Uint8Array(128)).
Napi::Value Register(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  if (!GetTid(info, 0, &tid)) return env.Undefined();
  uint64_t* regs;
  size_t nregs;
  if (!GetBigUint64Array(env, info[1], "regs", &regs, &nregs)) return env.Undefined();
  void* siginfo;
  size_t nsiginfo;
  if (!GetBytes(env, info[2], "siginfo", &siginfo, &nsiginfo)) return env.Undefined();
  if (nregs * 8 != sizeof(struct user_regs_struct) || nsiginfo != sizeof(siginfo_t)) {
    ThrowRangeError(env, "regs must hold a user_regs_struct and siginfo 128 bytes");
    return env.Undefined();
  }
  if (!CheckTracer(env, "ptraceRegister")) return env.Undefined();
  Tracee* t = Find(tid);
  if (t == nullptr) {
    ThrowSystemError(env, ESRCH, "ptraceRegister", "not a tracee of this platform");
    return env.Undefined();
  }
  t->regs = regs;
  t->siginfo = static_cast<uint8_t*>(siginfo);
  t->regs_ref = Napi::Persistent(info[1]);
  t->siginfo_ref = Napi::Persistent(info[2]);
  if (ptrace(PTRACE_GETREGS, tid, nullptr, regs) != 0) {
    ThrowSystemError(env, errno, "PTRACE_GETREGS");
    return env.Undefined();
  }
  return env.Undefined();
}

Tracee* GetRegistered(const Napi::CallbackInfo& info, const char* fn, pid_t* tid) {
  Napi::Env env = info.Env();
  if (!GetTid(info, 0, tid)) return nullptr;
  if (!CheckTracer(env, fn)) return nullptr;
  Tracee* t = Find(*tid);
  if (t == nullptr || t->regs == nullptr) {
    ThrowSystemError(env, ESRCH, fn, "not a registered tracee");
    return nullptr;
  }
  return t;
}

// ptraceGetRegs(tid): PTRACE_GETREGS into the registered buffer.
Napi::Value GetRegs(const Napi::CallbackInfo& info) {
  pid_t tid;
  Tracee* t = GetRegistered(info, "ptraceGetRegs", &tid);
  if (t == nullptr) return info.Env().Undefined();
  if (ptrace(PTRACE_GETREGS, tid, nullptr, t->regs) != 0) ThrowSystemError(info.Env(), errno, "PTRACE_GETREGS");
  return info.Env().Undefined();
}

// ptraceSetRegs(tid): PTRACE_SETREGS from the registered buffer.
Napi::Value SetRegs(const Napi::CallbackInfo& info) {
  pid_t tid;
  Tracee* t = GetRegistered(info, "ptraceSetRegs", &tid);
  if (t == nullptr) return info.Env().Undefined();
  if (ptrace(PTRACE_SETREGS, tid, nullptr, t->regs) != 0) ThrowSystemError(info.Env(), errno, "PTRACE_SETREGS");
  return info.Env().Undefined();
}

// The FP state through PTRACE_GETREGSET/SETREGSET: the XSAVE area (NT_X86_XSTATE), or, where
// the CPU or kernel has none, the 512-byte FXSAVE area (NT_PRFPREG: the XSAVE area's first 512
// bytes have the same layout).
int FpRegset(pid_t tid, bool set, struct iovec* iov) {
  long req = set ? PTRACE_SETREGSET : PTRACE_GETREGSET;
  if (ptrace(static_cast<enum __ptrace_request>(req), tid, reinterpret_cast<void*>(NT_X86_XSTATE), iov) == 0) return 0;
  if (errno != EINVAL && errno != ENODEV) return errno;
  if (iov->iov_len > 512) iov->iov_len = 512;
  if (ptrace(static_cast<enum __ptrace_request>(req), tid, reinterpret_cast<void*>(NT_PRFPREG), iov) == 0) return 0;
  return errno;
}

// ptraceGetFpregs(tid, buf) -> bytes: the XSAVE area, truncated to buf.
Napi::Value GetFpregs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  if (GetRegistered(info, "ptraceGetFpregs", &tid) == nullptr) return env.Undefined();
  void* data;
  size_t len;
  if (!GetBytes(env, info[1], "buf", &data, &len)) return env.Undefined();
  struct iovec iov = {data, len};
  if (int err = FpRegset(tid, false, &iov); err != 0) {
    ThrowSystemError(env, err, "PTRACE_GETREGSET");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(iov.iov_len));
}

// ptraceSetFpregs(tid, buf): writes the XSAVE area back.
Napi::Value SetFpregs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  if (GetRegistered(info, "ptraceSetFpregs", &tid) == nullptr) return env.Undefined();
  void* data;
  size_t len;
  if (!GetBytes(env, info[1], "buf", &data, &len)) return env.Undefined();
  struct iovec iov = {data, len};
  if (int err = FpRegset(tid, true, &iov); err != 0) ThrowSystemError(env, err, "PTRACE_SETREGSET");
  return env.Undefined();
}

// ptraceResume(tid, mode, signal, setRegs): optionally PTRACE_SETREGS from the registered
// buffer, then PTRACE_SYSEMU / CONT / SINGLESTEP with `signal` (0: none). The tracee counts as
// running until ptraceWait reports it.
Napi::Value Resume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  int mode, sig;
  Tracee* t = GetRegistered(info, "ptraceResume", &tid);
  if (t == nullptr) return env.Undefined();
  if (!GetInt(env, info[1], "mode", -1, kResumeSysemu, kResumeSinglestep, &mode)) return env.Undefined();
  if (!GetInt(env, info[2], "signal", -1, 0, 64, &sig)) return env.Undefined();
  if (t->running) {
    ThrowSystemError(env, EBUSY, "ptraceResume", "already running");
    return env.Undefined();
  }
  if (info[3].ToBoolean().Value() && ptrace(PTRACE_SETREGS, tid, nullptr, t->regs) != 0) {
    ThrowSystemError(env, errno, "PTRACE_SETREGS");
    return env.Undefined();
  }
  PinToTracerCpu(tid, t);
  enum __ptrace_request req = mode == kResumeSysemu ? PTRACE_SYSEMU
                              : mode == kResumeCont ? PTRACE_CONT
                                                    : PTRACE_SINGLESTEP;
  if (ptrace(req, tid, nullptr, reinterpret_cast<void*>(static_cast<intptr_t>(sig))) != 0) {
    ThrowSystemError(env, errno, "ptraceResume");
    return env.Undefined();
  }
  t->running = true;
  g_running++;
  return env.Undefined();
}

// ptraceSetPinning(on): whether ptraceResume binds the tracee to the tracer thread's current
// CPU (the default). Turning it off gives every bound tracee the tracer process's CPUs back.
Napi::Value SetPinning(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool on;
  if (!GetBoolArg(info, 0, "on", &on)) return env.Undefined();
  if (!CheckTracer(env, "ptraceSetPinning")) return env.Undefined();
  g_pin = on;
  if (!on && g_tracees != nullptr) {
    cpu_set_t all;
    if (sched_getaffinity(0, sizeof all, &all) == 0) {
      for (auto& kv : *g_tracees) {
        if (kv.second.cpu >= 0 && sched_setaffinity(kv.first, sizeof all, &all) == 0) kv.second.cpu = -1;
      }
    }
  }
  return env.Undefined();
}

// Turns a wait status into an event in out[0..2]; fills the tracee's buffers.
int Decode(pid_t pid, int status, int32_t* out) {
  out[0] = pid;
  out[2] = 0;
  Tracee* t = Find(pid);
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    bool known = t != nullptr;
    Forget(pid);
    if (pid == g_zygote) g_zygote = -g_zygote;  // broken: later starts fail loudly
    if (!known) {
      out[2] = status;
      return kEventUnknown;
    }
    out[2] = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status);
    return WIFEXITED(status) ? kEventExit : kEventKilled;
  }
  if (t == nullptr || t->regs == nullptr) {
    out[2] = status;
    return kEventUnknown;
  }
  if (t->running) {
    t->running = false;
    g_running--;
  }
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  ptrace(PTRACE_GETREGS, pid, nullptr, t->regs);
  if (event != 0) {
    out[2] = event;
    return kEventPtrace;
  }
  if (sig == (SIGTRAP | 0x80)) return kEventSyscall;
  if (sig == kInterruptSignal) return kEventInterrupt;
  out[2] = sig;
  if (ptrace(PTRACE_GETSIGINFO, pid, nullptr, t->siginfo) != 0) memset(t->siginfo, 0, sizeof(siginfo_t));
  return kEventSignal;
}

// ptraceWait(out: Int32Array(3), block) -> kind. With nothing running, collects a pending
// report of a stopped tracee (a kill from outside) without blocking, else returns NONE.
// Otherwise blocks (when `block`) until a report or the event loop needs the thread (LOOP).
Napi::Value Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  size_t len = 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, info[0], &type, &len, &data, &ab, &offset) != napi_ok ||
      type != napi_int32_array || len < 3) {
    ThrowTypeError(env, "The \"out\" argument must be an Int32Array of length 3");
    return env.Undefined();
  }
  bool block = info[1].ToBoolean().Value();
  if (!CheckTracer(env, "ptraceWait")) return env.Undefined();
  int32_t* out = static_cast<int32_t*>(data);
  pid_t pgid = g_zygote > 0 ? g_zygote : -g_zygote;
  if (pgid == 0) return Napi::Number::New(env, kEventNone);
  int status;
  pid_t pid;
  if (g_running == 0 || !block) {
    do {
      pid = waitpid(-pgid, &status, __WALL | WNOHANG);
    } while (pid < 0 && errno == EINTR);
    if (pid > 0) return Napi::Number::New(env, Decode(pid, status, out));
    if (g_running == 0) return Napi::Number::New(env, kEventNone);
    return Napi::Number::New(env, kEventLoop);
  }
  pid = tracer::WaitAny(pgid, &status);
  if (pid == 0) return Napi::Number::New(env, kEventLoop);
  if (pid < 0) {
    ThrowSystemError(env, errno, "waitpid");
    return env.Undefined();
  }
  return Napi::Number::New(env, Decode(pid, status, out));
}

// ptraceIdle(): the tracer is going back to the event loop with nothing running: stops the
// I/O watcher and arms the idle watcher (a report of a stopped tracee then calls the idle
// callback, tracerSetIdleCallback).
Napi::Value Idle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckTracer(env, "ptraceIdle")) return env.Undefined();
  if (g_zygote > 0) tracer::GoIdle(g_zygote);
  return env.Undefined();
}

// ptraceInject(tid, nr, args: BigUint64Array(6)) -> [result: bigint (signed), child: number].
// The tracee must be stopped. `child` is the auto-attached tracee a fork/clone created (0 if
// none, -1 if it died at once); the caller registers it.
Napi::Value InjectSyscall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  int nr;
  if (!GetTid(info, 0, &tid)) return env.Undefined();
  if (!GetInt(env, info[1], "nr", -1, 0, 1023, &nr)) return env.Undefined();
  uint64_t* args;
  size_t nargs;
  if (!GetBigUint64Array(env, info[2], "args", &args, &nargs)) return env.Undefined();
  if (nargs != 6) {
    ThrowRangeError(env, "The \"args\" argument must have 6 elements");
    return env.Undefined();
  }
  if (!CheckTracer(env, "ptraceInject")) return env.Undefined();
  Tracee* t = Find(tid);
  if (t == nullptr || t->running) {
    ThrowSystemError(env, t == nullptr ? ESRCH : EBUSY, "ptraceInject");
    return env.Undefined();
  }
  PinToTracerCpu(tid, t);
  int64_t result = 0;
  pid_t child = 0;
  int err = Inject(tid, nr, args, &result, &child);
  if (err != 0) {
    ThrowSystemError(env, err, "ptraceInject");
    return env.Undefined();
  }
  if (child > 0) {
    // The child inherited the stub's affinity.
    Tracee fresh;
    fresh.cpu = t->cpu;
    (*g_tracees)[child] = std::move(fresh);
  }
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::BigInt::New(env, result));
  pair.Set(1u, Napi::Number::New(env, child));
  return pair;
}

// ptraceSyscallArch(tid) -> the AUDIT_ARCH_* of the system call the tracee is stopped at
// (PTRACE_GET_SYSCALL_INFO): AUDIT_ARCH_I386 for `int 0x80` from 64-bit code. 0 if it is not
// stopped at a syscall entry.
Napi::Value SyscallArch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  if (GetRegistered(info, "ptraceSyscallArch", &tid) == nullptr) return env.Undefined();
  struct __ptrace_syscall_info si;
  memset(&si, 0, sizeof si);
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof si), &si);
  if (n < 0) {
    ThrowSystemError(env, errno, "PTRACE_GET_SYSCALL_INFO");
    return env.Undefined();
  }
  return Napi::Number::New(env, si.op == PTRACE_SYSCALL_INFO_ENTRY ? si.arch : 0);
}

// ptraceKill(tid): SIGKILL, then collects every report up to its death (bounded: a killed
// tracee leaves any stop at once) and forgets it. A tracee already gone is not an error.
Napi::Value Kill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  if (!GetTid(info, 0, &tid)) return env.Undefined();
  if (!CheckTracer(env, "ptraceKill")) return env.Undefined();
  if (Find(tid) == nullptr) return env.Undefined();
  kill(tid, SIGKILL);
  int st;
  for (;;) {
    pid_t r = WaitFor(tid, &st);
    if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) break;
  }
  Forget(tid);
  return env.Undefined();
}

// ptraceInterrupt(tid): makes a running tracee stop with an INTERRUPT event (a stopped one
// reports it when next resumed).
Napi::Value Interrupt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t tid;
  if (!GetTid(info, 0, &tid)) return env.Undefined();
  if (Find(tid) == nullptr) {
    ThrowSystemError(env, ESRCH, "ptraceInterrupt");
    return env.Undefined();
  }
  if (syscall(SYS_tgkill, tid, tid, kInterruptSignal) != 0) ThrowSystemError(env, errno, "tgkill");
  return env.Undefined();
}

// vmRead/vmWrite(pid, remote: BigUint64Array [addr, len, addr, len, ...], local: Uint8Array)
// -> bytes copied. One process_vm_readv/writev per IOV_MAX remote pieces; `local` is filled or
// drained in order. Stops at the first short transfer (a fault): the count says how far it got.
Napi::Value VmCopy(const Napi::CallbackInfo& info, bool write) {
  Napi::Env env = info.Env();
  const char* name = write ? "process_vm_writev" : "process_vm_readv";
  pid_t pid;
  if (!GetTid(info, 0, &pid)) return env.Undefined();
  uint64_t* remote;
  size_t nremote;
  if (!GetBigUint64Array(env, info[1], "remote", &remote, &nremote)) return env.Undefined();
  void* local;
  size_t nlocal;
  if (!GetBytes(env, info[2], "local", &local, &nlocal)) return env.Undefined();
  if (nremote % 2 != 0) {
    ThrowRangeError(env, "The \"remote\" argument must hold (address, length) pairs");
    return env.Undefined();
  }
  size_t pieces = nremote / 2;
  uint64_t total = 0;
  for (size_t i = 0; i < pieces; i++) total += remote[2 * i + 1];
  if (total > nlocal) {
    ThrowRangeError(env, "The \"local\" buffer is smaller than the remote pieces");
    return env.Undefined();
  }
  struct iovec riov[IOV_MAX];
  size_t done = 0;
  uint8_t* base = static_cast<uint8_t*>(local);
  for (size_t first = 0; first < pieces;) {
    size_t n = 0;
    size_t want = 0;
    for (; n < IOV_MAX && first + n < pieces; n++) {
      riov[n].iov_base = reinterpret_cast<void*>(remote[2 * (first + n)]);
      riov[n].iov_len = remote[2 * (first + n) + 1];
      want += riov[n].iov_len;
    }
    struct iovec liov = {base + done, want};
    ssize_t r;
    do {
      r = write ? process_vm_writev(pid, &liov, 1, riov, n, 0) : process_vm_readv(pid, &liov, 1, riov, n, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno == EFAULT && done > 0) break;
      if (errno == EFAULT) return Napi::Number::New(env, 0);
      ThrowSystemError(env, errno, name);
      return env.Undefined();
    }
    done += static_cast<size_t>(r);
    if (static_cast<size_t>(r) < want) break;
    first += n;
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

Napi::Value VmRead(const Napi::CallbackInfo& info) { return VmCopy(info, false); }
Napi::Value VmWrite(const Napi::CallbackInfo& info) { return VmCopy(info, true); }

unsigned XstateSize() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx)) return 512;
  return ecx > 512 ? ecx : 512;
}

}  // namespace

void InitPtrace(Napi::Env env, Napi::Object exports) {
  exports.Set("ptraceStart", Napi::Function::New(env, Start));
  exports.Set("ptraceStop", Napi::Function::New(env, Stop));
  exports.Set("ptraceRegister", Napi::Function::New(env, Register));
  exports.Set("ptraceGetRegs", Napi::Function::New(env, GetRegs));
  exports.Set("ptraceSetRegs", Napi::Function::New(env, SetRegs));
  exports.Set("ptraceGetFpregs", Napi::Function::New(env, GetFpregs));
  exports.Set("ptraceSetFpregs", Napi::Function::New(env, SetFpregs));
  exports.Set("ptraceResume", Napi::Function::New(env, Resume));
  exports.Set("ptraceSetPinning", Napi::Function::New(env, SetPinning));
  exports.Set("ptraceWait", Napi::Function::New(env, Wait));
  exports.Set("ptraceIdle", Napi::Function::New(env, Idle));
  exports.Set("ptraceInject", Napi::Function::New(env, InjectSyscall));
  exports.Set("ptraceSyscallArch", Napi::Function::New(env, SyscallArch));
  exports.Set("ptraceKill", Napi::Function::New(env, Kill));
  exports.Set("ptraceInterrupt", Napi::Function::New(env, Interrupt));
  exports.Set("vmRead", Napi::Function::New(env, VmRead));
  exports.Set("vmWrite", Napi::Function::New(env, VmWrite));

  Napi::Object c = Napi::Object::New(env);
  exports.Set("ptraceConstants", c);
  auto set = [&](const char* name, double v) { c.Set(name, Napi::Number::New(env, v)); };
  // user_regs_struct: element indices (of 8 bytes), from <sys/user.h>.
#define REG(name) set("REG_" #name, offsetof(struct user_regs_struct, name) / 8)
  REG(r15); REG(r14); REG(r13); REG(r12); REG(rbp); REG(rbx); REG(r11); REG(r10); REG(r9); REG(r8);
  REG(rax); REG(rcx); REG(rdx); REG(rsi); REG(rdi); REG(orig_rax); REG(rip); REG(cs); REG(eflags);
  REG(rsp); REG(ss); REG(fs_base); REG(gs_base); REG(ds); REG(es); REG(fs); REG(gs);
#undef REG
  set("USER_REGS_COUNT", sizeof(struct user_regs_struct) / 8);
  set("SIGINFO_SIZE", sizeof(siginfo_t));
  set("SIGINFO_SIGNO", offsetof(siginfo_t, si_signo));
  set("SIGINFO_CODE", offsetof(siginfo_t, si_code));
  set("SIGINFO_ADDR", offsetof(siginfo_t, si_addr));
  set("XSTATE_SIZE", XstateSize());
  set("AUDIT_ARCH_X86_64", AUDIT_ARCH_X86_64);
  set("AUDIT_ARCH_I386", AUDIT_ARCH_I386);
  set("STUB_PAGE_ADDR", static_cast<double>(STUB_PAGE_ADDR));
  set("STUB_SCRATCH_ADDR", static_cast<double>(STUB_SCRATCH_ADDR));
  set("STUB_CHANNEL_FD", STUB_CHANNEL_FD);
  set("STUB_PAGE_SIZE", static_cast<double>(STUB_PAGE_SIZE));
  set("STUB_SYSCALL_ADDR", static_cast<double>(STUB_SYSCALL_ADDR));
  set("INTERRUPT_SIGNAL", kInterruptSignal);
  set("WAKE_SIGNAL", tracer::kWakeSignal);
  set("RESUME_SYSEMU", kResumeSysemu);
  set("RESUME_CONT", kResumeCont);
  set("RESUME_SINGLESTEP", kResumeSinglestep);
  set("EVENT_NONE", kEventNone);
  set("EVENT_LOOP", kEventLoop);
  set("EVENT_SYSCALL", kEventSyscall);
  set("EVENT_SIGNAL", kEventSignal);
  set("EVENT_INTERRUPT", kEventInterrupt);
  set("EVENT_EXIT", kEventExit);
  set("EVENT_KILLED", kEventKilled);
  set("EVENT_PTRACE", kEventPtrace);
  set("EVENT_UNKNOWN", kEventUnknown);
  // Host system calls the platform injects (asm/unistd_64.h).
  set("SYS_mmap", SYS_mmap);
  set("SYS_munmap", SYS_munmap);
  set("SYS_mprotect", SYS_mprotect);
  set("SYS_mremap", SYS_mremap);
  set("SYS_brk", SYS_brk);
  set("SYS_madvise", SYS_madvise);
  set("SYS_fork", SYS_fork);
  set("SYS_clone", SYS_clone);
  set("SYS_getpid", SYS_getpid);
  set("SYS_getppid", SYS_getppid);
  set("SYS_exit", SYS_exit);
  set("SYS_exit_group", SYS_exit_group);
  set("SYS_read", SYS_read);
  set("SYS_write", SYS_write);
}

}  // namespace runsc
