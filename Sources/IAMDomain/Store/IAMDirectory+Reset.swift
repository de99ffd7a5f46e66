extension IAMDirectory {
    /// Deletes every entity of the account in one transaction: sessions, access keys, memberships,
    /// attachments, inline policies, instance profiles' roles, users, groups, instance profiles, roles and
    /// customer managed policies (AWS managed ones live
    /// in code and stay). The test mode's reset (`iamd --test-mode`, `POST /moto-api/reset`) runs it between
    /// test cases; nothing else may, as IAM has no such operation.
    ///
    /// It is one ordinary write, so the revision goes up and the change log records every deletion: the
    /// authorization snapshot catches up exactly as after any other write (a deleted key stops working at its
    /// next call).
    public func removeEverything() async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            let contents = try tx.contents()
            // Relations before the entities they join, so no store ever sees a dangling reference.
            for session in contents.sessions { _ = try tx.deleteSession(id: session.accessKeyID) }
            for key in contents.accessKeys { _ = try tx.deleteAccessKey(id: key.id) }
            for membership in contents.memberships { _ = try tx.removeMembership(membership) }
            for attachment in contents.attachments { _ = try tx.detach(attachment) }
            for policy in contents.inlinePolicies {
                _ = try tx.deleteInlinePolicy(of: policy.owner, named: policy.name)
            }
            for link in contents.instanceProfileRoles { _ = try tx.removeRole(link) }
            for user in contents.users { _ = try tx.delete(User.self, id: user.id) }
            for group in contents.groups { _ = try tx.delete(Group.self, id: group.id) }
            for profile in contents.instanceProfiles { _ = try tx.delete(InstanceProfile.self, id: profile.id) }
            for role in contents.roles { _ = try tx.delete(Role.self, id: role.id) }
            for policy in contents.policies { _ = try tx.delete(ManagedPolicy.self, id: policy.id) }
        }
    }
}
