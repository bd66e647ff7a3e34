// The tracer's combined wait: "the next trap of any task, or libuv I/O readiness". See tracer.h
// and docs/architecture.md ("Platform") for the design and its measurements.
//
// Threads:
//   tracer thread  (Node's main thread, or whichever thread started the platform): all ptrace
//                  requests; blocks in waitpid(-pgid, __WALL) while tracees run.
//   I/O watcher    armed by the tracer before it blocks: poll(uv_backend_fd, backend timeout);
//                  when ready it sets g_io_ready and tgkill()s the tracer with kWakeSignal,
//                  re-sending every millisecond until the tracer acknowledges (the signal can
//                  land between the tracer's check of g_io_ready and its entry into waitpid).
//   idle watcher   armed when the tracer returns to the loop with nothing running: waitid(P_PGID,
//                  WNOWAIT) peeks for a report of a stopped tracee, then uv_async_send.
// Both helpers only ever read the loop's backend fd and send wakeups; neither touches tracee or
// JavaScript state. They are detached and live as long as the process.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "errors.h"
#include "modules.h"
#include "tracer.h"

namespace runsc {
namespace tracer {

namespace {

// The longest the tracer stays blocked without returning to the event loop: bounds the delay
// of a timer created while tracees run (the backend timeout is read when the watcher is armed).
constexpr int kMaxSliceMs = 10;

pid_t g_tracer_tid = 0;
pid_t g_process_pid = 0;
uv_loop_t* g_loop = nullptr;

std::atomic<bool> g_in_wait{false};
std::atomic<bool> g_io_ready{false};

// Never destroyed: the helper threads wait on them until the process ends, and destroying a
// condition variable with waiters blocks exit() forever (glibc's pthread_cond_destroy).
std::mutex& g_mu = *new std::mutex();
std::condition_variable& g_cv = *new std::condition_variable();
// I/O watcher: armed generation, cancelled generation (under g_mu, cancel also atomic).
uint64_t g_io_arm_gen = 0;
std::atomic<uint64_t> g_io_cancel_gen{0};
int g_io_timeout_ms = 0;
int g_io_nudge_fd = -1;  // eventfd: wakes the I/O watcher's poll (cancel)
bool g_io_watching = false;  // tracer thread only
uint64_t g_io_deadline = 0;  // tracer thread only: loop time (ms) the armed watcher wakes at

// Idle watcher.
uint64_t g_idle_arm_gen = 0;
pid_t g_idle_pgid = 0;
uv_async_t* g_async = nullptr;  // never freed: the idle watcher may still hold it at exit
std::atomic<bool> g_shutdown{false};  // the environment is going away: no more wakeups

void OnWakeSignal(int) {}

void DrainNudge() {
  uint64_t v;
  while (read(g_io_nudge_fd, &v, sizeof v) > 0) {
  }
}

void IoWatcherMain() {
  uint64_t done = 0;
  for (;;) {
    uint64_t gen;
    int timeout;
    {
      std::unique_lock<std::mutex> lock(g_mu);
      g_cv.wait(lock, [&] { return g_io_arm_gen > done; });
      gen = g_io_arm_gen;
      timeout = g_io_timeout_ms;
    }
    done = gen;
    int backend = uv_backend_fd(g_loop);
    bool cancelled = false;
    for (;;) {
      struct pollfd fds[2] = {{backend, POLLIN, 0}, {g_io_nudge_fd, POLLIN, 0}};
      int r = poll(fds, 2, timeout);
      if (r < 0 && errno == EINTR) continue;
      if (g_io_cancel_gen.load() >= gen) {
        cancelled = true;
        break;
      }
      if (r > 0 && fds[1].revents != 0 && fds[0].revents == 0) {
        DrainNudge();  // a stale nudge for an earlier generation
        continue;
      }
      break;  // readable, or the timeout passed
    }
    if (cancelled) continue;
    g_io_ready.store(true);
    while (g_io_ready.load() && g_io_cancel_gen.load() < gen) {
      if (g_in_wait.load()) syscall(SYS_tgkill, g_process_pid, g_tracer_tid, kWakeSignal);
      struct pollfd nudge = {g_io_nudge_fd, POLLIN, 0};
      if (poll(&nudge, 1, 1) > 0) DrainNudge();
    }
  }
}

void IdleWatcherMain() {
  uint64_t done = 0;
  for (;;) {
    pid_t pgid;
    {
      std::unique_lock<std::mutex> lock(g_mu);
      g_cv.wait(lock, [&] { return g_idle_arm_gen > done; });
      done = g_idle_arm_gen;
      pgid = g_idle_pgid;
    }
    siginfo_t info;
    int r;
    do {
      info.si_pid = 0;
      r = waitid(P_PGID, pgid, &info, WEXITED | WSTOPPED | WNOWAIT | __WALL);
    } while (r < 0 && errno == EINTR);
    if (r == 0 && info.si_pid != 0 && !g_shutdown.load()) uv_async_send(g_async);
  }
}

napi_ref g_idle_callback = nullptr;
napi_async_context g_idle_context = nullptr;
napi_env g_env = nullptr;

// The idle watcher's wakeup, on the loop. Written against the C API on purpose: this can run
// while Node tears the environment down (its last uv_run, e.g. after ptraceStop's kills woke
// the idle watcher), when calling into JavaScript fails; node-addon-api would turn that
// failure into a fatal error. Here it is ignored: nothing is left to wake.
void OnAsync(uv_async_t*) {
  if (g_env == nullptr || g_idle_callback == nullptr) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(g_env, &scope) != napi_ok) return;
  napi_value fn = nullptr;
  napi_value global = nullptr;
  if (napi_get_reference_value(g_env, g_idle_callback, &fn) == napi_ok && fn != nullptr &&
      napi_get_global(g_env, &global) == napi_ok) {
    napi_value result;
    if (napi_make_callback(g_env, g_idle_context, global, fn, 0, nullptr, &result) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(g_env, &error) == napi_ok) napi_fatal_exception(g_env, error);
    }
  }
  napi_close_handle_scope(g_env, scope);
}

// Environment teardown: no more callbacks; the handle is closed with the loop.
void OnEnvCleanup(void*) {
  g_shutdown.store(true);
  g_env = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(g_async), nullptr);
}

