// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tfctl",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tfctl", targets: ["tfctl"]),
        .executable(name: "realtime-server", targets: ["realtime-server"]),
        .library(name: "RealtimeServer", targets: ["RealtimeServer"]),
        .library(name: "TopologyModel", targets: ["TopologyModel"]),
        .library(name: "TfctlKit", targets: ["EnvironmentLoader", "Validation", "Renderers", "RenderPipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        // Already built for jwt-kit; tfctl fingerprints the bundled image's source with its SHA-256.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // Latency percentiles of tfctl loadtest.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The server's HTTPS client (the Realtime Database's REST API, the metadata server, IAM Credentials).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // Deque: the fallback mirror's queue (already in the graph through SwiftNIO).
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // parse -> model -> validate -> translate -> print -> write; each module knows only the ones below it.
        .target(name: "TopologyModel"),
        .target(name: "Diagnostics", dependencies: ["JSON"]),
        .target(
            name: "EnvironmentLoader",
            dependencies: ["TopologyModel", "Diagnostics", .product(name: "Yams", package: "Yams")]
        ),
        // EngineIO (pure, no dependencies) for the protocol defaults the rules reckon with.
        .target(name: "Validation", dependencies: ["TopologyModel", "Diagnostics", "EngineIO"]),
        .target(name: "HCL"),
        .target(name: "Shell"),
        .target(name: "EngineIO"),
        // One JSON tree and printer: Socket.IO payloads, the manifest, the relay endpoints document.
        .target(name: "JSON"),
        .target(name: "SocketIO", dependencies: ["JSON"]),
        .target(name: "Planning", dependencies: ["HCL", "JSON"], resources: [.copy("Resources/prices.json")]),
        .target(
            name: "Renderers",
            dependencies: ["TopologyModel", "HCL", "Shell", "JSON"]
        ),
        .target(
            name: "RenderPipeline",
            dependencies: ["Diagnostics", "EnvironmentLoader", "Validation", "Renderers", "Planning", "TopologyModel"]
        ),
        // tfctl loadtest: Socket.IO clients and a publisher on SwiftNIO, latency in an HdrHistogram.
        .target(
            name: "LoadTest",
            dependencies: [
                "JSON", "EngineIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // The local target: the topology's processes on this machine, supervised (apply --target local).
        // The Realtime Database stand-in is a Python script the local runtime starts (python3 runs it).
        .target(
            name: "LocalRuntime", dependencies: ["TopologyModel", "JSON", "Renderers"],
            resources: [
                .copy("Resources/rtdb_standin.py"), .copy("Resources/rtdb_rules.py"), .copy("Resources/rtdb_auth.py"),
            ]),
        .target(
            name: "TfctlCLI",
            dependencies: [
                "TopologyModel", "Diagnostics", "EnvironmentLoader", "Validation", "Renderers", "Planning",
                "RenderPipeline",
                // The local target and the load generator drive processes through Linux's /proc and posix_spawn.
                .target(name: "LocalRuntime", condition: .when(platforms: [.linux])),
                .target(name: "LoadTest", condition: .when(platforms: [.linux])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(name: "tfctl", dependencies: ["TfctlCLI"]),
        .target(
            name: "RealtimeServer",
            dependencies: [
                "EngineIO", "SocketIO", "JSON", "Redis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            // The reference browser client, served at /fallback/v1/client.js.
            resources: [
                .copy("Resources/realtime-client.js"), .copy("Resources/socket.io.min.js"),
                .copy("Resources/demo.html"),
            ]
        ),
        .executableTarget(name: "realtime-server", dependencies: ["RealtimeServer"]),
        // A small RESP2/RESP3 client on SwiftNIO: the mirror has no Redis package.
        .target(
            name: "Redis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "LocalRuntimeTests",
            dependencies: ["LocalRuntime", "EnvironmentLoader", "TopologyModel", "JSON", "TestSupport"]),
        .testTarget(name: "LoadTestTests", dependencies: ["LoadTest"]),
        .testTarget(name: "HCLTests", dependencies: ["HCL", "TestSupport"]),
        .testTarget(name: "ShellTests", dependencies: ["Shell", "TestSupport"]),
        .testTarget(name: "ProtocolTests", dependencies: ["EngineIO", "SocketIO", "JSON"]),
        .testTarget(
            name: "RealtimeServerTests",
            dependencies: [
                "RealtimeServer", "EngineIO", "SocketIO", "JSON", "Redis", "TestSupport", "TopologyModel",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]),
        .testTarget(
            name: "RedisTests",
            dependencies: ["Redis", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "PlanningTests",
            dependencies: [
                "Planning", "HCL", "TfctlCLI", "EnvironmentLoader", "Renderers", "TopologyModel", "TestSupport",
                "RenderPipeline",
            ],
            exclude: ["Fixtures", "Goldens"]
        ),
        .testTarget(
            name: "EnvironmentLoaderTests",
            dependencies: ["EnvironmentLoader", "Diagnostics", "TopologyModel", "TestSupport"]),
        .testTarget(
            name: "ValidationTests",
            dependencies: [
                "Validation", "EnvironmentLoader", "Diagnostics", "TopologyModel", "TestSupport", "RenderPipeline",
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "RenderersTests",
            dependencies: [
                "Renderers", "EnvironmentLoader", "Validation", "TopologyModel", "TfctlCLI", "TestSupport",
                "RenderPipeline",
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Goldens"]
        ),
    ]
)
