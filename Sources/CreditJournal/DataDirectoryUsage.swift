// DataDirectoryUsage: what the journal and the snapshot take on disk now, for STATS.

#if canImport(Glibc)
import Glibc
#endif

/// Sizes of the journal segments, the spare segment, the newest snapshot and the spare snapshot in a data directory, read from the
/// directory listing and `stat`. Files may be deleted while this runs (a snapshot finishing
/// removes covered segments): those are skipped, so the figures are a moment's approximation.
public struct DataDirectoryUsage: Sendable {
    /// Journal segment files on disk.
    public var segmentCount = 0
    /// Bytes in those segment files.
    public var segmentBytes: Int64 = 0
    /// Bytes in the spare segment file being made or waiting to be used (`SparePreparer`).
    public var spareBytes: Int64 = 0
    /// LSN of the newest snapshot, nil without one.
    public var snapshotLSN: UInt64?
    /// Bytes in the newest snapshot file.
    public var snapshotBytes: Int64 = 0
    /// Modification time of the newest snapshot file, seconds since the Unix epoch.
    public var snapshotModifiedSeconds: Int64 = 0
    /// Bytes in the retired snapshot file kept for the next snapshot to be written over
    /// (`SnapshotStore.spareFileName`), 0 without one.
    public var snapshotSpareBytes: Int64 = 0

    /// Measures `directory`; a directory that cannot be listed measures as empty.
    public static func measure(directory: String) -> DataDirectoryUsage {
        var usage = DataDirectoryUsage()
        guard let names = try? POSIXFile.listDirectory(directory) else { return usage }
        for name in names where SegmentName.firstLSN(fileName: name) != nil {
            guard let info = status(POSIXFile.join(directory, name)) else { continue }
            usage.segmentCount += 1
            usage.segmentBytes += Int64(info.st_size)
        }
        if names.contains(SparePreparer.fileName),
           let info = status(POSIXFile.join(directory, SparePreparer.fileName)) {
            usage.spareBytes = Int64(info.st_size)
        }
        if let lsn = names.compactMap(SnapshotStore.snapshotLSN(fileName:)).max(),
           let info = status(POSIXFile.join(directory, SnapshotStore.fileName(lsn: lsn))) {
            usage.snapshotLSN = lsn
            usage.snapshotBytes = Int64(info.st_size)
            usage.snapshotModifiedSeconds = Int64(info.st_mtim.tv_sec)
        }
        if names.contains(SnapshotStore.spareFileName),
           let info = status(POSIXFile.join(directory, SnapshotStore.spareFileName)) {
            usage.snapshotSpareBytes = Int64(info.st_size)
        }
        return usage
    }

    private static func status(_ path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }
}
