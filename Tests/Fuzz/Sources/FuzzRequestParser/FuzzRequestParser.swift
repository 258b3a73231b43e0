// Fuzzes the request path of a connection: bytes cut into chunks through LineFramer, every line
// through RequestParser, every request through the command table, and replies back out through
// ReplyEncoder. Nothing may trap, and each stage must keep the promises its doc comments make.

import CreditCore
import CreditProtocol
import LibFuzzer

@_cdecl("FuzzRequestParser_main")
func fuzzRequestParserMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc: argc, argv: argv) { data, size in
        checkConnectionInput(fuzzInput(data, size))
        return 0
    }
}

/// One input: the bytes a client sent on one connection.
func checkConnectionInput(_ input: [UInt8]) {
    for framed in frameInChunks(input) {
        guard case .line(let framedLine) = framed else { continue }
        let line = Array(framedLine)
        let expected = referenceParse(line)
        // The framer's slice, as the daemon parses it.
        switch RequestParser.parse(framedLine) {
        case .success(let request):
            precondition(request == expected.request, "the parser accepted a line the grammar refuses, or read it differently")
            checkRequest(request, line: line)
        case .failure(let error):
            precondition(expected.request == nil, "the parser refused a line the grammar accepts: \(error.message)")
            precondition(error.tag == expected.echoedTag, "a parse error echoes the wrong tag")
            checkParseError(error, line: line)
        }
    }
}
