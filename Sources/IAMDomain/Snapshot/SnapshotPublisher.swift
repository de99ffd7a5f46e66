import Foundation
import IAMSync
import Synchronization

extension AuthorizationSnapshot {
    /// This snapshot moved forward to `reader`'s revision by the change-log entries after its own: every
    /// touched entity is re-read from `reader`, and only the principals that depend on it are recompiled.
    public func applying(changesFrom reader: any StoreReader, page: Int) throws(IAMError) -> AuthorizationSnapshot {
        var next = self
        var after = self.revision
        while after < reader.revision {
            let changes = try reader.changes(after: after, limit: page)
            guard let last = changes.last else { break }
            try next.apply(changes, from: reader)
            after = last.revision
        }
        next.revision = reader.revision
        return next
    }

    private mutating func apply(_ changes: [Change], from reader: any StoreReader) throws(IAMError) {
        var dirty = Set<OwnerRef>()
        var keys = Set<AccessKeyID>()
        var sessions = Set<AccessKeyID>()
        var seen = Set<ChangedEntity>()
        // Users whose groups were read with the rest of them, so the loop below need not read them again.
        var groupsRead = Set<UniqueID>()
        // Policies first, so owners recompiled below see the new documents.
        let ordered =
            changes.filter { if case .policy = $0.entity { true } else { false } }
            + changes.filter { if case .policy = $0.entity { false } else { true } }
        // Changed users are read in one batch: the store may answer it in a few statements instead of four per user.
        let userIDs = ordered.compactMap { if case .user(let id) = $0.entity { id } else { nil } }
        let userStates = userIDs.isEmpty ? [:] : try reader.userStates(Array(Set(userIDs)))
        for change in ordered where seen.insert(change.entity).inserted {
            switch change.entity {
            case .policy(let arn):
                self.model.setPolicy(arn, try reader.policy(arn: arn))
                dirty.formUnion(self.model.dependents(ofPolicy: arn))
            case .user(let id):
                let owner = OwnerRef(.user, id)
                guard let state = userStates[id] else { throw .serviceFailure("the store did not read user \(id)") }
                let user = state.user
                self.model.setBoundary(
                    owner, old: self.model.users[id]?.permissionsBoundary, new: user?.permissionsBoundary)
                self.model.setUser(id, user)
                self.model.setInline(id, kind: .user, user == nil ? [] : state.inlinePolicies)
                self.model.setAttached(owner, user == nil ? [] : state.attachedPolicies)
                self.model.setGroups(ofUser: id, user == nil ? [] : state.groups)
                groupsRead.insert(id)
                dirty.insert(owner)
                // A renamed or deleted user changes its keys' principal.
                keys.formUnion(self.model.keysOfUser[id] ?? [])
            case .group(let id):
                let owner = OwnerRef(.group, id)
                let group = try reader.entity(Group.self, id: id)
                self.model.setGroup(id, group)
                self.model.setInline(id, kind: .group, group == nil ? [] : try reader.inlinePolicies(of: owner))
                self.model.setAttached(owner, group == nil ? [] : try reader.attachedPolicies(of: owner))
                let members = Set(group == nil ? [] : try reader.members(ofGroup: id))
                for member in members.union(self.model.membersOfGroup[id] ?? []) {
                    dirty.insert(OwnerRef(.user, member))
                }
            case .role(let id):
                let owner = OwnerRef(.role, id)
                let role = try reader.entity(Role.self, id: id)
                self.model.setBoundary(
                    owner, old: self.model.roles[id]?.permissionsBoundary, new: role?.permissionsBoundary)
                self.model.setRole(id, role)
                self.model.setInline(id, kind: .role, role == nil ? [] : try reader.inlinePolicies(of: owner))
                self.model.setAttached(owner, role == nil ? [] : try reader.attachedPolicies(of: owner))
                dirty.insert(owner)
            case .instanceProfile(let id):
                self.model.setInstanceProfile(id, try reader.entity(InstanceProfile.self, id: id))
            case .accessKey(let id):
                self.model.setKey(id, try reader.accessKey(id: id))
                keys.insert(id)
            case .session(let id):
                self.model.setSession(id, try reader.session(id: id))
                sessions.insert(id)
            }
        }
        // Users whose group membership changed were re-read above; refresh their groups' memberships too.
        // Memberships are all set first: the group memo below is only right for the model as it ends up.
        for owner in dirty
        where owner.kind == .user && !groupsRead.contains(owner.id) && self.model.users[owner.id] != nil {
            // A membership change is recorded on both ends; re-reading the user's groups keeps both indexes
            // right even if only the group's entry was in this batch.
            self.model.setGroups(ofUser: owner.id, try reader.groups(ofUser: owner.id))
        }
        var groups = GroupPolicies()
        for owner in dirty.sorted() {
            self.recompile(owner, groups: &groups)
        }
        for id in keys { self.refreshKey(id) }
        for id in sessions { self.refreshSession(id) }
    }
}

