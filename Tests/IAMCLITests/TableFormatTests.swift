import Foundation
import Testing

@testable import IAMCLI

/// `--output table` against the AWS CLI's own table formatter: Fixtures/aws-cli-tables.json holds responses and
/// the exact text awscli printed for them at 80 columns (Fixtures/make-aws-cli-tables.py wrote it).
@Suite("iam CLI: --output table is the AWS CLI's table")
struct TableFormatTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var title: String
        var value: String
        var table: String
        var testDescription: String { self.name }
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/aws-cli-tables.json")
        guard let data = try? Data(contentsOf: url),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]]
        else { return [] }
        return root.keys.sorted().map { name in
            let entry = root[name]!
            // The value is re-read from the file's text below so that its key order is the file's.
            return Case(
                name: name, title: entry["title"] as! String, value: name, table: entry["table"] as! String)
        }
    }()

    /// The `value` of case `name`, parsed in the file's key order (AWSJSON keeps it; JSONSerialization does not).
    static func value(of name: String) throws -> AWSJSON {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/aws-cli-tables.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        guard case .object(let root) = try AWSJSON.parse(text),
            case .object(let entry)? = root.first(where: { $0.key == name })?.value,
            let value = entry.first(where: { $0.key == "value" })?.value
        else { throw InputError("no case \(name)") }
        return value
    }

    @Test("the fixture has its cases")
    func fixtureLoads() {
        #expect(Self.cases.count == 5)
    }

    @Test("each response renders exactly as awscli's TableFormatter printed it", arguments: Self.cases)
    func matchesTheAWSCLI(_ testCase: Case) throws {
        let value = try Self.value(of: testCase.name)
        let rendered = TableFormat.render(value, title: testCase.title, terminalWidth: 80)
        // awscli ends every line with a newline; the CLI's printLine adds the last one.
        #expect(rendered + "\n" == testCase.table)
    }

    @Test("nothing to show prints nothing")
    func emptyResponse() {
        #expect(TableFormat.render(.object([]), title: "GetUser", terminalWidth: 80).isEmpty)
    }
}
