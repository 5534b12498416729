// swift-tools-version:6.1
// ICMM Registry: one module per layer, dependencies pointing one way
// (C shims -> HTTPServer / Storage -> pure engines -> Registry -> API -> icmm).
import PackageDescription

let package = Package(
    name: "icmm-registry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "icmm", targets: ["icmm"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C libraries, as system library modules (module map + shim header, nothing else).
        .systemLibrary(
            name: "CMicroHTTPD", pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CPostgreSQL", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        // glibc's malloc.h (mallopt, malloc_trim): the server returns freed memory after large imports.
        .systemLibrary(name: "CMalloc"),
        // Non-variadic wrappers for the variadic libmicrohttpd calls Swift cannot import.
        .target(name: "CMicroHTTPDShims", dependencies: ["CMicroHTTPD"]),

        // HTTP over libmicrohttpd: request, response, router, server. No domain words.
        .target(
            name: "HTTPServer",
            dependencies: [
                "CMicroHTTPD", "CMicroHTTPDShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        // SQLite and PostgreSQL behind one interface: connections, statements, pools, migrations.
        .target(
            name: "Storage",
            dependencies: [
                "CSQLite", "CPostgreSQL", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // Pure modules: values in, values out, no I/O.
        .target(name: "JSON"),
        .target(name: "Survival"),
        .target(name: "Classification", dependencies: ["JSON"]),
        // FHIR R4 Bundles <-> section 9 cases (DOMAIN.md section 10), with FHIRPath-located issues.
        .target(name: "FHIR", dependencies: ["JSON", "Classification"]),
        // Pure renderings of analysis results: the Kaplan-Meier plot as SVG.
        .target(name: "Reports", dependencies: ["Survival"]),
        // Cohort statistics: cohort rows and a typed query in, results with small-cell suppression
        // applied out, and their one JSON encoding. No clock, no I/O.
        .target(name: "Cohorts", dependencies: ["Classification", "Survival"]),

        // Cases, keys, audit and cohorts over Storage.
        .target(
            name: "Registry",
            dependencies: [
                "Storage", "JSON", "Classification", "Survival", "Cohorts",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Routes, JSON bodies, auth, error -> status mapping. The only module that knows HTTP and the domain.
        .target(
            name: "API",
            dependencies: [
                "HTTPServer", "Storage", "JSON", "Classification", "Survival", "Reports", "Registry", "Cohorts", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "FHIR",
            ],
            // The dashboard page, compiled into the binary (nothing to find at run time).
            resources: [
                .embedInCode("Resources/dashboard/index.html"), .embedInCode("Resources/dashboard/app.js"),
                .embedInCode("Resources/dashboard/style.css"),
                // The script's ES modules, served by `GET /dashboard/modules/{name}` (Application+Dashboard.swift).
                .embedInCode("Resources/dashboard/modules/controls.js"), .embedInCode("Resources/dashboard/modules/dom.js"),
                .embedInCode("Resources/dashboard/modules/downloads.js"), .embedInCode("Resources/dashboard/modules/format.js"),
                .embedInCode("Resources/dashboard/modules/key.js"), .embedInCode("Resources/dashboard/modules/plots.js"),
                .embedInCode("Resources/dashboard/modules/question.js"), .embedInCode("Resources/dashboard/modules/requests.js"),
                .embedInCode("Resources/dashboard/modules/views.js"), .embedInCode("Resources/dashboard/modules/vocabulary.js"),
            ]),
        .executableTarget(
            name: "icmm",
            dependencies: [
                "API", "HTTPServer", "Storage", "Registry", "Survival", "Classification", "JSON", "Cohorts", "FHIR",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // Benchmark driver for benchmarks/competing (the competing-risks engine on a CSV).
        .executableTarget(name: "CompetingBench", dependencies: ["Survival"], path: "benchmarks/competing/Sources"),

        // A socket-level HTTP client and temporary folders for the tests of every layer.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"]),
        .testTarget(name: "SurvivalTests", dependencies: ["Survival", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ClassificationTests", dependencies: ["Classification", "JSON"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Survival"]),
        // Fixture Bundles (and the R4 validator script) are read from the source tree.
        .testTarget(name: "FHIRTests", dependencies: ["FHIR", "Classification", "JSON"], exclude: ["Fixtures"]),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: ["HTTPServer", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
        .testTarget(
            name: "RegistryTests",
            dependencies: ["Registry", "Cohorts", "Survival", "Storage", "Classification", "JSON", "TestSupport"]),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "HTTPServer", "Storage", "Registry", "JSON", "Classification", "Survival", "Cohorts", "TestSupport", "FHIR",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // R scripts and their fixtures, read from the source tree by the tests.
            exclude: ["Fixtures"]),
    ]
)
