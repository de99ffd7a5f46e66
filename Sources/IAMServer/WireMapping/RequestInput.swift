import Foundation
import IAMDomain
import IAMWire

/// Request fields -> validated identifier types, with AWS's ValidationError / InvalidInput wording.
///
/// The IDL's proto3 strings cannot say "absent", so an empty required field is AWS's null
/// (`Value null at 'userName' failed to satisfy constraint: Member must not be null`), and an empty optional
/// one means "not given" (path "/", no boundary, first page).
enum Input {
    /// The longest policy document the API model accepts (`policyDocumentType`), checked before parsing.
    static let maxDocumentLength = 131_072
    /// The most tags one request may carry (`tagListType`).
    static let maxTagsPerRequest = 50

    /// `ValidationError` for a required field that was not given.
    static func missing(_ field: String) -> IAMError {
        IAMError(
            code: .validationError,
            message: "1 validation error detected: Value null at '\(field)' failed to satisfy constraint: "
                + "Member must not be null")
    }

    /// A required name of `kind` (`userName`, `groupName`, `roleName`, `policyName`).
    static func name(_ text: String, _ kind: EntityKind) throws(IAMError) -> EntityName {
        guard !text.isEmpty else { throw missing(kind.nameField) }
        return try EntityName(text, kind: kind)
    }

    /// An optional name (UpdateUser's `NewUserName`): nil when absent.
    static func optionalName(_ text: String?, _ kind: EntityKind, field: String) throws(IAMError) -> EntityName? {
        guard let text else { return nil }
        do {
            return try EntityName(text, kind: kind)
        } catch {
            // The model's field for the new name differs from the kind's (`newUserName`).
            throw IAMError(
                code: error.code,
                message: error.message.replacingOccurrences(of: "'\(kind.nameField)'", with: "'\(field)'"))
        }
    }

    /// A path; "/" when empty.
    static func path(_ text: String, forPolicy: Bool = false) throws(IAMError) -> IAMPath {
        text.isEmpty ? .root : try IAMPath(text, forPolicy: forPolicy)
    }

    /// An optional new path (UpdateUser's `NewPath`).
    static func optionalPath(_ text: String?) throws(IAMError) -> IAMPath? {
        guard let text else { return nil }
        do {
            return try IAMPath(text)
        } catch {
            throw IAMError(
                code: error.code, message: error.message.replacingOccurrences(of: "'path'", with: "'newPath'"))
        }
    }

    /// A list's path prefix; every path when empty.
    static func pathPrefix(_ text: String, forPolicy: Bool = false) throws(IAMError) -> PathPrefix {
        text.isEmpty ? .all : try PathPrefix(text, forPolicy: forPolicy)
    }

    /// A list's paging input (`max_items` 0 means AWS's default of 100).
    static func page(marker: String, maxItems: Int32) throws(IAMError) -> PageRequest {
        try PageRequest(marker: marker.isEmpty ? nil : marker, maxItems: maxItems == 0 ? nil : Int(maxItems))
    }

    /// Tags, validated one by one (at most 50 in a request; the entity's total is the directory's to check).
    static func tags(_ tags: [IAMWire.Tag]) throws(IAMError) -> [IAMDomain.Tag] {
        guard tags.count <= maxTagsPerRequest else {
            throw .validation(
                field: "tags", value: "[\(tags.count) tags]",
                constraint: "have length less than or equal to \(maxTagsPerRequest)")
        }
        var out: [IAMDomain.Tag] = []
        out.reserveCapacity(tags.count)
        for tag in tags { out.append(try IAMDomain.Tag(key: tag.key, value: tag.value)) }
        return out
    }

    /// Untag*'s keys (required, at most 50).
    static func tagKeys(_ keys: [String]) throws(IAMError) -> [String] {
        guard !keys.isEmpty else { throw missing("tagKeys") }
        guard keys.count <= maxTagsPerRequest else {
            throw .validation(
                field: "tagKeys", value: "[\(keys.count) keys]",
                constraint: "have length less than or equal to \(maxTagsPerRequest)")
        }
        for key in keys { try IAMDomain.Tag.validateKey(key) }
        return keys
    }

    /// A required managed policy ARN (`policyArn`, 20..2048).
    static func policyARN(_ text: String, field: String = "policyArn") throws(IAMError) -> ARN {
        guard !text.isEmpty else { throw missing(field) }
        guard text.utf8.count >= 20 else {
            throw .validation(field: field, value: text, constraint: "have length greater than or equal to 20")
        }
        return try ARN.parseIAM(text, type: .policy, field: field).arn
    }

    /// An optional permissions boundary ARN: nil when empty.
    static func boundaryARN(_ text: String) throws(IAMError) -> ARN? {
        text.isEmpty ? nil : try policyARN(text, field: "permissionsBoundary")
    }

    /// A required policy document, bounded before it is parsed.
    static func document(_ text: String, field: String = "policyDocument") throws(IAMError) -> String {
        guard !text.isEmpty else { throw missing(field) }
        guard text.utf8.count <= maxDocumentLength else {
            throw .validation(
                field: field, value: String(text.prefix(64)),
                constraint: "have length less than or equal to \(maxDocumentLength)")
        }
        return text
    }

    /// A required access key id.
    static func accessKeyID(_ text: String) throws(IAMError) -> AccessKeyID {
        guard !text.isEmpty else { throw missing("accessKeyId") }
        return try AccessKeyID(text)
    }

    /// A required version id (`v1`).
    static func versionID(_ text: String) throws(IAMError) -> String {
        guard !text.isEmpty else { throw missing("versionId") }
        try IAMDomain.PolicyVersion.validateID(text)
        return text
    }
}
