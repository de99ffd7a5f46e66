import Foundation
import Histogram
import IAMWire

/// Latency percentiles in microseconds.
struct Percentiles: Codable, Sendable {
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var p9999: Double
    var max: Double
    var mean: Double

    init(_ histogram: Histogram<UInt64>) {
        func micros(_ percentile: Double) -> Double {
            histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
        }
        self.p50 = micros(50)
        self.p90 = micros(90)
        self.p99 = micros(99)
        self.p999 = micros(99.9)
        self.p9999 = micros(99.99)
        self.max = histogram.totalCount == 0 ? 0 : Double(histogram.max) / 1000
        self.mean = histogram.totalCount == 0 ? 0 : histogram.mean / 1000
    }
}

/// What `--json` writes: the run's settings, its measured window and its second-by-second timeline.
struct Report: Codable, Sendable {
    struct Settings: Codable, Sendable {
        var scenario: String
        var mix: String?
        var endpoint: String
        var connections: Int
        var inFlight: Int
        /// Open loop's target calls per second; nil in closed loop.
        var rate: Double?
        var compression: Bool
        var durationSeconds: Int
        var warmupSeconds: Int
        var batch: Int?
        var payloadBytes: Int?
        var principals: Int
    }

    struct OperationReport: Codable, Sendable {
        var calls: Int
        var errors: Int
        var latencyMicros: Percentiles
    }

    struct CPU: Codable, Sendable {
        var clientMicrosPerCall: Double?
        var serverMicrosPerCall: Double?
        var clientMicros: Int
        var serverMicros: Int?
    }

    /// One second of the run (warm-up included and marked), for the throughput-over-time chart.
    struct Second: Codable, Sendable {
        var second: Int
        var warmup: Bool
        var calls: Int
        var errors: Int
        var p50Micros: Double
        var p99Micros: Double
    }

    /// One point of the percentile distribution (HdrHistogram's plot: percentile against latency).
    struct PercentilePoint: Codable, Sendable {
        var percentile: Double
        var micros: Double
    }

    var tool = "iam-loadtest"
    var startedAt: String
    var settings: Settings
    var calls: Int
    var seconds: Double
    var callsPerSecond: Double
    /// Authorization checks per second (AuthorizeBatch carries `batch` checks per call).
    var checksPerSecond: Double?
    var latencyMicros: Percentiles
    /// Failed calls of the measured window by status name (`UNAVAILABLE`, ...).
    var errors: [String: Int]
    var operations: [String: OperationReport]
    var cpu: CPU
    var timeline: [Second]
    var percentiles: [PercentilePoint]
    var firstError: String?

    /// HdrHistogram's percentile ladder: ever finer steps towards 100%, up to the last recorded call.
    static func percentileLadder(_ histogram: Histogram<UInt64>) -> [PercentilePoint] {
        guard histogram.totalCount > 0 else { return [] }
        var points: [PercentilePoint] = []
        // x = log10(1 / (1 - p)): 0 at 0%, 1 at 90%, 2 at 99%, ...; stop where one call is left.
        let last = log10(Double(histogram.totalCount))
        var rungs: [Double] = []
        var x = 0.0
        while x <= last {
            rungs.append(100 * (1 - pow(10, -x)))
            x += 0.05
        }
        // The summary's percentiles are rungs too, so the curve passes through the marks drawn on it.
        rungs += [50, 90, 99, 99.9, 99.99].filter { log10(1 / (1 - $0 / 100)) <= last }
        for percentile in rungs.sorted() {
            points.append(
                PercentilePoint(
                    percentile: percentile, micros: Double(histogram.valueAtPercentile(percentile)) / 1000))
        }
        points.append(PercentilePoint(percentile: 100, micros: Double(histogram.max) / 1000))
        return points
    }

    static func statusName(_ raw: Int) -> String {
        raw <= 16 ? "\(StatusCode.allCases[raw])" : "CLIENT_ERROR"
    }

    /// The human summary on standard output, in today's `key=value` lines (scripts grep them).
    func textSummary() -> String {
        var lines: [String] = []
        let settings = self.settings
        var head =
            "workload=\(settings.scenario) connections=\(settings.connections) in_flight=\(settings.inFlight) payload=\(settings.payloadBytes ?? 0) compression=\(settings.compression ? "on" : "off")"
        if let batch = settings.batch { head += " batch=\(batch)" }
        if let rate = settings.rate { head += String(format: " rate=%.0f", rate) }
        if let mix = settings.mix { head += " mix=\(mix)" }
        lines.append(head)
        let errorCount = self.errors.values.reduce(0, +)
        lines.append(
            String(
                format: "calls=%d errors=%d seconds=%.2f calls_per_s=%.0f", self.calls, errorCount, self.seconds,
                self.callsPerSecond))
        let latency = self.latencyMicros
        lines.append(
            String(
                format: "latency_us p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f p99.99=%.1f max=%.1f", latency.p50,
                latency.p90, latency.p99, latency.p999, latency.p9999, latency.max))
        if !self.errors.isEmpty {
            lines.append(
                "errors_by_status "
                    + self.errors.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(
                        separator: " "))
        }
        if let server = self.cpu.serverMicrosPerCall {
            lines.append(String(format: "server_cpu_us_per_call=%.2f", server))
        }
        if let client = self.cpu.clientMicrosPerCall {
            lines.append(String(format: "client_cpu_us_per_call=%.2f", client))
        }
        if let checks = self.checksPerSecond, let batch = settings.batch {
            lines.append(String(format: "checks_per_s=%.0f", checks))
            if let server = self.cpu.serverMicrosPerCall {
                lines.append(String(format: "server_cpu_us_per_check=%.3f", server / Double(batch)))
            }
        }
        if self.operations.count > 1 {
            for (name, operation) in self.operations.sorted(by: { $0.key < $1.key }) {
                lines.append(
                    "operation \(name) "
                        + String(
                            format: "calls:%d errors:%d p50_us:%.1f p99_us:%.1f", operation.calls, operation.errors,
                            operation.latencyMicros.p50, operation.latencyMicros.p99))
            }
        }
        if let firstError = self.firstError { lines.append("first_error=\(firstError)") }
        return lines.joined(separator: "\n")
    }
}
