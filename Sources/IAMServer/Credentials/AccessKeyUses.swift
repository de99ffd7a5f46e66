import Foundation
import IAMDomain
import IAMSync
import IAMWire
import NIOPosix

/// What GetAccessKeyLastUsed answers from: when each long-term access key last authenticated a call, and to
/// which service (`iam`, `sts`, or, for a backend's Authorize naming a key, the checked action's service).
///
/// A key's first use in each minute is noted, and the uses noted meanwhile are written together by one task, in
/// one store write that moves no revision (``StoreWriter/noteAccessKeyUse(id:date:service:)``). So a key's use
/// never changes the revision the checks answer with, a busy key costs one row update a minute rather than one
/// per call, and thousands of keys used at once cost a few transactions. The date answered is that of the key's
/// first call in the last minute it was used; uses noted in the moments before the server stops may be lost, as
/// a use is not a change anybody was promised.
///
/// The hot path (a key this thread noted this minute, usually the same key as its last call) is a
/// thread-specific read and two comparisons: no lock, no shared cache line.
final class AccessKeyUses: Sendable {
    /// How often one key's use is noted, in seconds.
    static let interval: Int64 = 60

    /// Bounds one thread's set of keys noted this minute; past it the thread starts a new set.
    static let threadCapacity = 4096

    private let store: any Store
    private let shared = Locked(Shared())

    private struct Shared: Sendable {
        /// The minute `noted` belongs to.
        var minute: Int64 = .min
        /// The keys noted this minute, by any thread.
        var noted: Set<String> = []
        /// Uses waiting for the writer, by key (the first use of the minute wins).
        var pending: [AccessKeyID: Use] = [:]
        /// Whether the writer task runs.
        var writing = false
    }

    struct Use: Sendable {
        let service: String
        let date: Date
    }

    /// One thread's keys noted this minute; only that thread touches it (hence unchecked: never shared).
    private final class ThreadNotes: @unchecked Sendable {
        /// Whose notes these are (held, so no later instance can take its identity while this is current).
        let owner: AccessKeyUses
        var minute: Int64 = .min
        var keys: Set<String> = []
        /// The key this thread noted or found last.
        var last: String = ""

        init(owner: AccessKeyUses) { self.owner = owner }
    }

    private static let threads = ThreadSpecificVariable<ThreadNotes>()

    /// Notes uses into `store`.
    init(store: any Store) {
        self.store = store
    }

    /// Notes that the long-term key `accessKeyID` authenticated a call of `method` at `now`: under its action's
    /// service (`iam`, `sts`), or for a call that needs authentication only, its service's (`health`).
    func note(_ accessKeyID: String, method: MethodDescriptor, at now: Date) {
        self.note(accessKeyID, action: method.action, method: method, at: now)
    }

    /// Notes that the long-term key `accessKeyID` was used for `action` (`service:Name`) at `now`.
    func note(_ accessKeyID: String, action: String, at now: Date) {
        self.note(accessKeyID, action: action, method: nil, at: now)
    }

    private func note(_ accessKeyID: String, action: String?, method: MethodDescriptor?, at now: Date) {
        let minute = Int64(now.timeIntervalSince1970.rounded(.down)) / Self.interval
        let notes: ThreadNotes
        if let current = Self.threads.currentValue, current.owner === self {
            notes = current
        } else {
            notes = ThreadNotes(owner: self)
            Self.threads.currentValue = notes
        }
        if notes.minute == minute {
            if notes.last == accessKeyID { return }
            if notes.keys.contains(accessKeyID) {
                notes.last = accessKeyID
                return
            }
        } else {
            notes.minute = minute
            notes.keys.removeAll(keepingCapacity: true)
        }
        if notes.keys.count >= Self.threadCapacity { notes.keys.removeAll(keepingCapacity: true) }
        notes.keys.insert(accessKeyID)
        notes.last = accessKeyID
        guard let id = try? AccessKeyID(accessKeyID) else { return }
        let serviceName =
            if let action { String(action.prefix { $0 != ":" }) } else {
                method.flatMap { $0.service.split(separator: ".").last?.lowercased() } ?? "iam"
            }
        let startWriter = self.shared.withLock { shared -> Bool in
            if minute > shared.minute {
                shared.minute = minute
                shared.noted.removeAll(keepingCapacity: true)
            }
            guard shared.noted.insert(accessKeyID).inserted else { return false }
            // A later minute's use replaces one still waiting; a thread's stale clock does not.
            if (shared.pending[id]?.date).map({ $0 < now }) ?? true {
                shared.pending[id] = Use(service: serviceName, date: now)
            }
            guard !shared.writing else { return false }
            shared.writing = true
            return true
        }
        if startWriter { Task { await self.write() } }
    }

    /// Writes the pending uses until none are left; a failed write is dropped (the key's next minute notes it).
    private func write() async {
        while true {
            let uses = self.shared.withLock { shared -> [AccessKeyID: Use] in
                let uses = shared.pending
                shared.pending = [:]
                if uses.isEmpty { shared.writing = false }
                return uses
            }
            guard !uses.isEmpty else { return }
            _ = try? await self.store.write { tx throws(IAMError) in
                for (id, use) in uses { try tx.noteAccessKeyUse(id: id, date: use.date, service: use.service) }
            }
        }
    }

    /// Waits until every use noted before the call is written, at most `limit` (a server that stops).
    func flush(limit: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + limit
        while self.shared.withLock({ $0.writing }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
