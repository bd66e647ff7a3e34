# Interfaces for tests and benchmarks of the RPC engine and transport (not used by the runtime).
@0xfa6290386b6880a4;

interface TestFd {}

interface Echo {
  # Returns its argument.
  echo @0 (value :UInt64) -> (value :UInt64);
  # Returns the bytes it was given.
  echoData @1 (data :Data) -> (data :Data);
  # Returns a new counter capability starting at `start`.
  newCounter @2 (start :UInt32) -> (counter :Counter);
  # Throws with `message`.
  fail @3 (message :Text) -> ();
  # Donates `count` FDs: each an open file whose content is its index as text.
  openFds @4 (count :UInt32) -> (fds :List(TestFd));
  # Reads the file behind `fd` (a donated FD) and returns its content.
  readFd @5 (fd :TestFd) -> (content :Text);
  # Resolves after `ms` milliseconds with `value`.
  delayed @6 (ms :UInt32, value :UInt32) -> (value :UInt32);
  # Calls `counter.increment` (a capability the caller passes back).
  bump @7 (counter :Counter) -> (value :UInt32);
  # Returns a single FD (or null when `none`).
  openFd @8 (none :Bool) -> (fd :TestFd);
}

interface Counter {
  increment @0 () -> (value :UInt32);
  get @1 () -> (value :UInt32);
}

interface Bench {
  # The cheapest call: no params, no results.
  null @0 () -> ();
  # Returns the bytes it was given (payload round trip).
  echoData @1 (data :Data) -> (data :Data);
}
