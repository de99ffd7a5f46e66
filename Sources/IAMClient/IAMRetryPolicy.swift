import Foundation
package import IAMWire

/// When and how often ``IAMClient`` repeats a call that failed because the server could not take it.
///
/// Only idempotent calls are repeated (``IAMClient/isIdempotent(_:)``: reads, simulations, `Authorize`),
/// and only after UNAVAILABLE: the connection could not be made or was lost, or the server refused the call
/// with GOAWAY because it is shutting down. A write that may have happened is never sent twice; its
/// UNAVAILABLE reaches the caller, who knows whether repeating it is safe.
///
/// The pause before attempt *n* + 1 is drawn uniformly from [d/2, d] with d = min(`maximumBackoff`,
/// `initialBackoff` x `multiplier`^(n-1)) ("equal jitter"), so clients that lost the same server do not
/// come back in step, and each still waits at least half the exponential delay. Every attempt and pause
/// stays inside the call's deadline.
public struct IAMRetryPolicy: Hashable, Sendable {
    /// Attempts in all, the first included (1 disables retries).
    public var maximumAttempts: Int
    /// The pause bound before the second attempt.
    public var initialBackoff: Duration
    /// The largest pause bound.
    public var maximumBackoff: Duration
    /// Growth of the pause bound per attempt.
    public var multiplier: Double

    /// Creates a policy; the defaults (5 attempts, 50 ms doubling up to 2 s) ride out a server restart of a
    /// couple of seconds.
    public init(
        maximumAttempts: Int = 5,
        initialBackoff: Duration = .milliseconds(50),
        maximumBackoff: Duration = .seconds(2),
        multiplier: Double = 2
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.multiplier = max(1, multiplier)
    }

    /// No retries.
    public static let none = IAMRetryPolicy(maximumAttempts: 1)

    /// The pause before attempt `attempt + 1` (`attempt` counts from 1), with `unit` in 0...1 drawing the jitter.
    package func backoff(after attempt: Int, unit: Double) -> Duration {
        let initial = Double(initialBackoff.components.seconds) + Double(initialBackoff.components.attoseconds) / 1e18
        let cap = Double(maximumBackoff.components.seconds) + Double(maximumBackoff.components.attoseconds) / 1e18
        let bound = min(cap, initial * pow(multiplier, Double(max(0, attempt - 1))))
        let seconds = bound / 2 + bound / 2 * min(1, max(0, unit))
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// Whether a failure with `status` of a call with the given idempotency is repeated.
    package static func isRetryable(_ status: StatusCode, idempotent: Bool) -> Bool {
        idempotent && status == .unavailable
    }
}
