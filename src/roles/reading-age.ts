/**
 * How old a report's reading was when its datagram left, by the sender's own clock: the
 * envelope's sent-at minus the report's observed-at (both stamped by the sender, so no clock
 * skew between hosts enters). A reading that took long (up to ~20 s with the query timeouts), or a
 * report resent until acked, is as old as that when it arrives. Never negative (a sender's clock
 * stepped between reading and sending).
 *
 * The time in transit is not added: it would compare two hosts' clocks. The post office refuses
 * any datagram whose sent-at is more than `timings.maxClockSkew` off the receiver's clock, which
 * bounds it (docs/safety.md, "Freshness").
 */
export function ageWhenSent(observedAt: number, sentAt: number): number {
  return Math.max(0, sentAt - observedAt);
}
