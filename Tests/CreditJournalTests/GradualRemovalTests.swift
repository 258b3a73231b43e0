// Proves a large file deleted gradually (unlinked while open, then cut in steps) is gone at once by name, whatever its size, and that a missing file is an error, as with unlink.

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

@Test func removingAMissingFileGraduallyThrowsLikeUnlink() throws {
    try withTempDirectory { directory in
        let missing = POSIXFile.join(directory, "nothing-here")
        #expect(throws: JournalIOError.self) { try POSIXFile.removeGradually(missing) }
        #expect(throws: JournalIOError.self) { try POSIXFile.remove(missing) }
    }
}
