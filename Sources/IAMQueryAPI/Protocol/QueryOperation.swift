import IAMRPC
import IAMWire
import NIOCore

/// One Query action: how its parameters become the IDL's request message and how the IDL's response message
/// becomes AWS's XML. The generated table (Generated/QueryOperations.swift) holds one per operation.
struct QueryOperation: Sendable {
    /// `CreateUser`.
    let action: String
    /// The API version the action belongs to (`2010-05-08` for IAM, `2011-06-15` for STS).
    let version: String
    /// The SigV4 service (`iam`, `sts`).
    let service: String
    /// The response's XML namespace.
    let xmlNamespace: String
    /// The rpc that serves it.
    let method: MethodDescriptor
    /// Form parameters -> the encoded request message.
    let decode: @Sendable (QueryForm) throws(QueryInputError) -> ByteBuffer
    /// The encoded response message -> the `<ActionResult>` element.
    let render: @Sendable (inout ByteBuffer, inout QueryXMLWriter) throws(WireError) -> Void
}

/// The operations the front door serves.
enum QueryOperations {
    /// By action name.
    static var all: [String: QueryOperation] { Self.generated }
}
