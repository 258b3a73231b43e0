// The framing half of the request fuzzer: chunked appends, bounds, and a reference model.

import CreditProtocol

/// Feeds `input` to a framer in chunks whose sizes are derived from the input itself (so an
/// input always reproduces), draining after every chunk as a connection does after every read.
/// Checks the framer's memory bound and that its lines equal the whole-stream reference model.
func frameInChunks(_ input: [UInt8]) -> [FramedLine] {
    var framer = LineFramer()
    var chunkSizes = ChunkSizes(seed: fnv1a(input))
    var framed: [FramedLine] = []
    var offset = 0
    while offset < input.count {
        let end = offset + chunkSizes.next(remaining: input.count - offset)
        if chunkSizes.useArrayAppend {
            framer.append(Array(input[offset..<end]))
        } else {
            input[offset..<end].withUnsafeBytes { framer.append($0) }
        }
        offset = end
        while let line = framer.next() { framed.append(line) }
        // Drained, the framer holds at most the unfinished line, always under the limit.
        precondition(framer.bufferedByteCount < ProtocolLimits.lineBytesMax, "framer holds a whole line's worth of bytes")
        precondition(framer.hasPartialLine == (framer.isDiscardingLongLine || framer.bufferedByteCount > 0),
                     "hasPartialLine disagrees with the buffered bytes")
    }
    precondition(framer.next() == nil, "a drained framer produced another line")
    precondition(framed == referenceFrames(input), "framer output differs from the reference model")
    return framed
}

/// What the framer must produce for the whole stream, written as plainly as possible: each
/// LF-terminated segment of `lineBytesMax` or more bytes (CR included) is one `.tooLong`;
/// shorter ones lose one trailing CR and are skipped when empty; an unterminated tail is
/// `.tooLong` once it reaches the limit and is otherwise still pending.
func referenceFrames(_ input: [UInt8]) -> [FramedLine] {
    var frames: [FramedLine] = []
    var start = 0
    for index in input.indices where input[index] == 0x0A {
        let segment = input[start..<index]
        start = index + 1
        if segment.count >= ProtocolLimits.lineBytesMax {
            frames.append(.tooLong)
            continue
        }
        let line = segment.last == 0x0D ? segment.dropLast() : segment
        if !line.isEmpty { frames.append(.line(ArraySlice(line))) }
    }
    if input.count - start >= ProtocolLimits.lineBytesMax { frames.append(.tooLong) }
    return frames
}

/// Chunk sizes like a socket's reads: mostly short, sometimes around the line limit, sometimes
/// the whole rest. splitmix64, seeded from the input.
struct ChunkSizes {
    private var state: UInt64
    /// Which of the framer's two `append` overloads the last chunk used.
    private(set) var useArrayAppend = false

    init(seed: UInt64) {
        state = seed
    }

    mutating func next(remaining: Int) -> Int {
        let random = nextRandom()
        useArrayAppend = random & 1 == 0
        let size: Int
        switch (random >> 1) % 8 {
        case 0...3: size = 1 + Int((random >> 8) % 8)
        case 4, 5: size = 1 + Int((random >> 8) % 64)
        case 6: size = ProtocolLimits.lineBytesMax - 2 + Int((random >> 8) % 5)
        default: size = remaining
        }
        return min(size, remaining)
    }

    private mutating func nextRandom() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// FNV-1a over the input: the chunking seed.
func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return hash
}
