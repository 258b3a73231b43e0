// Proves FileBytes gives a file's exact bytes whether mapped or read (empty files, files larger
// than a page, files not a page multiple), that a missing file is an open error and not a crash,
// and that a mapping outlives the file's name being removed (the journal's old segments are
// removed while nothing maps them, but a mapping must not depend on it).

import Glibc
import Testing
import CreditJournal

@Test(arguments: [FileBytes.Access.mapped, .read])
func fileBytesAreTheFilesBytesWhicheverWayTheyAreLoaded(access: FileBytes.Access) throws {
    try withTempDirectory { directory in
        for size in [0, 1, 4095, 4096, 4097, 3 * 4096 + 17, 1 << 20] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            let path = directory + "/file-\(size)"
            try writeFile(path, bytes)
            let file = try FileBytes(path: path, access: access)
            #expect(file.bytes.count == size)
            #expect(file.withUnsafeBytes { Array($0) } == bytes)
        }
        let missing = #expect(throws: JournalIOError.self) { try FileBytes(path: directory + "/missing", access: access) }
        #expect(missing?.operation == "open" && missing?.code == ENOENT)
    }
}

@Test func aMappedFileKeepsItsBytesAfterItsNameIsRemoved() throws {
    try withTempDirectory { directory in
        let path = directory + "/segment"
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        try writeFile(path, bytes)
        let file = try FileBytes(path: path, access: .mapped)
        #expect(unlink(path) == 0)
        #expect(file.withUnsafeBytes { Array($0) } == bytes)
    }
}
