// swift-tools-version:6.0
// creditd's libFuzzer targets: the request parser (with the line framer, command table and reply
// encoder), the journal entry decoder and the snapshot decoder. A separate package so the
// daemon's own build and `swift test` never see libFuzzer; build and run it with `.ci/fuzz`.
import PackageDescription

let package = Package(
    name: "creditd-fuzz",
    dependencies: [
        // The daemon's package, whatever its checkout directory is called.
        .package(name: "creditd", path: "../.."),
    ],
    targets: [
        // The libFuzzer driver entry, wrapped once for Swift. Linked only into fuzz targets.
        .target(name: "LibFuzzer"),
        // Fixtures the fuzz targets and the seed writer share.
        .target(name: "FuzzSupport", dependencies: [.product(name: "CreditCore", package: "creditd")]),
        .executableTarget(
            name: "FuzzRequestParser",
            dependencies: ["LibFuzzer", "FuzzSupport", .product(name: "CreditCore", package: "creditd"),
                           .product(name: "CreditProtocol", package: "creditd")]
        ),
        .executableTarget(
            name: "FuzzEntryDecoder",
            dependencies: ["LibFuzzer", "FuzzSupport", .product(name: "CreditCore", package: "creditd"),
                           .product(name: "CreditJournal", package: "creditd")]
        ),
        .executableTarget(
            name: "FuzzSnapshotDecoder",
            dependencies: ["LibFuzzer", "FuzzSupport", .product(name: "CreditCore", package: "creditd"),
                           .product(name: "CreditJournal", package: "creditd")]
        ),
        // Writes the seed corpora for the decoders from a real ledger session (not a fuzz target).
        .executableTarget(
            name: "FuzzSeeds",
            dependencies: ["FuzzSupport", .product(name: "CreditCore", package: "creditd"),
                           .product(name: "CreditJournal", package: "creditd"),
                           .product(name: "CreditProtocol", package: "creditd")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
