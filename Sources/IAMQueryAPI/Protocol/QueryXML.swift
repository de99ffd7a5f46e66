import Foundation
import IAMServer

/// Writes the XML of a Query response: elements in order, text escaped, nothing else (no declaration,
/// no indentation, as AWS's IAM and STS write it).
public struct QueryXMLWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    public init() {
        self.bytes.reserveCapacity(1024)
    }

    /// `<tag>`.
    public mutating func open(_ tag: String) {
        self.bytes.append(UInt8(ascii: "<"))
        self.bytes.append(contentsOf: tag.utf8)
        self.bytes.append(UInt8(ascii: ">"))
    }

    /// `<tag xmlns="namespace">`.
    public mutating func open(_ tag: String, namespace: String) {
        self.bytes.append(contentsOf: "<\(tag) xmlns=\"\(namespace)\">".utf8)
    }

    /// `</tag>`.
    public mutating func close(_ tag: String) {
        self.bytes.append(contentsOf: "</".utf8)
        self.bytes.append(contentsOf: tag.utf8)
        self.bytes.append(UInt8(ascii: ">"))
    }

    /// `<tag>text</tag>`, with `&`, `<`, `>` and carriage returns escaped (quotes need none in text).
    public mutating func element(_ tag: String, _ text: String) {
        self.open(tag)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): self.bytes.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): self.bytes.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): self.bytes.append(contentsOf: "&gt;".utf8)
            case 0x0D: self.bytes.append(contentsOf: "&#xD;".utf8)
            default: self.bytes.append(byte)
            }
        }
        self.close(tag)
    }

    /// `<tag>2026-12-01T22:00:00Z</tag>` from milliseconds since the epoch (ISO 8601, UTC, `Z`).
    public mutating func timestamp(_ tag: String, _ milliseconds: Int64) {
        self.element(tag, UTCTime.iso8601(milliseconds: milliseconds))
    }
}

/// Helpers the generated writers call.
public enum QueryXML {
    /// Policy documents go out URL-encoded (RFC 3986: everything but unreserved characters, so `+` is `%2B`
    /// and a space `%20`), as AWS's IAM Query API returns them.
    public static func urlEncodedPolicy(_ document: String) -> String {
        SigV4Verifier.uriEncode(document)
    }

    /// AWS's name of an enum value; nil for values AWS has no name for (unspecified).
    static func enumText<E: Hashable>(_ value: E, _ names: [E: String]) -> String? {
        names[value]
    }
}
