// Proves a large file deleted gradually (unlinked while open, then cut in steps) is gone at once by name, whatever its size, that a file with another name keeps its bytes, and that a missing file is an error, as with unlink; and that a range sync_file_range refuses is fdatasync'd instead, an error only if that fails too.

import Foundation
import Glibc
import Testing
@testable import CreditJournal

@Test(arguments: [0, 1, POSIXFile.removalStepBytes, POSIXFile.removalStepBytes * 2 + 4_097])
func aFileRemovedGraduallyIsGoneAndTheRestOfTheDirectoryStays(_ size: Int) throws {
    try withTempDirectory { directory in
        let doomed = POSIXFile.join(directory, "snapshot-old.bin")
        let kept = POSIXFile.join(directory, "journal-keep.log")
        #expect(FileManager.default.createFile(atPath: doomed, contents: Data(count: size)))
        #expect(FileManager.default.createFile(atPath: kept, contents: Data([1, 2, 3])))
        try POSIXFile.removeGradually(doomed)
        #expect(!FileManager.default.fileExists(atPath: doomed))
        #expect(try POSIXFile.listDirectory(directory) == ["journal-keep.log"])
        #expect(FileManager.default.contents(atPath: kept) == Data([1, 2, 3]))
    }
}

@Test func aFileWithAnotherNameKeepsItsBytesWhenOneNameIsRemovedGradually() throws {
    try withTempDirectory { directory in
        let doomed = POSIXFile.join(directory, "snapshot-old.bin")
        let copy = POSIXFile.join(directory, "operator-copy.bin")
        let bytes = Data((0..<(POSIXFile.removalStepBytes * 2 + 10)).map { UInt8(truncatingIfNeeded: $0) })
        #expect(FileManager.default.createFile(atPath: doomed, contents: bytes))
        #expect(link(doomed, copy) == 0)
        try POSIXFile.removeGradually(doomed)
        #expect(try POSIXFile.listDirectory(directory) == ["operator-copy.bin"])
        #expect(FileManager.default.contents(atPath: copy) == bytes, "not cut through the other name")
    }
}

@Test func removingAMissingFileGraduallyThrowsLikeUnlink() throws {
    try withTempDirectory { directory in
        let missing = POSIXFile.join(directory, "nothing-here")
        #expect(throws: JournalIOError.self) { try POSIXFile.removeGradually(missing) }
        #expect(throws: JournalIOError.self) { try POSIXFile.remove(missing) }
    }
}

@Test func aRangeThatCannotBeWrittenOutIsFdatasyncedInstead() throws {
    try withTempDirectory { directory in
        let path = POSIXFile.join(directory, "snapshot-1.bin.tmp")
        #expect(FileManager.default.createFile(atPath: path, contents: Data(count: 4096)))
        let fd = open(path, O_WRONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        // A negative offset: sync_file_range refuses it (EINVAL), as a sandbox that forbids the
        // call would; the fallback's fdatasync of the whole file succeeds.
        #expect(throws: JournalIOError.self) { try POSIXFile.writeOut(fd, offset: -1, count: 4096, path: path) }
        try POSIXFile.writeOutOrSync(fd, offset: -1, count: 4096, path: path)
        try POSIXFile.writeOutOrSync(fd, offset: 0, count: 4096, path: path)
    }
}

@Test func aFileThatCannotBeSyncedAtAllStillThrows() throws {
    // /dev/null takes neither sync_file_range (ESPIPE) nor fdatasync (EINVAL).
    let fd = open("/dev/null", O_WRONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    #expect(throws: JournalIOError.self) { try POSIXFile.writeOutOrSync(fd, offset: 0, count: 4096, path: "/dev/null") }
}
