// Restore: `creditd restore` — copy a checked backup into an empty data directory, then verify it.

import CreditJournal

/// Restores a backup directory written by BACKUP into a new data directory.
public enum Restore {
    /// Checks every file of the backup against its MANIFEST (size and SHA-256), copies them into
    /// `config.dataDirectory` (which must not exist or be empty: restore never overwrites),
    /// fsyncs them, then runs the checks of `creditd verify` on the result. Returns the report
    /// lines and whether everything passed. Throws before copying anything if the target is
    /// not empty or the backup does not match its manifest.
    public static func run(from backup: String, config: ServerConfig) throws -> (lines: [String], ok: Bool) {
        let target = config.dataDirectory
        if let existing = try BackupFiles.list(target), !existing.isEmpty {
            throw ServerError("\(target) is not empty: restore only into a new or empty data directory")
        }
        let manifest = try readManifest(backup)
        var files: [(BackupManifest.Entry, [UInt8])] = []
        for entry in manifest.entries { files.append((entry, try checkedFile(backup, entry))) }
        guard manifest.entries.contains(where: { $0.name == SnapshotStore.fileName(lsn: manifest.lsn) }) else {
            throw ServerError("\(backup): the manifest lists no snapshot at lsn \(manifest.lsn)")
        }
        try BackupFiles.makeDirectory(target, mayExist: true)
        for (entry, bytes) in files { try BackupFiles.writeNew(target + "/" + entry.name, bytes) }
        try BackupFiles.syncDirectory(target)
        var lines = ["restored \(files.count) files (backup at lsn \(manifest.lsn), taken \(manifest.created)) into \(target)"]
        if !manifest.entries.contains(where: { $0.name == Backup.secretFileName }) {
            lines.append("the backup holds no server secret: put the original secret_file in place before starting")
        }
        let verified = try Verify.run(config: config)
        return (lines + verified.lines, verified.ok)
    }

    private static func readManifest(_ backup: String) throws(ServerError) -> BackupManifest {
        let path = backup + "/" + BackupManifest.fileName
        let bytes = try BackupFiles.read(path)
        guard bytes.count <= BackupManifest.bytesMax else { throw ServerError("\(path) is too large to be a manifest") }
        return try BackupManifest.parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// The content of one backup file, after checking its size and SHA-256 against the manifest.
    private static func checkedFile(_ backup: String, _ entry: BackupManifest.Entry) throws(ServerError) -> [UInt8] {
        let path = backup + "/" + entry.name
        let bytes = try BackupFiles.read(path)
        let actual = BackupManifest.entry(name: entry.name, bytes: bytes)
        guard actual.byteCount == entry.byteCount else {
            throw ServerError("\(path): \(bytes.count) bytes, the manifest says \(entry.byteCount)")
        }
        guard actual.sha256 == entry.sha256 else { throw ServerError("\(path): SHA-256 does not match the manifest") }
        return bytes
    }
}
