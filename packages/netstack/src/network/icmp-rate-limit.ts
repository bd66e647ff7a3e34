/**
 * The ICMP error rate limit (Linux's icmp_ratelimit / icmp_ratemask, one bucket per stack
 * and protocol): a token bucket of `icmpErrorBurst` tokens refilled at `icmpErrorsPerSecond`.
 * ICMPv4 and ICMPv6 each own one, configured from the stack's ICMP settings.
 */
import type { Stack } from "../stack/stack.js";

export class IcmpRateLimiter {
  private tokens: number;
  private lastRefill: number;

  constructor(private readonly stack: Stack) {
    this.tokens = stack.config.ipv4.icmpErrorBurst;
    this.lastRefill = stack.clock.nowMs();
  }

  /** Takes a token if one is there: whether an error may be sent now. */
  take(): boolean {
    const cfg = this.stack.config.ipv4;
    const now = this.stack.clock.nowMs();
    this.tokens = Math.min(cfg.icmpErrorBurst, this.tokens + ((now - this.lastRefill) * cfg.icmpErrorsPerSecond) / 1000);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
