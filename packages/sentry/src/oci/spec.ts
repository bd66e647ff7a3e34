/**
 * The OCI runtime specification's config.json (runtime-spec 1.2): the types of the parts runsc-ts
 * reads, and a validating parser that turns untrusted JSON into them.
 *
 * A bad config is the user's mistake, so every failure is one line naming the JSON path and what
 * was expected: `config.json: process.args[2]: expected a string, got 42`. Fields we do not use
 * are accepted as the spec allows them (unknown keys are ignored, as runc does).
 */

export const OCI_VERSION = "1.2.0";

export interface User {
  readonly uid: number;
  readonly gid: number;
  readonly umask?: number;
  readonly additionalGids: readonly number[];
}

export interface Capabilities {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly inheritable: readonly string[];
  readonly permitted: readonly string[];
  readonly ambient: readonly string[];
}

export interface Rlimit {
  readonly type: string;
  readonly hard: bigint;
  readonly soft: bigint;
}

export interface Process {
  readonly terminal: boolean;
  readonly consoleSize?: { readonly height: number; readonly width: number };
  readonly user: User;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly capabilities?: Capabilities;
  readonly rlimits: readonly Rlimit[];
  readonly noNewPrivileges: boolean;
  readonly oomScoreAdj?: number;
}

export interface Mount {
  readonly destination: string;
  readonly type?: string;
  readonly source?: string;
  readonly options: readonly string[];
}

export interface Namespace {
  readonly type: string;
  readonly path?: string;
}

export interface IdMapping {
  readonly containerID: number;
  readonly hostID: number;
  readonly size: number;
}

export interface Linux {
  readonly namespaces: readonly Namespace[];
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
  readonly sysctl: Readonly<Record<string, string>>;
  readonly maskedPaths: readonly string[];
  readonly readonlyPaths: readonly string[];
  readonly cgroupsPath?: string;
}

