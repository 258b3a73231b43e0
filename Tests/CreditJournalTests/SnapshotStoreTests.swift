// Proves snapshots round-trip, replace older ones atomically, ignore leftover temp files, that a body written in pieces makes the same file as one written whole, that a failed encoding leaves the older snapshot, that a damaged newest snapshot throws instead of falling back, that a replaced snapshot's file is kept as the spare the next one is written over (not truncated first, its tail cut to length) unless another name links to either, and that loading without removing leftovers changes nothing.

import Foundation
import Testing
import CreditJournal

@Test func snapshotRoundTripsAndReplacesOlderOnes() throws {
    try withTempDirectory { directory in
        #expect(try SnapshotStore.loadLatest(directory: directory) == nil)
        try SnapshotStore.write(directory: directory, lsn: 0, body: [0])  // an untouched ledger
        #expect(try SnapshotStore.loadLatest(directory: directory)?.lsn == 0)
        try SnapshotStore.write(directory: directory, lsn: 5, body: [1, 2, 3])
        let first = try #require(try SnapshotStore.loadLatest(directory: directory))
        #expect(first.lsn == 5 && first.bodyBytes == [1, 2, 3])

        let body = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try SnapshotStore.write(directory: directory, lsn: 9, body: body)
        let second = try #require(try SnapshotStore.loadLatest(directory: directory))
        #expect(second.lsn == 9 && second.bodyBytes == body)
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 9), SnapshotStore.spareFileName])

        try SnapshotStore.write(directory: directory, lsn: 12, body: [])
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == [])
    }
}

@Test func leftoverTempFilesAreIgnoredAndDeleted() throws {
    try withTempDirectory { directory in
        try SnapshotStore.write(directory: directory, lsn: 3, body: [3])
        let temp = directory + "/" + SnapshotStore.fileName(lsn: 8) + ".tmp"
        try writeFile(temp, [0xDE, 0xAD])
        let loaded = try #require(try SnapshotStore.loadLatest(directory: directory))
        #expect(loaded.lsn == 3)
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 3)])
    }
}

@Test func aDamagedNewestSnapshotThrowsRatherThanFallingBack() throws {
    try withTempDirectory { directory in
        try SnapshotStore.write(directory: directory, lsn: 4, body: [4, 4, 4, 4])
        let older = try readFile(directory + "/" + SnapshotStore.fileName(lsn: 4))
        try SnapshotStore.write(directory: directory, lsn: 7, body: [7, 7, 7, 7, 7])
        try writeFile(directory + "/" + SnapshotStore.fileName(lsn: 4), older)  // an intact older one
        let newestPath = directory + "/" + SnapshotStore.fileName(lsn: 7)
        let good = try readFile(newestPath)
        for position in 0..<good.count {
            var damaged = good
            damaged[position] ^= 0x40
            try writeFile(newestPath, damaged)
            let error = #expect(throws: JournalCorruption.self, "flip at \(position)") {
                try SnapshotStore.loadLatest(directory: directory)
            }
            #expect(error?.file == newestPath)
            #expect(error?.kind == .snapshot)
            #expect(error?.description.contains(SnapshotStore.fileName(lsn: 7)) == true)
        }
        for length in 0..<good.count {
            try writeFile(newestPath, Array(good[..<length]))
            #expect(throws: JournalCorruption.self, "truncated to \(length)") {
                try SnapshotStore.loadLatest(directory: directory)
            }
        }
        try writeFile(newestPath, good + [0])
        #expect(throws: JournalCorruption.self) { try SnapshotStore.loadLatest(directory: directory) }
    }
}

@Test func aBodyWrittenInPiecesMakesTheSameFileAsOneWrittenWhole() throws {
    let body = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
    try withTempDirectory { whole in
        try withTempDirectory { pieces in
            try SnapshotStore.write(directory: whole, lsn: 7, body: body)
            try SnapshotStore.write(directory: pieces, lsn: 7) { emit in
                var start = 0
                for size in [1, 28, 999_999, 2_000_000, 1_000_000] where start < body.count {
                    let end = min(start + size, body.count)
                    try body[start..<end].withUnsafeBytes { try emit($0) }
                    start = end
                }
            }
            let name = "/" + SnapshotStore.fileName(lsn: 7)
            #expect(FileManager.default.contents(atPath: pieces + name) == FileManager.default.contents(atPath: whole + name))
            let loaded = try #require(try SnapshotStore.loadLatest(directory: pieces))
            #expect(loaded.lsn == 7 && loaded.bodyBytes == body)
        }
    }
}