// Every ptrace stop sends SIGCHLD to the tracer's process unless its SIGCHLD action has
// SA_NOCLDSTOP. With SIG_DFL the kernel drops it at once; but once Node spawns a child, libuv
// installs a SIGCHLD handler (without SA_NOCLDSTOP), and then every trapped syscall would run
// that handler and make the loop's backend fd readable (libuv's signal pipe), waking the
// tracer for the event loop. libuv only waits for its children's exits (waitpid WNOHANG, never
// WUNTRACED), so it loses nothing if stops are not signalled: add SA_NOCLDSTOP to its action.
// Called on the loop thread (libuv installs its handlers from there too) whenever the I/O
// watcher is armed: once per stretch of tracing, so a handler installed meanwhile is fixed at
// the next yield to the loop.
void QuietChildStops() {
  struct sigaction sa;
  if (sigaction(SIGCHLD, nullptr, &sa) != 0) return;
  if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDSTOP) != 0) return;
  sa.sa_flags |= SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, nullptr);
}

// The watcher's timeout: the loop's next timer, clamped to [1, kMaxSliceMs] ms. The loop's
// clock was read at the start of its iteration; it is refreshed first (a vDSO clock read).
int LoopTimeout() {
  uv_update_time(g_loop);
  int t = uv_backend_timeout(g_loop);
  return t < 0 ? kMaxSliceMs : std::clamp(t, 1, kMaxSliceMs);
}

void ArmIo(int t) {
  QuietChildStops();
  g_io_deadline = uv_now(g_loop) + static_cast<uint64_t>(t);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_io_ready.store(false);
    g_io_timeout_ms = t;
    g_io_arm_gen++;
  }
  g_cv.notify_all();
  g_io_watching = true;
}