export interface Spec {
  readonly ociVersion: string;
  readonly process?: Process;
  readonly root?: { readonly path: string; readonly readonly: boolean };
  readonly hostname?: string;
  readonly domainname?: string;
  readonly mounts: readonly Mount[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly linux?: Linux;
}

/** Why a config.json was refused: one line, naming the offending path. */
export class SpecError extends Error {
  override readonly name = "SpecError";
}

/** The largest config.json we read (runc's own limit is far above any real spec). */
export const MAX_SPEC_BYTES = 16 << 20;

/** Namespace types the spec defines. */
const NAMESPACE_TYPES = new Set(["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]);

/** Parses and validates config.json text. Returns a SpecError rather than throwing. */
export function parseSpec(text: string | Uint8Array): Spec | SpecError {
  const size = typeof text === "string" ? Buffer.byteLength(text) : text.length;
  if (size > MAX_SPEC_BYTES) return new SpecError(`config.json: ${size} bytes is larger than the limit of ${MAX_SPEC_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(typeof text === "string" ? text : new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch (e) {
    return new SpecError(`config.json: not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return readSpec(new Reader(json, "config.json"));
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
}

/** A cursor over untrusted JSON that knows its path, for error messages. */
class Reader {
  constructor(
    readonly value: unknown,
    readonly path: string,
  ) {}

  fail(expected: string): never {
    throw new SpecError(`${this.path}: expected ${expected}, got ${describe(this.value)}`);
  }

  /** The member `key` of this object (its value may be undefined). */
  get(key: string): Reader {
    const obj = this.object();
    return new Reader(Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined, `${this.path}.${key}`);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  object(): Record<string, unknown> {
    if (typeof this.value !== "object" || this.value === null || Array.isArray(this.value)) this.fail("an object");
    return this.value as Record<string, unknown>;
  }

  string(): string {
    if (typeof this.value !== "string") this.fail("a string");
    return this.value;
  }

  bool(): boolean {
    if (typeof this.value !== "boolean") this.fail("true or false");
    return this.value;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    const v = this.value;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) this.fail(`an integer from ${min} to ${max}`);
    return v;
  }

  /** A uint64 that may exceed 2^53 (rlimits): JSON numbers above that lose precision, so clamp. */
  uint64(): bigint {
    const v = this.value;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) this.fail("a non-negative integer");
    return v >= 2 ** 64 - 1 ? 2n ** 64n - 1n : BigInt(v);
  }

  array<T>(each: (r: Reader) => T): T[] {
    if (!Array.isArray(this.value)) this.fail("an array");
    return (this.value as unknown[]).map((v, i) => each(new Reader(v, `${this.path}[${i}]`)));
  }

  /** A string → string map (annotations, sysctl). */
  stringMap(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.object())) out[k] = new Reader(v, `${this.path}.${k}`).string();
    return out;
  }

  optional<T>(read: (r: Reader) => T): T | undefined {
    return this.present ? read(this) : undefined;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  return String(v);
}

const MAX_ID = 0xffff_ffff;

function readSpec(r: Reader): Spec {
  r.object();
  const ociVersion = r.get("ociVersion").string();
  if (!/^1\.\d+\.\d+/.test(ociVersion)) {
    throw new SpecError(`config.json.ociVersion: runsc-ts implements runtime-spec 1.x, not "${ociVersion}"`);
  }
  const root = r.get("root").optional((x) => ({
    path: x.get("path").string(),
    readonly: x.get("readonly").optional((y) => y.bool()) ?? false,
  }));
  const spec: Spec = {
    ociVersion,
    mounts: r.get("mounts").optional((x) => x.array(readMount)) ?? [],
    annotations: r.get("annotations").optional((x) => x.stringMap()) ?? {},
    ...opt("process", r.get("process").optional(readProcess)),
    ...opt("root", root),
    ...opt("hostname", r.get("hostname").optional((x) => x.string())),
    ...opt("domainname", r.get("domainname").optional((x) => x.string())),
    ...opt("linux", r.get("linux").optional(readLinux)),
  };
  return spec;
}

/** `{ key: value }` when value is defined, else `{}` (exactOptionalPropertyTypes-friendly). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

function readProcess(r: Reader): Process {
  r.object();
  const args = r.get("args").array((x) => x.string());
  if (args.length === 0) r.get("args").fail("a non-empty array of strings");
  const cwd = r.get("cwd").string();
  if (!cwd.startsWith("/")) r.get("cwd").fail("an absolute path");
  const env = r.get("env").optional((x) => x.array((y) => y.string())) ?? [];
  env.forEach((e, i) => {
    if (!e.includes("=")) throw new SpecError(`config.json.process.env[${i}]: expected KEY=VALUE, got "${e}"`);
  });
  const u = r.get("user");
  const user: User = {
    uid: u.get("uid").int(0, MAX_ID),
    gid: u.get("gid").int(0, MAX_ID),
    additionalGids: u.get("additionalGids").optional((x) => x.array((y) => y.int(0, MAX_ID))) ?? [],
    ...opt("umask", u.get("umask").optional((x) => x.int(0, 0o777))),
  };
  const caps = r.get("capabilities").optional((c) => {
    const set = (name: string) => c.get(name).optional((x) => x.array(readCapability)) ?? [];
    return {
      bounding: set("bounding"),
      effective: set("effective"),
      inheritable: set("inheritable"),
      permitted: set("permitted"),
      ambient: set("ambient"),
    };
  });
  const rlimits =
    r.get("rlimits").optional((x) =>
      x.array((l) => {
        const type = l.get("type").string();
        if (!/^RLIMIT_[A-Z]+$/.test(type)) l.get("type").fail("an RLIMIT_* name");
        const hard = l.get("hard").uint64();
        const soft = l.get("soft").uint64();
        if (soft > hard) throw new SpecError(`${l.path}: soft limit ${soft} is above the hard limit ${hard}`);
        return { type, hard, soft };
      }),
    ) ?? [];
  return {
    terminal: r.get("terminal").optional((x) => x.bool()) ?? false,
    user,
    args,
    env,
    cwd,
    rlimits,
    noNewPrivileges: r.get("noNewPrivileges").optional((x) => x.bool()) ?? false,
    ...opt(
      "consoleSize",
      r.get("consoleSize").optional((x) => ({ height: x.get("height").int(0, 0xffff), width: x.get("width").int(0, 0xffff) })),
    ),
    ...opt("capabilities", caps),
    ...opt("oomScoreAdj", r.get("oomScoreAdj").optional((x) => x.int(-1000, 1000))),
  };
}

function readCapability(r: Reader): string {
  const s = r.string();
  if (!/^CAP_[A-Z_]+$/.test(s)) r.fail("a capability name like CAP_KILL");
  return s;
}

function readMount(r: Reader): Mount {
  r.object();
  const destination = r.get("destination").string();
  if (!destination.startsWith("/")) r.get("destination").fail("an absolute path");
  return {
    destination,
    options: r.get("options").optional((x) => x.array((y) => y.string())) ?? [],
    ...opt("type", r.get("type").optional((x) => x.string())),
    ...opt("source", r.get("source").optional((x) => x.string())),
  };
}

function readLinux(r: Reader): Linux {
  r.object();
  const idMap = (x: Reader) =>
    x.array((m) => ({
      containerID: m.get("containerID").int(0, MAX_ID),
      hostID: m.get("hostID").int(0, MAX_ID),
      size: m.get("size").int(1, MAX_ID),
    }));
  const namespaces =
    r.get("namespaces").optional((x) =>
      x.array((n) => {
        const type = n.get("type").string();
        if (!NAMESPACE_TYPES.has(type)) n.get("type").fail(`one of ${[...NAMESPACE_TYPES].join(", ")}`);
        return { type, ...opt("path", n.get("path").optional((p) => p.string())) };
      }),
    ) ?? [];
  const strings = (key: string) => r.get(key).optional((x) => x.array((y) => y.string())) ?? [];
  return {
    namespaces,
    uidMappings: r.get("uidMappings").optional(idMap) ?? [],
    gidMappings: r.get("gidMappings").optional(idMap) ?? [],
    sysctl: r.get("sysctl").optional((x) => x.stringMap()) ?? {},
    maskedPaths: strings("maskedPaths"),
    readonlyPaths: strings("readonlyPaths"),
    ...opt("cgroupsPath", r.get("cgroupsPath").optional((x) => x.string())),
  };
}

/**
 * The template `runsc-ts spec` writes: the same defaults runc's `spec` gives (an interactive
 * `sh` as root in `rootfs`, the usual mounts, the namespaces, and the default capability set),
 * so that bundles made for runc work unchanged.
 */
export function defaultSpecJson(options: { rootless: boolean }): Record<string, unknown> {
  const caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
  const namespaces = [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }];
  const mounts: Array<Record<string, unknown>> = [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(options.rootless ? [] : ["gid=5"])] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    options.rootless
      ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] }
      : { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
  ];
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runsc-ts",
    mounts,
    linux: {
      ...(options.rootless
        ? {
            uidMappings: [{ containerID: 0, hostID: process.getuid?.() ?? 0, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: process.getgid?.() ?? 0, size: 1 }],
          }
        : { resources: { devices: [{ allow: false, access: "rwm" }] } }),
      namespaces: options.rootless ? [...namespaces.filter((n) => n.type !== "network"), { type: "user" }] : namespaces,
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}
