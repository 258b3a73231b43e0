// Proves LineFramer cuts a byte stream into lines however it is split, enforces the 1024-byte
// limit with exactly one .tooLong per over-long line, and keeps its buffer bounded.

import Testing
import CreditProtocol

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Drains every event the framer can produce right now.
private func drain(_ framer: inout LineFramer) -> [FramedLine] {
    var events: [FramedLine] = []
    while let event = framer.next() { events.append(event) }
    return events
}

@Test func lineSplitAcrossByteByByteAppends() {
    var framer = LineFramer()
    var events: [FramedLine] = []
    for byte in bytes("BAL card=1\nPING\n") {
        framer.append([byte])
        events += drain(&framer)
    }
    #expect(events == [.line(bytes("BAL card=1")[...]), .line(bytes("PING")[...])])
    #expect(framer.bufferedByteCount == 0)
    #expect(!framer.hasPartialLine)
}

@Test func carriageReturnBeforeLineFeedIsDropped() {
    var framer = LineFramer()
    framer.append(bytes("PING\r\nA\rB\r\n"))
    #expect(drain(&framer) == [.line(bytes("PING")[...]), .line(bytes("A\rB")[...])])
}

@Test func crAndLfSplitAcrossAppends() {
    var framer = LineFramer()
    framer.append(bytes("PING\r"))
    #expect(framer.next() == nil)
    #expect(framer.hasPartialLine)
    framer.append(bytes("\n"))
    #expect(drain(&framer) == [.line(bytes("PING")[...])])
}

@Test func emptyLinesAreSkipped() {
    var framer = LineFramer()
    framer.append(bytes("\n\r\n\nPING\n\r\n"))
    #expect(drain(&framer) == [.line(bytes("PING")[...])])
    #expect(!framer.hasPartialLine)
}

@Test func pipelinedLinesInOneAppend() {
    var framer = LineFramer()
    framer.append(bytes("A\nB x=1\r\nC\nD"))
    #expect(drain(&framer) == [.line(bytes("A")[...]), .line(bytes("B x=1")[...]), .line(bytes("C")[...])])
    #expect(framer.hasPartialLine)
    #expect(framer.bufferedByteCount == 1)
    framer.append(bytes("\n"))
    #expect(drain(&framer) == [.line(bytes("D")[...])])
}

@Test func lineOfExactlyTheLimitIsAccepted() {
    let content = [UInt8](repeating: 0x61, count: ProtocolLimits.lineBytesMax - 1)
    var framer = LineFramer()
    framer.append(content + [0x0A])
    #expect(drain(&framer) == [.line(content[...])])

    let crContent = [UInt8](repeating: 0x62, count: ProtocolLimits.lineBytesMax - 2)
    framer.append(crContent + [0x0D, 0x0A])
    #expect(drain(&framer) == [.line(crContent[...])])
}

@Test func lineOfExactlyTheLimitIsAcceptedByteByByte() {
    let content = [UInt8](repeating: 0x61, count: ProtocolLimits.lineBytesMax - 1)
    var framer = LineFramer()
    var events: [FramedLine] = []
    for byte in content + [0x0A] {
        framer.append([byte])
        events += drain(&framer)
    }
    #expect(events == [.line(content[...])])
}

@Test func lineOneByteOverTheLimitIsTooLongOnceThenFramingResumes() {
    let content = [UInt8](repeating: 0x61, count: ProtocolLimits.lineBytesMax)
    var framer = LineFramer()
    framer.append(content + bytes("\nPING\n"))
    #expect(drain(&framer) == [.tooLong, .line(bytes("PING")[...])])
    #expect(!framer.hasPartialLine)
}

@Test func tooLongIsReportedBeforeTheLineFeedArrives() {
    var framer = LineFramer()
    framer.append([UInt8](repeating: 0x61, count: ProtocolLimits.lineBytesMax - 1))
    #expect(framer.next() == nil)
    framer.append([0x61])
    #expect(framer.next() == .tooLong)
    #expect(framer.next() == nil)
    #expect(framer.hasPartialLine)
    framer.append(bytes("more junk\nPING\n"))
    #expect(drain(&framer) == [.line(bytes("PING")[...])])
}

@Test func hundredKilobyteLineWithoutLineFeedIsBounded() {
    var framer = LineFramer()
    var events: [FramedLine] = []
    let chunk = [UInt8](repeating: 0x7A, count: 4096)
    for _ in 0..<25 {
        framer.append(chunk)
        #expect(framer.bufferedByteCount <= ProtocolLimits.lineBytesMax + 1)
        events += drain(&framer)
    }
    #expect(events == [.tooLong])
    #expect(framer.hasPartialLine)
    framer.append(bytes("tail\nPING\n"))
    #expect(drain(&framer) == [.line(bytes("PING")[...])])
    #expect(framer.bufferedByteCount == 0)
}

@Test func hundredKilobyteLineInOneAppendIsBounded() {
    var framer = LineFramer()
    framer.append(bytes("A\n") + [UInt8](repeating: 0x7A, count: 100_000))
    #expect(framer.bufferedByteCount <= 2 + ProtocolLimits.lineBytesMax + 1)
    #expect(drain(&framer) == [.line(bytes("A")[...]), .tooLong])
    framer.append([UInt8](repeating: 0x7A, count: 100_000) + bytes("\nB\n"))
    #expect(drain(&framer) == [.line(bytes("B")[...])])
}

@Test func overLongCompleteLinesInsidePipelinedChunk() {
    let long = [UInt8](repeating: 0x61, count: 3000)
    var framer = LineFramer()
    framer.append(bytes("A\n") + long + bytes("\nB\n") + long + bytes("\nC\n"))
    #expect(drain(&framer) == [.line(bytes("A")[...]), .tooLong, .line(bytes("B")[...]), .tooLong, .line(bytes("C")[...])])
}

@Test func overLongTailAfterManyShortLines() {
    var stream: [UInt8] = []
    for index in 0..<500 { stream += bytes("L\(index)\n") }
    stream += [UInt8](repeating: 0x61, count: 2000)
    var framer = LineFramer()
    framer.append(stream)
    let events = drain(&framer)
    #expect(events.count == 501)
    #expect(events.last == .tooLong)
    #expect(events[499] == .line(bytes("L499")[...]))
    #expect(framer.bufferedByteCount == 0)
}

@Test func randomSplitsGiveTheSameEvents() {
    var stream: [UInt8] = []
    for index in 0..<200 {
        stream += bytes("#t\(index) BAL card=\(index)\r\n")
        if index % 37 == 0 { stream += [UInt8](repeating: 0x78, count: 1500) + [0x0A] }
        if index % 11 == 0 { stream += bytes("\r\n\n") }
    }
    var whole = LineFramer()
    whole.append(stream)
    let expected = drain(&whole)
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<50 {
        var framer = LineFramer()
        var events: [FramedLine] = []
        var offset = 0
        while offset < stream.count {
            let size = Int.random(in: 1...1200, using: &generator)
            let end = min(stream.count, offset + size)
            framer.append(Array(stream[offset..<end]))
            events += drain(&framer)
            offset = end
        }
        #expect(events == expected)
    }
    #expect(expected.filter { $0 == .tooLong }.count == 6)
    #expect(expected.count == 206)
}

@Test func unsafeRawBufferAppend() {
    var framer = LineFramer()
    let data = bytes("PING\n")
    data.withUnsafeBytes { framer.append($0) }
    #expect(framer.next() == .line(bytes("PING")[...]))
}