@Test func aFailedEncodingLeavesTheOlderSnapshotInPlace() throws {
    struct EncodingFailed: Error {}
    try withTempDirectory { directory in
        try SnapshotStore.write(directory: directory, lsn: 3, body: [3])
        #expect(throws: EncodingFailed.self) {
            try SnapshotStore.write(directory: directory, lsn: 8) { emit in
                try [UInt8]([8, 8]).withUnsafeBytes { try emit($0) }
                throw EncodingFailed()
            }
        }
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 3)])  // the temp file went with the error
        let loaded = try #require(try SnapshotStore.loadLatest(directory: directory))
        #expect(loaded.lsn == 3 && loaded.bodyBytes == [3])

        // The same while writing over a spare: the spare goes, the newest snapshot stays.
        try SnapshotStore.write(directory: directory, lsn: 5, body: [5, 5])
        #expect(throws: EncodingFailed.self) {
            try SnapshotStore.write(directory: directory, lsn: 8) { emit in
                try [UInt8]([8]).withUnsafeBytes { try emit($0) }
                throw EncodingFailed()
            }
        }
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 5)])
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == [5, 5])
    }
}

/// The inode number of a file, to tell which file a name now points at.
private func inode(_ path: String) throws -> UInt64 {
    var info = stat()
    guard stat(path, &info) == 0 else { throw JournalIOError(operation: "stat", path: path, code: errno) }
    return UInt64(info.st_ino)
}

@Test func aReplacedSnapshotIsKeptAsTheSpareAndTheNextIsWrittenOverIt() throws {
    try withTempDirectory { directory in
        let spare = directory + "/" + SnapshotStore.spareFileName
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try SnapshotStore.write(directory: directory, lsn: 4, body: big)
        let first = try inode(directory + "/" + SnapshotStore.fileName(lsn: 4))
        try SnapshotStore.write(directory: directory, lsn: 9, body: [9, 9])
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 9), SnapshotStore.spareFileName])
        #expect(try inode(spare) == first, "the replaced file, renamed")
        let second = try inode(directory + "/" + SnapshotStore.fileName(lsn: 9))

        // The next snapshot is the spare's file, written over and cut to its own length; the one
        // it replaces becomes the spare.
        let body = Array(big.prefix(1_000).reversed())
        try SnapshotStore.write(directory: directory, lsn: 15, body: body)
        let newest = directory + "/" + SnapshotStore.fileName(lsn: 15)
        #expect(try inode(newest) == first)
        #expect(try inode(spare) == second)
        #expect(try readFile(newest).count == SnapshotStore.headerByteCount + body.count)
        let loaded = try #require(try SnapshotStore.loadLatest(directory: directory))
        #expect(loaded.lsn == 15 && loaded.bodyBytes == body)

        // A larger body over a smaller spare grows the file.
        try SnapshotStore.write(directory: directory, lsn: 20, body: big)
        #expect(try inode(directory + "/" + SnapshotStore.fileName(lsn: 20)) == second)
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == big)
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 20), SnapshotStore.spareFileName])
        #expect(try readFile(spare).count == SnapshotStore.headerByteCount + body.count, "snapshot 15's file")
    }
}

@Test func aReplacedSnapshotWithAnotherLinkIsDeletedNotReused() throws {
    try withTempDirectory { directory in
        try SnapshotStore.write(directory: directory, lsn: 3, body: [3, 3, 3])
        let copy = directory + "/operator-copy.bin"
        #expect(link(directory + "/" + SnapshotStore.fileName(lsn: 3), copy) == 0)
        let saved = try readFile(copy)
        try SnapshotStore.write(directory: directory, lsn: 6, body: [6])
        #expect(try fileNames(directory) == ["operator-copy.bin", SnapshotStore.fileName(lsn: 6)])
        try SnapshotStore.write(directory: directory, lsn: 8, body: [8, 8])
        try SnapshotStore.write(directory: directory, lsn: 11, body: [11])
        #expect(try readFile(copy) == saved, "the linked copy is never written over")
    }
}

@Test func aSpareAndAHalfWrittenTempSurviveARestartAsTheyShould() throws {
    try withTempDirectory { directory in
        try SnapshotStore.write(directory: directory, lsn: 2, body: [2])
        try SnapshotStore.write(directory: directory, lsn: 5, body: [5, 5])
        // A crash while writing snapshot 9 over the spare: its temp holds part of a body.
        let temp = directory + "/" + SnapshotStore.fileName(lsn: 9) + ".tmp"
        #expect(rename(directory + "/" + SnapshotStore.spareFileName, temp) == 0)
        try writeFile(temp, Array(SnapshotStore.magic) + [9, 9, 9])
        let loaded = try #require(try SnapshotStore.loadLatest(directory: directory))
        #expect(loaded.lsn == 5 && loaded.bodyBytes == [5, 5])
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 5)], "the temp is deleted")

        // A spare left by the last run is kept at start-up and used by the next snapshot.
        try SnapshotStore.write(directory: directory, lsn: 12, body: [12])
        let spareInode = try inode(directory + "/" + SnapshotStore.spareFileName)
        #expect(try SnapshotStore.loadLatest(directory: directory)?.lsn == 12)
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 12), SnapshotStore.spareFileName])
        try SnapshotStore.write(directory: directory, lsn: 14, body: [14, 14])
        #expect(try inode(directory + "/" + SnapshotStore.fileName(lsn: 14)) == spareInode)
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == [14, 14])
    }
}

