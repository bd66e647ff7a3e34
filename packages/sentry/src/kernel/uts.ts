/** The UTS namespace: the names uname(2) reports and sethostname(2) changes. */
export class UtsNamespace {
  constructor(
    public hostname = "runsc-ts",
    public domainname = "(none)",
  ) {}
}

/** What the sandbox says it is. The release matches what gVisor reports for compatibility. */
export const UNAME = {
  sysname: "Linux",
  release: "4.4.0",
  version: "#1 SMP Sun Jan 10 15:06:54 PST 2016",
  machine: "x86_64",
} as const;
