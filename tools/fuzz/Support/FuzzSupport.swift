// Shared by every fuzz target (tools/fuzz/build compiles it into each one).
import Foundation

/// Reads structure out of libFuzzer's bytes: an exhausted input reads as zeros, so every byte string is a
/// valid program for a target and the mutator's small changes stay small changes in behaviour.
struct FuzzInput {
    let bytes: [UInt8]
    private(set) var index = 0

    init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        self.bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    var isEmpty: Bool { self.index >= self.bytes.count }
    var remaining: Int { max(0, self.bytes.count - self.index) }

    mutating func byte() -> UInt8 {
        guard self.index < self.bytes.count else { return 0 }
        defer { self.index += 1 }
        return self.bytes[self.index]
    }

    mutating func bool() -> Bool { self.byte() & 1 == 1 }

    mutating func uint32() -> UInt32 {
        (0..<4).reduce(UInt32(0)) { value, _ in value << 8 | UInt32(self.byte()) }
    }

    /// Up to `count` bytes (fewer when the input ends).
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(self.bytes.count, self.index + max(0, count))
        defer { self.index = end }
        return self.index < end ? Array(self.bytes[self.index..<end]) : []
    }

    mutating func rest() -> [UInt8] { self.take(self.remaining) }
}

/// A broken invariant: print what and where, then crash so libFuzzer keeps the input.
func invariant(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        fatalError("invariant broken: \(message())", file: file, line: line)
    }
}
