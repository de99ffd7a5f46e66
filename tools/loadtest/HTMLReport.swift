import Foundation

/// One self-contained HTML page (no script, no external file): summary, HdrHistogram-style latency by
/// percentile on a log axis, and throughput with p99 over time.
enum HTMLReport {
    static func render(_ report: Report) -> String {
        let settings = report.settings
        let errorCount = report.errors.values.reduce(0, +)
        var loop =
            settings.rate.map {
                String(format: "open loop at %.0f calls/s (max %d in flight per connection)", $0, settings.inFlight)
            }
            ?? "closed loop, \(settings.inFlight) in flight per connection"
        loop += ", \(settings.connections) connection\(settings.connections == 1 ? "" : "s")"
        var cards: [(String, String)] = [
            ("calls/s", number(report.callsPerSecond)),
            ("calls", "\(report.calls)"),
            ("p50", micros(report.latencyMicros.p50)),
            ("p99", micros(report.latencyMicros.p99)),
            ("p99.9", micros(report.latencyMicros.p999)),
            ("max", micros(report.latencyMicros.max)),
            ("errors", "\(errorCount)"),
        ]
        if let checks = report.checksPerSecond { cards.insert(("checks/s", number(checks)), at: 1) }
        if let client = report.cpu.clientMicrosPerCall { cards.append(("client CPU/call", micros(client))) }
        if let server = report.cpu.serverMicrosPerCall { cards.append(("server CPU/call", micros(server))) }

        var body = """
            <h1>iam-loadtest: \(escape(settings.scenario))\(settings.mix.map { " (" + escape($0) + ")" } ?? "")</h1>
            <p class="sub">\(escape(settings.endpoint)) · \(escape(loop)) · compression \(settings.compression ? "on" : "off") · \(settings.warmupSeconds) s warm-up + \(settings.durationSeconds) s measured\(settings.principals > 0 ? " · \(settings.principals) principals" : "")\(settings.batch.map { " · \($0) checks per call" } ?? "") · started \(escape(report.startedAt))</p>
            <div class="cards">\(cards.map { "<div class=\"card\"><div class=\"v\">\(escape($0.1))</div><div class=\"k\">\(escape($0.0))</div></div>" }.joined())</div>
            <h2>Latency by percentile</h2>
            \(percentilePlot(report.percentiles, marks: report.latencyMicros))
            <h2>Throughput and p99 over time</h2>
            \(timelinePlot(report.timeline))
            <div class="tables">
            """
        let latency = report.latencyMicros
        body += table(
            "Latency (µs)", ["percentile", "µs"],
            [
                ["50", fixed(latency.p50)], ["90", fixed(latency.p90)], ["99", fixed(latency.p99)],
                ["99.9", fixed(latency.p999)], ["99.99", fixed(latency.p9999)], ["max", fixed(latency.max)],
                ["mean", fixed(latency.mean)],
            ])
        if report.operations.count > 1 {
            body += table(
                "Operations", ["operation", "calls", "errors", "p50 µs", "p99 µs"],
                report.operations.sorted { $0.key < $1.key }.map {
                    [
                        $0.key, "\($0.value.calls)", "\($0.value.errors)", fixed($0.value.latencyMicros.p50),
                        fixed($0.value.latencyMicros.p99),
                    ]
                })
        }
        body += table(
            "Errors by status", ["status", "calls"],
            report.errors.isEmpty
                ? [["none", "0"]] : report.errors.sorted { $0.key < $1.key }.map { [$0.key, "\($0.value)"] })
        body += "</div>"
        if let first = report.firstError { body += "<p class=\"sub\">first error: \(escape(first))</p>" }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>iam-loadtest \(escape(settings.scenario))</title>
            <style>
            body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2933;margin:24px auto;max-width:960px;padding:0 16px}
            h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:26px 0 8px} .sub{color:#616e7c;margin:0 0 14px}
            .cards{display:flex;flex-wrap:wrap;gap:10px} .card{border:1px solid #e4e7eb;border-radius:8px;padding:8px 14px;min-width:92px}
            .card .v{font-size:19px;font-weight:600} .card .k{color:#616e7c;font-size:12px}
            svg{display:block;background:#fff;border:1px solid #e4e7eb;border-radius:8px}
            svg text{font:11px -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;fill:#52606d}
            .tables{display:flex;flex-wrap:wrap;align-items:flex-start;gap:28px;margin-top:10px} table{border-collapse:collapse}
            th,td{padding:3px 10px;border-bottom:1px solid #e4e7eb;text-align:right} th:first-child,td:first-child{text-align:left}
            th{color:#616e7c;font-weight:600} caption{text-align:left;font-weight:600;padding-bottom:4px}
            </style></head><body>
            \(body)
            </body></html>

            """
    }

    // MARK: Plots

    static let width = 920.0
    static let height = 330.0
    static let left = 70.0
    static let right = 60.0
    static let top = 18.0
    static let bottom = 42.0

    /// Latency against percentile, x = log10(1 / (1 - p)) as HdrHistogram's plotter draws it, so the tail
    /// gets as much room as the median.
    static func percentilePlot(_ points: [Report.PercentilePoint], marks: Percentiles) -> String {
        guard let last = points.last else { return "<p class=\"sub\">no calls completed</p>" }
        func x(_ percentile: Double) -> Double { percentile >= 100 ? .infinity : log10(1 / (1 - percentile / 100)) }
        let finite = points.map { x($0.percentile) }.filter(\.isFinite)
        let decades = max(2, Int((finite.max() ?? 2).rounded(.up)))
        let yMax = niceMax(last.micros)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func px(_ value: Double) -> Double { left + min(value, Double(decades)) / Double(decades) * plotWidth }
        func py(_ value: Double) -> Double { top + plotHeight - value / yMax * plotHeight }
        var svg =
            "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for tick in ticks(yMax) {
            svg += line(left, py(tick), width - right, py(tick), "#eef0f2")
            svg += text(left - 8, py(tick) + 4, micros(tick), anchor: "end")
        }
        let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%"]
        for decade in 0...decades {
            svg += line(px(Double(decade)), top, px(Double(decade)), top + plotHeight, "#eef0f2")
            svg += text(
                px(Double(decade)), top + plotHeight + 16, labels[min(decade, labels.count - 1)], anchor: "middle")
        }
        svg += text(left + plotWidth / 2, height - 6, "percentile (log scale of 1 / (1 − p))", anchor: "middle")
        svg +=
            "<text transform=\"translate(14,\(fixed(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">latency</text>"
        var path = ""
        for point in points {
            let value = x(point.percentile)
            let xPosition = value.isFinite ? px(value) : px(Double(decades))
            path += (path.isEmpty ? "M" : "L") + "\(fixed(xPosition)),\(fixed(py(point.micros)))"
        }
        svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2.2\" stroke-linejoin=\"round\"/>"
        // The marks are the report's exact percentiles, not the nearest rung of the ladder.
        let marked = [
            ("p50", 50.0, marks.p50), ("p90", 90, marks.p90), ("p99", 99, marks.p99), ("p99.9", 99.9, marks.p999),
            ("p99.99", 99.99, marks.p9999),
        ]
        for (label, percentile, value) in marked where x(percentile) <= (finite.max() ?? 0) + 1e-9 {
            let cx = px(x(percentile))
            let cy = py(value)
            svg += "<circle cx=\"\(fixed(cx))\" cy=\"\(fixed(cy))\" r=\"3.5\" fill=\"#2563eb\"/>"
            svg += text(cx - 6, cy - 8, "\(label) \(micros(value))", anchor: "end", color: "#1e3a8a")
        }
        svg +=
            line(left, top, left, top + plotHeight, "#9aa5b1")
            + line(left, top + plotHeight, width - right, top + plotHeight, "#9aa5b1")
        return svg + "</svg>"
    }

    /// Calls per second as bars (warm-up in grey), p99 of each second as a line on the right-hand axis.
    static func timelinePlot(_ seconds: [Report.Second]) -> String {
        guard !seconds.isEmpty else { return "<p class=\"sub\">no samples</p>" }
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let rateMax = niceMax(Double(seconds.map(\.calls).max() ?? 1))
        let p99Max = niceMax(seconds.map(\.p99Micros).max() ?? 1)
        let slot = plotWidth / Double(seconds.count)
        func py(_ value: Double, _ maximum: Double) -> Double { top + plotHeight - value / maximum * plotHeight }
        var svg =
            "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for tick in ticks(rateMax) {
            svg += line(left, py(tick, rateMax), width - right, py(tick, rateMax), "#eef0f2")
            svg += text(left - 8, py(tick, rateMax) + 4, number(tick), anchor: "end")
        }
        for tick in ticks(p99Max) {
            svg += text(width - right + 8, py(tick, p99Max) + 4, micros(tick), anchor: "start", color: "#b45309")
        }
        for (index, second) in seconds.enumerated() {
            let barHeight = Double(second.calls) / rateMax * plotHeight
            let x = left + Double(index) * slot + slot * 0.12
            svg +=
                "<rect x=\"\(fixed(x))\" y=\"\(fixed(top + plotHeight - barHeight))\" width=\"\(fixed(slot * 0.76))\" height=\"\(fixed(barHeight))\" fill=\"\(second.warmup ? "#cbd2d9" : "#60a5fa")\"><title>\(second.second) s: \(second.calls) calls, \(second.errors) errors</title></rect>"
            if second.errors > 0 {
                let errorHeight = Double(second.errors) / rateMax * plotHeight
                svg +=
                    "<rect x=\"\(fixed(x))\" y=\"\(fixed(top + plotHeight - errorHeight))\" width=\"\(fixed(slot * 0.76))\" height=\"\(fixed(max(errorHeight, 2)))\" fill=\"#dc2626\"/>"
            }
            let step = max(1, seconds.count / 15)
            if index % step == 0 || index == seconds.count - 1 {
                svg += text(
                    left + (Double(index) + 0.5) * slot, top + plotHeight + 16, "\(second.second)", anchor: "middle")
            }
        }
        let path = seconds.enumerated().map { index, second in
            (index == 0 ? "M" : "L")
                + "\(fixed(left + (Double(index) + 0.5) * slot)),\(fixed(py(second.p99Micros, p99Max)))"
        }.joined()
        svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"#d97706\" stroke-width=\"2\"/>"
        svg += text(left + plotWidth / 2, height - 6, "second of the run (grey: warm-up)", anchor: "middle")
        svg +=
            "<text transform=\"translate(14,\(fixed(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">calls/s</text>"
        svg +=
            "<text transform=\"translate(\(fixed(width - 8)),\(fixed(top + plotHeight / 2))) rotate(90)\" text-anchor=\"middle\" style=\"fill:#b45309\">p99</text>"
        svg +=
            line(left, top, left, top + plotHeight, "#9aa5b1")
            + line(left, top + plotHeight, width - right, top + plotHeight, "#9aa5b1")
        return svg + "</svg>"
    }

    // MARK: Helpers

    /// The smallest 1, 2 or 5 x 10^k at or above `value`.
    static func niceMax(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }

    static func ticks(_ maximum: Double) -> [Double] {
        (0...5).map { maximum * Double($0) / 5 }
    }

    static func micros(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value >= 1_000_000 { return String(format: "%.2f s", value / 1_000_000) }
        if value >= 100_000 { return String(format: "%.0f ms", value / 1000) }
        if value >= 10_000 { return String(format: "%.1f ms", value / 1000) }
        if value >= 1000 { return String(format: "%.2f ms", value / 1000) }
        return String(format: value >= 100 ? "%.0f µs" : "%.1f µs", value)
    }

    static func number(_ value: Double) -> String {
        if value >= 1_000_000 { return String(format: "%.2fM", value / 1_000_000) }
        if value >= 10_000 { return String(format: "%.1fk", value / 1000) }
        return String(format: "%.0f", value)
    }

    static func fixed(_ value: Double) -> String { String(format: "%.1f", value) }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String) -> String {
        "<line x1=\"\(fixed(x1))\" y1=\"\(fixed(y1))\" x2=\"\(fixed(x2))\" y2=\"\(fixed(y2))\" stroke=\"\(color)\"/>"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, color: String? = nil) -> String {
        "<text x=\"\(fixed(x))\" y=\"\(fixed(y))\" text-anchor=\"\(anchor)\"\(color.map { " style=\"fill:\($0)\"" } ?? "")>\(escape(content))</text>"
    }

    static func table(_ caption: String, _ header: [String], _ rows: [[String]]) -> String {
        "<table><caption>\(escape(caption))</caption><tr>\(header.map { "<th>\(escape($0))</th>" }.joined())</tr>"
            + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined() + "</table>"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
