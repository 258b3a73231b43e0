// Backup: copies a fresh snapshot (and the server secret) into a new backup directory with a MANIFEST.

import CreditCore
import CreditJournal

/// Writes one backup directory: `<backup root>/backup-<UTC time>-lsn-<lsn>/` holding the snapshot
/// at `lsn`, the server secret when it lives in the data directory, and `MANIFEST` (written
/// last). Everything goes into a hidden temp directory first and is renamed into place once
/// fsync'd, so a backup directory that exists is complete: copying it elsewhere is a backup.
enum Backup {
    /// Prefix of backup directory names.
    static let directoryPrefix = "backup-"
    /// Name the server secret is stored under in a backup (and in a restored data directory).
    static let secretFileName = "server.secret"

    /// What a finished backup holds.
    struct Result {
        /// The backup directory's path.
        let directory: String
        /// Its manifest.
        let manifest: BackupManifest
        /// Whether the server secret was copied (false when `secret_file` is outside the data directory).
        let includesSecret: Bool
    }

    /// Copies the snapshot at `lsn` from `dataDirectory` (it must exist and cover every
    /// acknowledged record) into a new directory under `root`.
    static func write(dataDirectory: String, root: String, lsn: UInt64, secretPath: String, now: Instant) throws(ServerError) -> Result {
        try BackupFiles.makeDirectory(root, mayExist: true)
        let name = directoryPrefix + now.rfc3339.filter { $0 != ":" } + "-lsn-" + String(lsn)
        let final = root + "/" + name
        let temp = root + "/." + name + ".tmp"
        try BackupFiles.makeDirectory(temp, mayExist: false)
        var sources = [(SnapshotStore.fileName(lsn: lsn), dataDirectory + "/" + SnapshotStore.fileName(lsn: lsn))]
        let includesSecret = secretPath == dataDirectory + "/" + secretFileName
        if includesSecret { sources.append((secretFileName, secretPath)) }
        var entries: [BackupManifest.Entry] = []
        for (fileName, source) in sources {
            let bytes = try BackupFiles.read(source)
            try BackupFiles.writeNew(temp + "/" + fileName, bytes)
            entries.append(BackupManifest.entry(name: fileName, bytes: bytes))
        }
        let manifest = BackupManifest(lsn: lsn, created: now.rfc3339, entries: entries)
        try BackupFiles.writeNew(temp + "/" + BackupManifest.fileName, Array(manifest.text.utf8))
        try BackupFiles.syncDirectory(temp)
        try BackupFiles.rename(temp, to: final)
        try BackupFiles.syncDirectory(root)
        return Result(directory: final, manifest: manifest, includesSecret: includesSecret)
    }
}

extension Engine {
    /// BACKUP: snapshots everything applied so far (waiting for it: requests pause meanwhile,
    /// so the snapshot covers exactly what was acknowledged before this reply) and copies it out.
    func backup(tag: String?, out: inout [UInt8]) {
        guard let target = backupTarget else {
            return fail(tag: tag, CreditError(.internal, "backups are not configured"), out: &out)
        }
        journal.flush()
        snapshotter.snapshotNow(lsn: appliedLSN, ledger: ledger, journal: journal)
        do {
            let result = try Backup.write(dataDirectory: snapshotter.directory, root: target.root, lsn: appliedLSN,
                                          secretPath: target.secretPath, now: Instant.wallClock())
            Log.write(.info, "backup written", ["dir": result.directory, "lsn": String(appliedLSN)])
            encode(Self.backupReply(result), tag: tag, out: &out)
        } catch {
            Log.write(.error, "backup failed", ["error": error.description])
            fail(tag: tag, CreditError(.internal, "backup failed: \(error.description)"), out: &out)
        }
    }

    private static func backupReply(_ result: Backup.Result) -> Reply {
        let items = result.manifest.entries.map { entry in
            [Field("file", entry.name), Field("bytes", String(entry.byteCount)), Field("sha256", entry.sha256)]
        }
        return Reply(items: items, fields: [
            Field("backup", result.directory), Field("lsn", String(result.manifest.lsn)),
            Field("snapshot", SnapshotStore.fileName(lsn: result.manifest.lsn)),
            Field("files", String(result.manifest.entries.count + 1)),
            Field("bytes", String(result.manifest.entries.reduce(0) { $0 + $1.byteCount })),
            Field("secret", result.includesSecret ? "included" : "external"),
        ])
    }
}

/// Where BACKUP writes and which secret file it copies.
struct BackupTarget {
    /// The directory backups are created in (`backup_dir`).
    let root: String
    /// The server secret's path (`secret_file`).
    let secretPath: String
}