// tracerSetIdleCallback(fn): the function the idle watcher calls (on the loop) when a stopped
// tracee has something to report while the tracer is back in the event loop.
Napi::Value SetIdleCallback(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) {
    ThrowTypeError(env, "The \"callback\" argument must be of type function");
    return env.Undefined();
  }
  if (!Init(env)) return env.Undefined();
  if (!OnTracerThread()) {
    Napi::Error::New(env, "tracerSetIdleCallback: not the tracer thread").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (g_idle_callback != nullptr) napi_delete_reference(env, g_idle_callback);
  g_idle_callback = nullptr;
  if (napi_create_reference(env, info[0], 1, &g_idle_callback) != napi_ok) {
    Napi::Error::New(env, "tracerSetIdleCallback: napi_create_reference failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (g_idle_context == nullptr) {
    napi_value name = Napi::String::New(env, "PtraceIdleWatch");
    if (napi_async_init(env, nullptr, name, &g_idle_context) != napi_ok) g_idle_context = nullptr;
  }
  return env.Undefined();
}

}  // namespace

bool Init(Napi::Env env) {
  if (g_tracer_tid != 0) return true;
  if (napi_get_uv_event_loop(env, &g_loop) != napi_ok || g_loop == nullptr) {
    Napi::Error::New(env, "ptrace: no libuv loop for this thread").ThrowAsJavaScriptException();
    return false;
  }
  g_io_nudge_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (g_io_nudge_fd < 0) {
    ThrowSystemError(env, errno, "eventfd");
    return false;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnWakeSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the signal must interrupt waitpid
  if (sigaction(kWakeSignal, &sa, nullptr) != 0) {
    ThrowSystemError(env, errno, "sigaction");
    return false;
  }
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, kWakeSignal);
  pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
  g_async = new uv_async_t();
  uv_async_init(g_loop, g_async, OnAsync);
  uv_unref(reinterpret_cast<uv_handle_t*>(g_async));
  g_env = env;
  napi_add_env_cleanup_hook(env, OnEnvCleanup, nullptr);
  g_tracer_tid = static_cast<pid_t>(syscall(SYS_gettid));
  g_process_pid = getpid();
  // The helpers must never take the wake signal (it is meant for the tracer thread only): they
  // inherit a mask that blocks it.
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &wake, &old);
  std::thread(IoWatcherMain).detach();
  std::thread(IdleWatcherMain).detach();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return true;
}

bool OnTracerThread() {
  static thread_local int is_tracer = -1;  // cached once the tracer is known
  if (is_tracer < 0) {
    if (g_tracer_tid == 0) return false;
    is_tracer = syscall(SYS_gettid) == g_tracer_tid;
  }
  return is_tracer == 1;
}

static void CancelIo() {
  g_io_watching = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_io_cancel_gen.store(g_io_arm_gen);
  }
  uint64_t one = 1;
  ssize_t ignored = write(g_io_nudge_fd, &one, sizeof one);
  (void)ignored;
}

pid_t WaitAny(pid_t pgid, int* status) {
  int t = LoopTimeout();
  if (g_io_watching && uv_now(g_loop) + static_cast<uint64_t>(t) < g_io_deadline) {
    // A syscall handler started an earlier timer since the watcher was armed (a nanosleep,
    // say): re-arm so it fires on time even while other contexts keep the tracer busy.
    CancelIo();
  }
  if (!g_io_watching) ArmIo(t);
  for (;;) {
    g_in_wait.store(true);
    if (g_io_ready.load()) {
      g_in_wait.store(false);
      g_io_ready.store(false);
      g_io_watching = false;
      return 0;
    }
    pid_t r = waitpid(-pgid, status, __WALL);
    g_in_wait.store(false);
    if (r > 0) return r;
    if (errno != EINTR) return -1;
  }
}

void GoIdle(pid_t pgid) {
  if (g_io_watching) CancelIo();
  g_io_ready.store(false);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_idle_pgid = pgid;
    g_idle_arm_gen++;
  }
  g_cv.notify_all();
}

}  // namespace tracer

void InitTracerWait(Napi::Env env, Napi::Object exports) {
  exports.Set("tracerSetIdleCallback", Napi::Function::New(env, tracer::SetIdleCallback));
}

}  // namespace runsc
