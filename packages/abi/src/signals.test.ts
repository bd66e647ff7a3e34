import { describe, expect, it } from "vitest";
import * as abi from "./index.js";
import { SIGABRT, SIGCHLD, SIGIO, SIGIOT, SIGPOLL, SIGRTMAX, SIGRTMIN, SIGSYS, signalName, signalNumber } from "./index.js";
import { cIntegers } from "./test-cc.js";

describe("signals", () => {
  it("agree with the C library's <signal.h>, with the kernel's SIGRTMIN and SIGRTMAX", () => {
    const names = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
      "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
      "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
      "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
      "SA_NOCLDSTOP", "SA_NOCLDWAIT", "SA_SIGINFO", "SA_ONSTACK", "SA_RESTART", "SA_NODEFER",
      "SA_RESETHAND", "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK", "SS_ONSTACK", "SS_DISABLE",
      "SI_USER", "SI_KERNEL", "SI_QUEUE", "SI_TIMER", "SI_TKILL", "CLD_EXITED", "CLD_KILLED",
      "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED", "SEGV_MAPERR", "SEGV_ACCERR",
      "BUS_ADRALN", "TRAP_BRKPT", "ILL_ILLOPC", "FPE_INTDIV", "POLL_IN",
      "SIGEV_SIGNAL", "SIGEV_THREAD_ID"];
    const c = cIntegers(["signal.h"], {
      ...Object.fromEntries(names.map((n) => [n, n])),
      SIGRTMIN: "__SIGRTMIN",
      SIGRTMAX: "__SIGRTMAX",
      SIG_DFL: "(long)SIG_DFL",
      SIG_IGN: "(long)SIG_IGN",
      SIG_ERR: "(long)SIG_ERR",
    });
    const ours = abi as unknown as Record<string, unknown>;
    for (const [name, v] of c) expect(`${name}=${String(ours[name])}`).toBe(`${name}=${v}`);
    expect(SIGRTMIN).toBe(32);
    expect(SIGRTMAX).toBe(64);
  });

  it("names signals by the header's first name, and real-time signals relative to SIGRTMIN", () => {
    expect(signalName(SIGCHLD)).toBe("SIGCHLD");
    expect(SIGIOT).toBe(SIGABRT);
    expect(signalName(6)).toBe("SIGABRT");
    expect(SIGPOLL).toBe(SIGIO);
    expect(signalName(29)).toBe("SIGIO");
    expect(signalName(SIGSYS)).toBe("SIGSYS");
    expect(signalName(32)).toBe("SIGRTMIN");
    expect(signalName(34)).toBe("SIGRTMIN+2");
    expect(signalName(64)).toBe("SIGRTMAX");
  });

  it("returns undefined for numbers that are not signals", () => {
    for (const n of [0, -1, 65, 1.5, Number.NaN]) expect(signalName(n)).toBeUndefined();
    expect(signalNumber("SIGFOO")).toBeUndefined();
    expect(signalNumber("SIGRTMIN+32")).toBeUndefined();
  });

  it("maps every signal name back to its number", () => {
    for (let n = 1; n <= 64; n++) {
      const name = signalName(n);
      expect(name).toBeDefined();
      expect(signalNumber(name ?? "")).toBe(n);
    }
  });
});
