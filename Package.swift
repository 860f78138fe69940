// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cellbook",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cellbook", targets: ["cellbook"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries enter through one small target each.
        .target(
            name: "CCurlShim",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),

        // Operating-system utilities every layer shares: child processes, file lock, atomic
        // files, digests, PATH search, text formatting. Depends on nothing of cellbook's.
        .target(name: "SystemKit", dependencies: ["CCrypto"]),

        // The model: playbooks as plain values, parsed from YAML and validated. Knows nothing of execution.
        .target(name: "PlaybookModel", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The engine: runs cells, keeps session state and the per-cell cache.
        .target(name: "CellbookEngine", dependencies: ["PlaybookModel", "SystemKit"]),
        // HTTP over libcurl, wrapped once in async Swift; server-sent events.
        .target(name: "CellbookHTTP", dependencies: ["CCurlShim"]),
        // Will this model fit this instance: catalog, memory estimate, verdicts.
        .target(name: "HardwareFit", dependencies: ["SystemKit"], resources: [.copy("Resources/instances.json")]),
        // llmperf-compatible load generation and metrics.
        .target(name: "LoadBench", dependencies: ["CellbookHTTP"], resources: [.copy("Resources/sonnets.txt")]),
        // The local serving runtime: a llama.cpp server managed like a container image.
        .target(name: "LocalRuntime", dependencies: ["CellbookHTTP", "SystemKit"]),
        // Every cell kind, registered in one place (AllKinds.swift).
        .target(name: "CellbookKinds", dependencies: [
            "CellbookEngine", "PlaybookModel", "SystemKit", "CellbookHTTP", "LocalRuntime", "HardwareFit", "LoadBench",
        ]),
        // Thin commands, one file each.
        .target(name: "CellbookCLI", dependencies: [
            "CellbookEngine", "CellbookKinds", "PlaybookModel", "SystemKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "cellbook", dependencies: ["CellbookCLI"]),
        // The load generator's accuracy and overhead benchmark (scripts/bench/loadbench-accuracy.sh).
        .executableTarget(name: "loadbench-harness", dependencies: ["LoadBench"], path: "scripts/bench/driver"),

        .testTarget(name: "PlaybookModelTests", dependencies: ["PlaybookModel"]),
        .testTarget(name: "CellbookEngineTests", dependencies: ["CellbookEngine", "CellbookKinds", "PlaybookModel", "SystemKit"]),
        .testTarget(name: "CellbookHTTPTests", dependencies: ["CellbookHTTP"], exclude: ["Support/sse_server.py"]),
        .testTarget(name: "HardwareFitTests", dependencies: ["HardwareFit", "SystemKit"]),
        .testTarget(name: "LoadBenchTests", dependencies: ["LoadBench", "CellbookHTTP"]),
        .testTarget(name: "CellbookKindsTests", dependencies: ["CellbookKinds", "CellbookEngine", "LocalRuntime", "CellbookHTTP", "SystemKit"]),
    ]
)
