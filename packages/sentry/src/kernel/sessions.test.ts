import { EINVAL, EPERM, ESRCH } from "@runsc-ts/abi";
import { describe, expect, it } from "vitest";
import { Sessions } from "./sessions.js";
import { ThreadGroup } from "./thread-group.js";

/** init (1) with children 2 and 3, all placed as fork would place them. */
function family() {
  const s = new Sessions();
  const init = new ThreadGroup(1, undefined);
  const a = new ThreadGroup(2, init);
  const b = new ThreadGroup(3, init);
  for (const tg of [init, a, b]) s.join(tg);
  return { s, init, a, b };
}

const ids = (tg: ThreadGroup) => [tg.processGroup?.pgid, tg.processGroup?.session.sid];

describe("sessions and process groups", () => {
  it("the first process leads a new session; children inherit their parent's group", () => {
    const { init, a } = family();
    expect(ids(init)).toEqual([1, 1]);
    expect(ids(a)).toEqual([1, 1]);
  });

  it("setpgid makes and joins groups within the caller's session", () => {
    const { s, init, a, b } = family();
    expect(s.setpgid(init, a, 0)).toBe(0);
    expect(ids(a)).toEqual([2, 1]);
    expect(s.setpgid(init, b, 2)).toBe(0); // join an existing group of the session
    expect(ids(b)).toEqual([2, 1]);
    expect(s.setpgid(init, b, 7)).toBe(EPERM); // no such group, and not b's own id
    expect(s.setpgid(init, init, 0)).toBe(EPERM); // a session leader stays put
    expect(s.setpgid(a, b, 0)).toBe(ESRCH); // b is not a's child
    expect(s.setpgid(init, a, -1)).toBe(EINVAL);
  });

  it("setsid: EPERM for a group leader; otherwise a new session, out of reach of setpgid", () => {
    const { s, init, a, b } = family();
    expect(s.setsid(init)).toBe(EPERM);
    expect(s.setsid(a)).toBe(2);
    expect(ids(a)).toEqual([2, 2]);
    expect(s.setsid(a)).toBe(EPERM);
    expect(s.setpgid(init, a, 0)).toBe(EPERM); // another session
    expect(s.setpgid(init, b, 2)).toBe(EPERM); // group 2 is in another session
  });

  it("ids stay reserved while their group or session lives, and free when the last member leaves", () => {
    const { s, init, a } = family();
    expect(s.setpgid(init, a, 0)).toBe(0);
    s.leave(init);
    expect(s.inUse(1)).toBe(true); // child 3 keeps group 1 and session 1
    s.leave(a);
    expect(s.inUse(2)).toBe(false);
    expect(a.processGroup).toBeUndefined();
  });
});