/// Holds the current ``AuthorizationSnapshot`` and moves it forward after writes.
///
/// Checks read ``snapshot`` (a mutex held for one retain) or, to avoid even that, cache the snapshot per
/// thread and compare ``revision`` (an atomic load) before reusing it. Writers call ``catchUp(atLeast:)``
/// with the revision their write produced before acknowledging it, so a check that starts after the
/// acknowledgement sees the write. Catch-ups may run concurrently: each builds a complete snapshot from the
/// one it started with, and only a newer one is installed.
public final class SnapshotPublisher: Sendable {
    private let store: any Store
    private let account: AccountID
    private let catalog: [ManagedPolicy]
    private let current: Locked<PublishedSnapshot>
    private let currentRevision: Atomic<UInt64>
    /// The catch-up in progress, which callers naming a revision join instead of starting their own.
    private let flight = Locked<Task<Revision, any Error>?>(nil)

    /// How long the first snapshot took: reading the store, then building the snapshot from what was read.
    public let loadTimes: (read: Duration, build: Duration)

    /// Loads every entity of `store` and compiles the first snapshot.
    public init(store: any Store, account: AccountID, catalog: [ManagedPolicy] = []) async throws(IAMError) {
        let clock = ContinuousClock()
        let start = clock.now
        let contents = try await store.loadAll()
        let read = clock.now
        let snapshot = AuthorizationSnapshot(contents: contents, account: account, catalog: catalog)
        self.loadTimes = (read - start, clock.now - read)
        self.store = store
        self.account = account
        self.catalog = catalog
        self.current = Locked(PublishedSnapshot(snapshot))
        self.currentRevision = Atomic(snapshot.revision.rawValue)
    }

    /// The current snapshot, behind one reference: taking it is one retain under the lock, where copying the
    /// snapshot itself retains each of its tables. Checks use this.
    public var published: PublishedSnapshot { self.current.withLock { $0 } }

    /// The current snapshot.
    public var snapshot: AuthorizationSnapshot { self.published.snapshot }

    /// The current snapshot's revision, without a lock.
    public var revision: Revision { Revision(self.currentRevision.load(ordering: .acquiring)) }

    /// Brings the snapshot up to the store's latest revision, unless it already is at `revision` or later.
    /// Returns the revision of the snapshot now current.
    ///
    /// Callers that name a revision share one catch-up at a time: concurrent writers committed together (one
    /// group commit) would otherwise each read and apply the same changes to the same base, so that sixteen
    /// writers did sixteen times the work of one. A catch-up already running when a caller arrives may have
    /// read the store before the caller's write committed, so if it does not reach the caller's revision, the
    /// caller joins (or starts) the next one, which began after it arrived; it waits for two at most.
    @discardableResult
    public func catchUp(atLeast revision: Revision? = nil) async throws(IAMError) -> Revision {
        guard let revision else { return try await self.catchUpOnce() }
        if self.revision >= revision { return self.revision }
        let (first, startedNow) = self.joinFlight()
        try await Self.wait(for: first)
        if startedNow || self.revision >= revision { return self.revision }
        try await Self.wait(for: self.joinFlight().task)
        return self.revision
    }

    /// The running catch-up, or a new one; `startedNow` when the caller started it.
    private func joinFlight() -> (task: Task<Revision, any Error>, startedNow: Bool) {
        self.flight.withLock { flight in
            if let running = flight { return (running, false) }
            let started = Task<Revision, any Error> {
                defer { self.flight.withLock { $0 = nil } }
                return try await self.catchUpOnce()
            }
            flight = started
            return (started, true)
        }
    }

    private static func wait(for flight: Task<Revision, any Error>) async throws(IAMError) {
        do {
            _ = try await flight.value
        } catch let error as IAMError {
            throw error
        } catch {
            throw IAMError.serviceFailure("catching up with the store failed: \(error)")
        }
    }

    private func catchUpOnce() async throws(IAMError) -> Revision {
        let base = self.snapshot
        let store = self.store
        let next = try await store.readChanges(after: base.revision) { reader throws(IAMError) in
            try base.applying(changesFrom: reader, page: type(of: store).changePage)
        }
        return self.install(next)
    }

    /// Builds the snapshot anew from everything in the store, as at start: for a follower that fell so far
    /// behind that the change-log entries it needs were compacted away. Returns the revision now current.
    @discardableResult
    public func rebuild() async throws(IAMError) -> Revision {
        let contents = try await self.store.loadAll()
        return self.install(AuthorizationSnapshot(contents: contents, account: self.account, catalog: self.catalog))
    }

    /// Installs `snapshot` if it is newer than the current one.
    @discardableResult
    public func install(_ snapshot: AuthorizationSnapshot) -> Revision {
        self.current.withLock { current in
            if snapshot.revision > current.snapshot.revision {
                current = PublishedSnapshot(snapshot)
                self.currentRevision.store(snapshot.revision.rawValue, ordering: .releasing)
            }
            return current.snapshot.revision
        }
    }
}

/// One installed snapshot, shared by reference between the publisher and the checks reading it.
public final class PublishedSnapshot: Sendable {
    /// The snapshot.
    public let snapshot: AuthorizationSnapshot

    init(_ snapshot: AuthorizationSnapshot) { self.snapshot = snapshot }
}
