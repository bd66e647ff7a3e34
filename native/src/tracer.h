// The tracer's wait: the one blocking call of the ptrace platform, shared by ptrace.cc (which
// owns the tracees) and tracer_wait.cc (which owns the helper threads). Everything here runs on
// the tracer thread (the thread that started the zygote stub), except where noted.
//
//   WaitAny  blocks in waitpid(-pgid, __WALL) until a tracee of process group `pgid` reports,
//            or the I/O watcher thread interrupts it (the loop's backend fd is readable, or the
//            loop's next timer is due) with kWakeSignal.
//   Idle     when no tracee is running the tracer returns to the event loop; the idle watcher
//            thread then peeks (waitid WNOWAIT) for a report of a stopped tracee (killed from
//            outside) and wakes the loop with uv_async_send, which calls the JS idle callback.
#ifndef RUNSC_NATIVE_TRACER_H_
#define RUNSC_NATIVE_TRACER_H_

#include <napi.h>
#include <sys/types.h>

namespace runsc {
namespace tracer {

// Host signal that interrupts the tracer thread's waitpid (installed without SA_RESTART).
constexpr int kWakeSignal = 62;

// Once per process, on the thread that becomes the tracer: installs the wake signal's handler,
// starts the two helper threads and the uv_async handle on this thread's loop. Returns false
// after throwing.
bool Init(Napi::Env env);

// Whether the calling thread is the tracer thread (the one that called Init).
bool OnTracerThread();

// Blocking: the next report of a tracee in process group `pgid` (pid > 0, *status set), or 0
// when woken for the event loop (I/O ready or a timer due), or -1 with errno.
pid_t WaitAny(pid_t pgid, int* status);

// Stops the I/O watcher (the tracer is going back to the event loop with nothing running) and
// arms the idle watcher for process group `pgid`.
void GoIdle(pid_t pgid);

}  // namespace tracer
}  // namespace runsc

#endif  // RUNSC_NATIVE_TRACER_H_
