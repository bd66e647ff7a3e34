import { describe, expect, it } from "vitest";
import { TextLineStream, formatTextRecord } from "./log-text.js";

describe("formatTextRecord", () => {
  it("prints time, padded level, component, message, then key=value pairs", () => {
    const line = formatTextRecord({
      level: "info", time: "2026-11-29T13:00:00.123Z", pid: 42, hostname: "h", component: "gofer", msg: "opened", path: "/etc/hosts", fd: 7,
    });
    expect(line).toBe("2026-11-29T13:00:00.123Z INFO  gofer: opened path=/etc/hosts fd=7\n");
  });

  it("pads every level to the same width", () => {
    const at = (level: string): string => formatTextRecord({ level, time: "T", msg: "m" });
    expect([at("debug"), at("info"), at("warn"), at("error"), at("fatal"), at("trace")]).toEqual([
      "T DEBUG m\n", "T INFO  m\n", "T WARN  m\n", "T ERROR m\n", "T FATAL m\n", "T TRACE m\n",
    ]);
  });

  it("quotes values that would break the line apart", () => {
    const line = formatTextRecord({ level: "info", time: "T", msg: "m", a: "two words", b: "", c: 'q"uote', d: "k=v", e: null, f: true });
    expect(line).toBe('T INFO  m a="two words" b="" c="q\\"uote" d="k=v" e=null f=true\n');
  });

  it("prints objects as JSON and keeps multi-line messages on one line", () => {
    const line = formatTextRecord({ level: "warn", time: "T", msg: "first\nsecond", argv: ["state", "c1"], o: { k: 1 } });
    expect(line).toBe('T WARN  first\\nsecond argv=["state","c1"] o={"k":1}\n');
  });

  it("prints an error's message and its stack on the same line", () => {
    const line = formatTextRecord({
      level: "error", time: "T", msg: "failed", err: { type: "Error", message: "no such file", stack: "Error: no such file\n    at f (x.js:1:1)" },
    });
    expect(line).toBe('T ERROR failed err="no such file" stack="Error: no such file\\n    at f (x.js:1:1)"\n');
  });

  it("formats an epoch-millisecond time as RFC 3339", () => {
    expect(formatTextRecord({ level: "info", time: 0, msg: "m" })).toBe("1970-01-01T00:00:00.000Z INFO  m\n");
  });
});

describe("TextLineStream", () => {
  it("rewrites each JSON record as a text line", () => {
    const written: string[] = [];
    const stream = new TextLineStream({ write: (line) => written.push(line) });
    stream.write('{"level":"info","time":"T","component":"sentry","msg":"booted","tasks":1}\n');
    expect(written).toEqual(["T INFO  sentry: booted tasks=1\n"]);
  });

  it("passes through what is not a JSON object rather than lose it", () => {
    const written: string[] = [];
    const stream = new TextLineStream({ write: (line) => written.push(line) });
    stream.write("not json\n");
    stream.write("[1]\n");
    expect(written).toEqual(["not json\n", "[1]\n"]);
  });
});
