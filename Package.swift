// swift-tools-version:6.0
// creditd: a stored-value daemon for retail. No package dependencies: Foundation, Dispatch,
// Glibc and OpenSSL's libcrypto and libssl through system library targets.
import PackageDescription

let package = Package(
    name: "creditd",
    // Libraries other packages may link: the fuzzing package under Tests/Fuzz needs these.
    products: [
        .library(name: "CreditCore", targets: ["CreditCore"]),
        .library(name: "CreditProtocol", targets: ["CreditProtocol"]),
        .library(name: "CreditJournal", targets: ["CreditJournal"]),
    ],
    targets: [
        // OpenSSL's libcrypto (HMAC, SHA-256, RAND_bytes). Only CreditCrypto imports it.
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // OpenSSL's libssl (TLS). Only CreditTLS imports it.
        .systemLibrary(
            name: "CLibSSL",
            pkgConfig: "libssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // epoll, eventfd and accept4, which Swift's Glibc module does not expose.
        .target(name: "CEpoll"),
        // CRC-32C with the CPU's crc32 instruction (x86-64 SSE 4.2), for journal records and snapshots.
        .target(name: "CCRC32C"),
        // sync_file_range, which Swift's Glibc module does not expose (spare journal segments).
        .target(name: "CSyncFileRange"),
        // The CPU's prefetch hint, for replay's look-ahead over the ledger's tables.
        .target(name: "CPrefetch"),
        // Money, currencies, credits, holds and the ledger: pure, no I/O.
        .target(name: "CreditCore", dependencies: ["CPrefetch"]),
        // Card numbers, PINs, keyed hashes, CSPRNG.
        .target(name: "CreditCrypto", dependencies: ["CLibCrypto", "CreditCore"]),
        // TLS contexts (server and client) and non-blocking sessions over a caller's socket.
        .target(name: "CreditTLS", dependencies: ["CLibSSL"]),
        // Record framing, segments, group commit, snapshots, replay.
        .target(name: "CreditJournal", dependencies: ["CCRC32C", "CSyncFileRange", "CreditCore"]),
        // Line framing, request parsing, reply encoding, the command table.
        .target(name: "CreditProtocol", dependencies: ["CreditCore"]),
        // Listener, connections, the engine loop, config, signals.
        .target(
            name: "CreditServer",
            dependencies: ["CEpoll", "CreditCore", "CreditCrypto", "CreditJournal", "CreditProtocol", "CreditTLS"],
            // The event loop's connections are classes, whose every in-place change the runtime
            // checks for overlapping access: about 5% of a HOLD's instructions. Release builds
            // skip that run-time check (the compile-time one stays); debug builds, which the
            // tests use, keep it, so an overlap still traps under `swift test`.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(name: "creditd", dependencies: ["CreditServer"]),
        // The load generator: drives a running daemon and reports throughput and latency.
        .executableTarget(name: "creditd-bench", dependencies: ["CEpoll"]),
        .executableTarget(name: "creditd-crashtest", dependencies: ["CreditClient"]),
        // A client for creditd's line protocol: connect, authenticate, send requests, parse replies.
        .target(name: "CreditClient", dependencies: ["CreditTLS"]),
        // The admin command-line tool.
        .executableTarget(name: "creditctl", dependencies: ["CreditClient"]),

        // Test support shared by the wire test targets: starts the real daemon, talks to it.
        .target(name: "CreditTestSupport", dependencies: ["CreditTLS"], path: "Tests/CreditTestSupport"),
        // The ledger simulation journals every entry through the real codecs and recovers from torn tails.
        .testTarget(name: "CreditCoreTests", dependencies: ["CreditCore", "CreditJournal"]),
        .testTarget(name: "CreditCryptoTests", dependencies: ["CreditCrypto"]),
        .testTarget(name: "CreditJournalTests", dependencies: ["CreditJournal"]),
        .testTarget(name: "CreditProtocolTests", dependencies: ["CreditProtocol"]),
        .testTarget(
            name: "CreditServerTests",
            dependencies: ["CreditServer", "CreditJournal", "CreditCore", "CreditTestSupport", "creditd"]
        ),
        .testTarget(name: "CreditClientTests", dependencies: ["CreditClient", "CreditTestSupport", "creditd"]),
    ],
    swiftLanguageModes: [.v6]
)
