import Foundation
import IAMDomain
import IAMRPC
import IAMWire
import NIOCore
import IAMSync

#if canImport(Glibc)
    import Glibc
#endif

/// The audit log: one JSON object per line in `<data-dir>/audit.log`, for every mutation and every
/// refused call (time, caller ARN, access key id, peer address, rpc, resource, result code, request id,
/// revision).
///
/// Lines are appended with one `write(2)` each on a descriptor opened with `O_APPEND`, so concurrent
/// records never interleave and a crash loses at most the line being written. Records are written
/// synchronously by the caller (an event loop for refusals, a write's task for mutations): a line is a
/// few hundred bytes into the page cache, cheaper than handing it to another thread. The log is not
/// fsync'ed per line; the store's transaction is the durable record of a mutation.
final class AuditLog: Sendable {
    private let descriptor: Locked<Int32>
    /// The file the log appends to.
    let path: String

    /// Opens (creating with mode 0600) the log at `path`.
    init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DaemonError("cannot open the audit log \(path): errno \(errno)") }
        self.descriptor = Locked(fd)
        self.path = path
    }

    deinit {
        self.descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// One audit record.
    struct Record: Encodable {
        var time: String
        var caller: String?
        var accessKeyId: String
        var peer: String?
        var rpc: String
        var resource: String?
        var result: String
        var errorCode: String?
        var requestId: String
        var revision: UInt64?
    }

    /// Records a refused call (authentication or authorization failed).
    func record(context: ServerCallContext, caller: Caller?, resource: String?, error: RPCError) {
        self.append(
            Record(
                time: UTCTime.iso8601(Date()), caller: caller?.arn, accessKeyId: context.accessKeyID,
                peer: context.peerAddress.map(Self.describe), rpc: context.method.method, resource: resource,
                result: error.code.description, errorCode: error.iamErrorCode, requestId: context.requestID,
                revision: nil))
    }

    /// Records a committed mutation.
    func recordMutation(context: ServerCallContext, caller: String?, resource: String?, revision: UInt64) {
        self.append(
            Record(
                time: UTCTime.iso8601(Date()), caller: caller, accessKeyId: context.accessKeyID,
                peer: context.peerAddress.map(Self.describe), rpc: context.method.method, resource: resource,
                result: "OK", errorCode: nil, requestId: context.requestID, revision: revision))
    }

    /// Records a committed write of the IAM service, with its caller and the ARN of the resource it acted on (or,
    /// if it names none, the kind and id of the first thing it changed).
    func recordCommit(_ commit: IAMCommit) {
        let rpc = commit.method.split(separator: "/").last.map(String.init) ?? commit.method
        self.append(
            Record(
                time: UTCTime.iso8601(Date()), caller: commit.subject.callerARN, accessKeyId: commit.accessKeyID,
                peer: commit.peer, rpc: rpc,
                resource: commit.subject.resource ?? commit.changes.first.map { Self.describe($0.entity) },
                result: "OK",
                errorCode: nil, requestId: commit.requestID, revision: commit.revision.rawValue))
    }

    private static func describe(_ entity: ChangedEntity) -> String {
        let columns = entity.columns
        return "\(columns.kind)/\(columns.id)"
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private func append(_ record: Record) {
        guard var line = try? Self.encoder.encode(record) else { return }
        line.append(0x0A)
        self.descriptor.withLock { fd in
            guard fd >= 0 else { return }
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }

    private static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress else { return "\(address)" }
        return address.port.map { "\(ip):\($0)" } ?? ip
    }
}
