import Foundation
import IAMPolicy
import IAMPolicyVectors
import Testing

// Every case of every file in Vectors/ is one test argument, run by IAMPolicyVectors' runner: the same decoder,
// conventions and comparisons as `iam policy evaluate` (Vectors/README.md describes the format).

/// One vector, ready to run.
struct Vector: Sendable, CustomTestStringConvertible {
    enum Body: Sendable {
        case evaluation(EvaluationCase)
        case validation(ValidationCase)
        /// A file that could not be decoded: the test fails with this message.
        case broken(String)
    }

    var file: String
    var id: String
    var body: Body

    var testDescription: String { "\(file):\(id)" }
}

enum VectorLoader {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static let all: [Vector] = {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            return [Vector(file: "Vectors", id: "-", body: .broken("cannot list \(directory.path): \(error)"))]
        }
        return names.flatMap(load)
    }()

    static func load(_ name: String) -> [Vector] {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
        } catch {
            return [Vector(file: name, id: "-", body: .broken("cannot read: \(error)"))]
        }
        do throws(VectorFileError) {
            if VectorFile.isValidationFile(name) {
                return try VectorFile.validationCases(bytes).map {
                    Vector(file: name, id: $0.id, body: .validation($0))
                }
            }
            return try VectorFile.evaluationCases(bytes).map { Vector(file: name, id: $0.id, body: .evaluation($0)) }
        } catch {
            return [Vector(file: name, id: "-", body: .broken(error.message))]
        }
    }
}

@Suite("Conformance vectors (Tests/IAMPolicyTests/Vectors)")
struct VectorTests {
    @Test("every vector file holds cases, and there are at least 250")
    func vectorFilesArePresent() {
        #expect(VectorLoader.all.count >= 250)
        let ids = VectorLoader.all.map(\.id)
        #expect(Set(ids).count == ids.count, "vector ids must be unique across files")
    }

    @Test(arguments: VectorLoader.all)
    func vector(_ v: Vector) {
        switch v.body {
        case .broken(let message):
            Issue.record("\(v.file): \(message)")
        case .validation(let c):
            let outcome = VectorRunner.run(c)
            #expect(outcome.mismatches.isEmpty, "\(v.id): \(outcome.mismatches)")
        case .evaluation(let c):
            let outcome = VectorRunner.run(c)
            #expect(outcome.mismatches.isEmpty, "\(v.id): \(outcome.mismatches)")
        }
    }

    /// A server builds a request's own keys with ``RequestContext/init(pairs:)``, which parses a value as a
    /// number, date, address or boolean only when a condition compares it so, and keeps keys as spelled; the
    /// vectors' contexts are built once and parsed up front. Every operator family must see the same values.
    @Test(
        "every evaluation vector decides the same with its context given as wire pairs (parsed on demand)",
        arguments: VectorLoader.all)
    func vectorWithPairs(_ v: Vector) throws {
        guard case .evaluation(let c) = v.body else { return }
        let compiled = try c.compile()
        let eager = compiled.evaluate(c.request)
        // Each key spelled in upper case too, so lookups of keys kept as spelled are exercised.
        let pairs = c.context.sorted { $0.key < $1.key }.map { (key: $0.key.uppercased(), value: $0.value) }
        let lazy = compiled.evaluate(
            AuthorizationRequest(action: c.action, resource: c.resource, context: RequestContext(pairs: pairs)))
        #expect(lazy == eager, "\(v.id)")
        let layered = RequestContext(layers: [RequestContext(pairs: pairs), RequestContext()])
        #expect(
            compiled.decide(AuthorizationRequest(action: c.action, resource: c.resource, context: layered))
                == eager.decision)
    }

    @Test("the runner reports a case whose expectation is wrong")
    func runnerCanFail() throws {
        let file = #"""
            [{"id": "wrong", "policies": [{"id": "P", "document": {"Version": "2012-10-17", "Statement":
              {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}}],
              "principal": {"arn": "arn:aws:iam::123456789012:user/a"},
              "request": {"action": "s3:GetObject", "resource": "arn:aws:s3:::b/k"},
              "expect": "implicitDeny",
              "expectMatched": [{"policy": "P", "type": "boundary", "index": 0}]}]
            """#
        let c = try #require(try VectorFile.evaluationCases(Array(file.utf8)).first)
        let outcome = VectorRunner.run(c)
        #expect(outcome.mismatches.count == 2, "\(outcome.mismatches)")
        let validation = #"""
            [{"id": "v", "kind": "identity", "expect": "invalid", "aws_message": "this text is in no message",
              "document": {"Version": "2012-10-17", "Statement": {"Effect": "allow", "Action": "s3:x", "Resource": "*"}}}]
            """#
        let v = try #require(try VectorFile.validationCases(Array(validation.utf8)).first)
        let vo = VectorRunner.run(v)
        #expect(vo.error != nil)
        #expect(vo.mismatches.count == 1, "\(vo.mismatches)")
    }
}
