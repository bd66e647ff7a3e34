#!/usr/bin/python3
"""The gofer tasks' system calls in an `strace -f` log (see gofer-syscalls.sh)."""
import re, sys, collections
line_re = re.compile(r'^(\d+) +(?:<\.\.\. )?([a-z0-9_]+)[( ]')
clone_re = re.compile(r'^(\d+) +(?:clone|clone3)\((.*)\) += (\d+)')
resumed_clone_re = re.compile(r'^(\d+) +<\.\.\. (?:clone|clone3) resumed>(.*)\) += (\d+)')
gofer = set()
counts = collections.Counter()
pending = {}
for line in open(sys.argv[1], errors="replace"):
    m = line_re.match(line)
    if not m:
        continue
    tid, name = int(m.group(1)), m.group(2)
    if name == "execve" and "--pivot-helper" in line:
        gofer.add(tid)  # the serving stage starts here (a failed exec would fail the suites)
        continue
    if "<unfinished ...>" in line and name in ("clone", "clone3"):
        pending[tid] = line
    c = clone_re.match(line) or resumed_clone_re.match(line)
    if c and tid in gofer:
        text = (pending.pop(tid, "") + line)
        if "CLONE_THREAD" in text:
            gofer.add(int(c.group(3)))
    if tid in gofer and name not in ("exited", "killed"):
        if line.startswith(f"{tid} <... "):
            continue  # the second half of a call already counted
        counts[name] += 1
for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
    print(f"{n:10d} {name}")
print(f"{len(counts)} system calls from {len(gofer)} gofer tasks", file=sys.stderr)
