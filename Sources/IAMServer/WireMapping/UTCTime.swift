public import Foundation

/// UTC timestamps as text, the two forms the service writes: ISO 8601 (`2026-12-01T22:17:05Z`, for
/// `aws:CurrentTime`, the audit log and the Query API's XML) and SigV4's compact `20261201T221705Z`.
///
/// `aws:CurrentTime` is set on every authorized call, so this is on the hot path: Foundation's
/// ISO8601FormatStyle plus a TimeZone lookup cost microseconds per call on Linux, the arithmetic here tens of
/// nanoseconds. Outside 1970...9999 (before 1582 Foundation's calendar is Julian) Foundation answers.
public enum UTCTime {
    /// `yyyy-MM-ddTHH:mm:ssZ` (fractions of a second dropped).
    public static func iso8601(_ date: Date) -> String {
        Self.format(date, compact: false)
    }

    /// ``iso8601(_:)`` of a protobuf timestamp in milliseconds since the epoch.
    public static func iso8601(milliseconds: Int64) -> String {
        Self.iso8601(Date(timeIntervalSince1970: TimeInterval(milliseconds.dividedRoundingDown(by: 1000))))
    }

    /// SigV4's `yyyyMMdd'T'HHmmss'Z'`.
    public static func compact(_ date: Date) -> String {
        Self.format(date, compact: true)
    }

    private static func format(_ date: Date, compact: Bool) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds >= 0, seconds < 253_402_300_800 else {
            var formatter = Date.ISO8601FormatStyle()
            formatter.timeZone = TimeZone(identifier: "UTC")!
            let text = date.formatted(formatter)
            return compact ? text.filter { $0 != "-" && $0 != ":" } : text
        }
        let total = Int(seconds)
        let days = total / 86_400
        let secondOfDay = total - days * 86_400
        // Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        // ISO: yyyy-MM-ddTHH:mm:ssZ (20 bytes); compact: yyyyMMddTHHmmssZ (16).
        return String(unsafeUninitializedCapacity: 20) { buffer in
            var offset = 0
            func put(_ value: Int, digits: Int, then separator: UInt8?) {
                var value = value
                for position in stride(from: offset + digits - 1, through: offset, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                offset += digits
                if let separator {
                    buffer[offset] = separator
                    offset += 1
                }
            }
            let dash: UInt8? = compact ? nil : UInt8(ascii: "-")
            let colon: UInt8? = compact ? nil : UInt8(ascii: ":")
            put(year, digits: 4, then: dash)
            put(month, digits: 2, then: dash)
            put(day, digits: 2, then: UInt8(ascii: "T"))
            put(secondOfDay / 3600, digits: 2, then: colon)
            put(secondOfDay / 60 % 60, digits: 2, then: colon)
            put(secondOfDay % 60, digits: 2, then: UInt8(ascii: "Z"))
            return offset
        }
    }
}

extension Int64 {
    fileprivate func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return self % divisor < 0 ? quotient - 1 : quotient
    }
}
