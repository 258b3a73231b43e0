// Why a request line could not be parsed, with the tag to echo on the ERR reply.

/// A malformed request line. The server answers it with `ERR BAD_REQUEST <message>`.
public struct RequestError: Error, Equatable {
    /// The request's tag if its first token was a valid tag, so the ERR line can carry it.
    public var tag: String?
    /// A short human explanation, printable ASCII, e.g. `duplicate argument amount`.
    public var message: String

    /// Creates an error from the tag to echo and the explanation.
    public init(tag: String?, message: String) {
        self.tag = tag
        self.message = message
    }
}

extension RequestError {
    /// An error with no tag yet; the parser fills the tag in at the top.
    init(_ message: String) {
        self.init(tag: nil, message: message)
    }
}