@Test func theSpareIsWrittenOverNotTruncatedFirstAndASmallerBodyCutsItsTail() throws {
    try withTempDirectory { directory in
        let big = [UInt8](repeating: 0xAB, count: (3 << 20) + 5_000)  // over three 1 MiB removal steps
        try SnapshotStore.write(directory: directory, lsn: 2, body: big)
        try SnapshotStore.write(directory: directory, lsn: 4, body: [4])  // snapshot 2's file is the spare
        let temp = directory + "/" + SnapshotStore.fileName(lsn: 6) + ".tmp"
        var sizeWhileWriting: Int?
        try SnapshotStore.write(directory: directory, lsn: 6) { emit in
            sizeWhileWriting = try readFile(temp).count  // before any piece: still the spare's bytes
            try [UInt8]([6, 6, 6]).withUnsafeBytes { try emit($0) }
        }
        #expect(sizeWhileWriting == SnapshotStore.headerByteCount + big.count, "opened without O_TRUNC")
        #expect(try readFile(directory + "/" + SnapshotStore.fileName(lsn: 6)).count == SnapshotStore.headerByteCount + 3)
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == [6, 6, 6])
    }
}

@Test func aSpareWithAnotherLinkIsNotWrittenOver() throws {
    try withTempDirectory { directory in
        try SnapshotStore.write(directory: directory, lsn: 2, body: [2, 2])
        try SnapshotStore.write(directory: directory, lsn: 4, body: [4])
        let spare = directory + "/" + SnapshotStore.spareFileName
        let copy = directory + "/copy-of-spare"  // as `cp -al` of the data directory makes
        #expect(link(spare, copy) == 0)
        let saved = try readFile(copy)
        try SnapshotStore.write(directory: directory, lsn: 9, body: [9, 9, 9, 9])
        #expect(try readFile(copy) == saved)
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == [9, 9, 9, 9])
        #expect(try fileNames(directory) == ["copy-of-spare", SnapshotStore.fileName(lsn: 9), SnapshotStore.spareFileName])
    }
}

@Test func loadingWithoutRemovingLeftoversChangesNothing() throws {
    try withTempDirectory { directory in
        try SnapshotStore.write(directory: directory, lsn: 3, body: [3])
        let temp = directory + "/" + SnapshotStore.fileName(lsn: 8) + ".tmp"  // a live daemon's snapshot in progress
        try writeFile(temp, [0xDE, 0xAD])
        let before = try fileNames(directory)
        #expect(try SnapshotStore.loadLatest(directory: directory, access: .read, removingLeftovers: false)?.lsn == 3)
        #expect(try fileNames(directory) == before)
    }
}

@Test func aSnapshotAtTheSameLSNKeepsTheFileItReplacesAsTheSpare() throws {
    try withTempDirectory { directory in
        let name = directory + "/" + SnapshotStore.fileName(lsn: 5)
        try SnapshotStore.write(directory: directory, lsn: 5, body: [5, 5, 5])
        let first = try inode(name)
        try SnapshotStore.write(directory: directory, lsn: 5, body: [5, 5])  // BACKUP again, nothing changed between
        #expect(try fileNames(directory) == [SnapshotStore.fileName(lsn: 5), SnapshotStore.spareFileName])
        #expect(try inode(directory + "/" + SnapshotStore.spareFileName) == first)
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == [5, 5])
        // A crash between the link and the rename leaves the spare sharing the newest file: the
        // next snapshot does not write over it.
        let newest = try readFile(name)
        #expect(unlink(directory + "/" + SnapshotStore.spareFileName) == 0)
        #expect(link(name, directory + "/" + SnapshotStore.spareFileName) == 0)
        try SnapshotStore.write(directory: directory, lsn: 8, body: [8])
        #expect(try SnapshotStore.loadLatest(directory: directory)?.bodyBytes == [8])
        #expect(try readFile(directory + "/" + SnapshotStore.spareFileName) == newest, "snapshot 5, intact")
    }
}
