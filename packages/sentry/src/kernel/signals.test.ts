import { SIGALRM, SIGCHLD, SIGCONT, SIGINT, SIGKILL, SIGRTMIN, SIGSEGV, SIGSTOP, SIGTERM, SIGUSR1, SI_USER } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { PendingSignals, SIG_IGN, SignalHandlers, decodeSigAction, defaultAction, encodeSigAction, killInfo, rawInfo, sigBit } from "./signals.js";

describe("pending signals", () => {
  it("keeps one instance of a standard signal and queues real-time ones in order", () => {
    const p = new PendingSignals();
    expect(p.enqueue(killInfo(SIGUSR1, 5, 0))).toBe(true);
    expect(p.enqueue(killInfo(SIGUSR1, 6, 0))).toBe(false);
    for (const pid of [1, 2, 3]) expect(p.enqueue(killInfo(SIGRTMIN + 2, pid, 0))).toBe(true);
    expect(p.set).toBe(sigBit(SIGUSR1) | sigBit(SIGRTMIN + 2));
    const pids: number[] = [];
    for (let s = p.peek(~0n); s !== undefined; s = p.peek(~0n)) {
      const info = p.take(s);
      pids.push(new DataView(info!.bytes.buffer).getInt32(16, true));
    }
    expect(pids).toEqual([5, 1, 2, 3]);
    expect(p.empty).toBe(true);
  });

  it("delivers faults before lower-numbered signals, and only what the mask allows", () => {
    const p = new PendingSignals();
    p.enqueue(killInfo(SIGINT, 1, 0));
    p.enqueue(killInfo(SIGSEGV, 1, 0));
    p.enqueue(killInfo(SIGTERM, 1, 0));
    expect(p.peek(~0n)).toBe(SIGSEGV);
    expect(p.peek(~sigBit(SIGSEGV))).toBe(SIGINT);
    expect(p.peek(sigBit(SIGTERM))).toBe(SIGTERM);
    expect(p.peek(sigBit(SIGUSR1))).toBeUndefined();
    p.discard(sigBit(SIGSEGV) | sigBit(SIGINT));
    expect(p.set).toBe(sigBit(SIGTERM));
  });

  it("recognises a queued siginfo by identity (a timer's last expiry)", () => {
    const p = new PendingSignals();
    const info = killInfo(SIGALRM, 0, 0);
    p.enqueue(info);
    expect(p.contains(info)).toBe(true);
    expect(p.contains(killInfo(SIGALRM, 0, 0))).toBe(false);
    p.take(SIGALRM);
    expect(p.contains(info)).toBe(false);
  });
});

describe("dispositions", () => {
  it("follows signal(7)'s default actions", () => {
    expect([SIGTERM, SIGKILL, SIGSEGV, SIGSTOP, SIGCHLD, SIGCONT, SIGRTMIN].map(defaultAction)).toEqual(["terminate", "terminate", "core", "stop", "ignore", "continue", "terminate"]);
  });

  it("round-trips struct sigaction and resets caught signals on exec, keeping ignored ones", () => {
    const h = new SignalHandlers();
    const act = { handler: 0x401000n, flags: 0x1400_0004, restorer: 0x402000n, mask: sigBit(SIGINT) };
    expect(decodeSigAction(encodeSigAction(act))).toEqual(act);
    h.set(SIGUSR1, act);
    h.set(SIGINT, { ...act, handler: SIG_IGN });
    const copy = h.copy();
    copy.resetForExec();
    expect(copy.get(SIGUSR1).handler).toBe(0n);
    expect(copy.get(SIGINT).handler).toBe(SIG_IGN);
    expect(h.get(SIGUSR1)).toEqual(act);
    expect(h.ignores(SIGINT) && h.ignores(SIGCHLD) && !h.ignores(SIGUSR1)).toBe(true);
  });

  it("takes a raw siginfo (rt_sigqueueinfo, faults) but forces si_signo, and never reads past 128 bytes", () => {
    const raw = new Uint8Array(200).fill(0xff);
    const info = rawInfo(SIGUSR1, raw);
    expect(info.bytes.length).toBe(128);
    expect(new DataView(info.bytes.buffer).getInt32(0, true)).toBe(SIGUSR1);
    expect(info.code).toBe(-1);
    expect(rawInfo(SIGUSR1, new Uint8Array(3)).code).toBe(0);
    expect(killInfo(SIGUSR1, 7, 1000).code).toBe(SI_USER);
  });
});
