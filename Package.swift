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

        // AWS without an SDK, pure (no network, no cells): SigV4 signing, credentials, region
        // and endpoints found as AWS tools find them, the event-stream decoder, retry policy,
        // error parsing.
        .target(name: "AWSCore", dependencies: ["SystemKit"]),

        // AWS service clients for exactly what the tutorial calls (STS, IAM, S3, SageMaker and its
        // runtime), thin over AWSCore and CellbookHTTP: signed, retried, errors parsed.
        .target(name: "AWSServices", dependencies: ["AWSCore", "CellbookHTTP", "CellbookJSON", "SystemKit"]),

        // The model: playbooks as plain values, parsed from YAML and validated. Knows nothing of execution.
        .target(name: "PlaybookModel", dependencies: [.product(name: "Yams", package: "Yams")]),
        // Recordings of runs: the versioned JSON-lines format read back, played back, compared.
        .target(name: "CellbookRecording", dependencies: ["PlaybookModel", "SystemKit"]),
        // The engine: runs cells, keeps session state and the per-cell cache, records runs.
        .target(name: "CellbookEngine", dependencies: ["PlaybookModel", "SystemKit", "CellbookRecording", "CellbookJSON"]),
        // JSON values that keep key order (request bodies, records, llmperf's files).
        .target(name: "CellbookJSON"),
        // HTTP over libcurl, wrapped once in async Swift; the server-sent-events framer.
        .target(name: "CellbookHTTP", dependencies: ["CCurlShim", "SystemKit"]),
        // The serving layer: the ServingTarget protocol every target implements, its typed
        // results, and the one chat-stream path (messages in, timed chunks out) that the chat
        // cell and the load generator share.
        .target(name: "ServingKit", dependencies: ["CellbookHTTP", "CellbookJSON", "PlaybookModel", "SystemKit"]),
        // Will this model fit this instance: catalog, memory estimate, verdicts.
        .target(name: "HardwareFit", dependencies: ["SystemKit"], resources: [.copy("Resources/instances.json")]),
        // llmperf-compatible load generation and metrics.
        .target(name: "LoadBench", dependencies: ["ServingKit", "CellbookHTTP", "CellbookJSON", "SystemKit"], resources: [.copy("Resources/sonnets.txt")]),
        // The local target and its runtime: a llama.cpp server managed like a container image.
        .target(name: "LocalServing", dependencies: ["ServingKit", "CellbookHTTP", "CellbookJSON", "PlaybookModel", "HardwareFit", "SystemKit"]),
        // The sagemaker target: the tutorial on real SageMaker through AWSServices.
        .target(name: "SageMakerServing", dependencies: [
            "ServingKit", "AWSServices", "AWSCore", "CellbookHTTP", "CellbookJSON", "PlaybookModel", "HardwareFit", "SystemKit",
        ]),
        // The replay target: chat and benchmark answered from a recording at its recorded pace.
        .target(name: "ReplayServing", dependencies: [
            "ServingKit", "CellbookRecording", "CellbookHTTP", "CellbookJSON", "PlaybookModel", "SystemKit",
        ]),
        // A recording as Markdown, a self-contained HTML page (with LoadBench's charts), a
        // Jupyter notebook or an asciicast.
        .target(name: "RecordingExport", dependencies: ["CellbookRecording", "LoadBench", "CellbookJSON", "PlaybookModel"]),
        // Every cell kind, registered in one place (AllKinds.swift).
        .target(name: "CellbookKinds", dependencies: [
            "CellbookEngine", "CellbookRecording", "PlaybookModel", "SystemKit", "CellbookHTTP", "CellbookJSON", "ServingKit", "LocalServing",
            "HardwareFit", "LoadBench", "SageMakerServing", "ReplayServing",
        ]),
        // Thin commands, one file each.
        .target(name: "CellbookCLI", dependencies: [
            "CellbookEngine", "CellbookKinds", "CellbookRecording", "RecordingExport", "PlaybookModel", "SystemKit", "ServingKit", "CellbookHTTP",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "cellbook", dependencies: ["CellbookCLI"]),
        // The load generator's accuracy and overhead benchmark (scripts/bench/loadbench-accuracy.sh).
        .executableTarget(name: "loadbench-harness", dependencies: [
            "LoadBench", "ServingKit", "SageMakerServing", "AWSServices", "AWSCore", "CellbookHTTP", "CellbookJSON",
        ], path: "scripts/bench/driver"),

        .testTarget(name: "PlaybookModelTests", dependencies: ["PlaybookModel"]),
        .testTarget(name: "CellbookEngineTests", dependencies: ["CellbookEngine", "CellbookKinds", "PlaybookModel", "SystemKit"]),
        .testTarget(name: "CellbookHTTPTests", dependencies: ["CellbookHTTP", "ServingKit"], exclude: ["Support/sse_server.py"]),
        .testTarget(name: "AWSCoreTests", dependencies: ["AWSCore", "SystemKit"], resources: [.copy("Fixtures")]),
        // The AWS fakes (moto, the fake SageMaker) as the AWS test targets start them.
        .target(name: "AWSTestSupport", dependencies: ["AWSServices", "AWSCore", "CellbookHTTP", "CellbookJSON"],
                path: "Tests/AWSTestSupport"),
        .testTarget(name: "AWSServicesTests", dependencies: ["AWSServices", "AWSCore", "CellbookHTTP", "CellbookJSON", "AWSTestSupport"]),
        .testTarget(name: "SageMakerServingTests", dependencies: [
            "SageMakerServing", "CellbookKinds", "CellbookEngine", "CellbookRecording", "PlaybookModel", "ServingKit", "AWSServices",
            "AWSCore", "CellbookHTTP", "CellbookJSON", "AWSTestSupport",
        ]),
        .testTarget(name: "HardwareFitTests", dependencies: ["HardwareFit", "SystemKit"]),
        .testTarget(name: "LoadBenchTests", dependencies: ["LoadBench", "ServingKit", "CellbookHTTP", "CellbookJSON"]),
        .testTarget(name: "LocalServingTests", dependencies: ["LocalServing", "ServingKit", "CellbookHTTP", "PlaybookModel", "SystemKit"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RecordingTests", dependencies: [
            "CellbookRecording", "CellbookEngine", "CellbookKinds", "ReplayServing", "RecordingExport", "ServingKit", "CellbookHTTP", "CellbookJSON",
            "PlaybookModel", "SystemKit",
        ]),
        .testTarget(name: "CellbookKindsTests", dependencies: [
            "CellbookKinds", "CellbookEngine", "LocalServing", "ServingKit", "CellbookHTTP", "CellbookJSON", "SystemKit",
        ]),
    ]
)
