import Classification
import Foundation
import JSON
import Storage
import TestSupport
import Testing

/// A case whose response the 2026.11.2 engine computes but the 2026.11.1 engine could not: a kappa
/// myeloma with FLC values and no `flc_ratio_normal` (DOMAIN.md section 4, derived FLC ratio).
/// Baseline kappa 500 / lambda 10 (ratio 50, abnormal: measurable FLC), best 200 / 10: dFLC 490 -> 190, PR.
private func flcCaseJSON(_ externalID: String) -> String {
    caseJSON(
        externalID,
        [
            "isotype": ["heavy_chain": "light_chain_only", "light_chain": "kappa"],
            "response": [
                "baseline": ["involved_flc_mg_l": 500, "uninvolved_flc_mg_l": 10],
                "best": ["involved_flc_mg_l": 200, "uninvolved_flc_mg_l": 10],
            ],
        ])
}

/// The engine before the derived FLC ratio, whose rows a newer engine must find and recompute.
private let previousEngineVersion = "classification-2026.11.1"

/// Rewrites every stored case as the previous engine stored it: its version, and its response as
/// that engine computed it for `flcCaseJSON` (FLC ratio flag missing -> FLC not measurable ->
/// no category; the 2026.11.1 response object had no `flc_ratio_derived` or `not_evaluable`).
private func storeAsPreviousEngine(_ database: Database) throws {
    try database.write { connection in
        let stored = try connection.query("SELECT row_id, classification FROM cases") { ($0.int64(0), $0.string(1)) }
        for (rowID, text) in stored {
            var classification = try JSONValue.parse(text).objectValue ?? [:]
            classification["engine_version"] = .string(previousEngineVersion)
            classification["response"] = [
                "computed": nil, "reported": nil, "category": nil, "group": nil, "agreement": nil, "basis": [],
            ]
            try connection.run(
                """
                UPDATE cases SET engine_version = ?, classification = ?, response_category = NULL, response_group = NULL
                WHERE row_id = ?
                """,
                [previousEngineVersion, JSONValue.object(classification).serializedString(), rowID])
        }
    }
}

@Suite(.serialized) struct EngineBumpReclassificationTests {
    @Test func theEngineVersionChangedWithTheResponseRules() {
        #expect(ClassificationEngine.version != previousEngineVersion)
        #expect(ClassificationEngine.version == "classification-2026.11.2")
    }

    @Test func aCaseWhoseResponseChangesIsReclassifiedAndAudited() throws {
        let service = try TestService()
        let auth = try service.key(site: "HOSP-A", role: .submitter)
        #expect(try service.client.send("POST", "/v1/cases", json: flcCaseJSON("FLC-1"), headers: [auth]).status == 201)
        try storeAsPreviousEngine(service.database)
        let before = try service.client.get("/v1/cases/FLC-1", headers: [auth]).jsonValue
        #expect(before?["classification"]?["response"]?["computed"] == .null)
        #expect(before?["engine_version"]?.stringValue == previousEngineVersion)

        let result = try service.application.cases.reclassifyStale(keyID: "reclassify")
        #expect(result.updated == 1 && result.failed == 0)

        let current = try service.client.get("/v1/cases/FLC-1", headers: [auth])
        #expect(current.header("etag") == "\"2\"")
        let response = current.jsonValue?["classification"]?["response"]
        #expect(response?["computed"] == "PR")
        #expect(response?["basis"] == ["flc_ratio_derived", "dflc_reduction>=50%"])
        #expect(response?["flc_ratio_derived"]?.arrayValue?.first?["ratio"] == 50)
        #expect(response?.objectValue?.keys.contains("not_evaluable") == false)
        #expect(current.jsonValue?["engine_version"]?.stringValue == ClassificationEngine.version)
        // The indexed columns the cohorts group on follow the new classification.
        let row = try service.database.read {
            try $0.queryOne("SELECT response_category, response_group, engine_version FROM cases") {
                [$0.string(0), $0.string(1), $0.string(2)]
            }
        }
        #expect(row == ["PR", "PR+NR", ClassificationEngine.version])

        let last = try service.client.get("/v1/cases/FLC-1/history", headers: [auth]).jsonValue?["entries"]?.arrayValue?
            .last
        #expect(last?["action"] == "reclassify")
        let paths = Set(last?["changed_paths"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(paths.isSuperset(of: ["/classification/engine_version", "/classification/response/computed"]))
        #expect(try service.application.cases.reclassifyStale().updated == 0)
    }

    /// `icmm serve` reclassifies stale cases before it listens (Sources/icmm/ServeCommand.swift).
    @Test func serveReclassifiesAStaleCaseAtStart() throws {
        let tmp = TemporaryDirectory()
        defer { tmp.remove() }
        let db = tmp.file("db.sqlite")
        let file = tmp.file("cases.ndjson")
        try (flcCaseJSON("FLC-2") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try runICMM(["import", "--site", "HOSP-A", "--db", db, file])
        #expect(imported.0 == 0, "\(imported.2)")
        do {
            let database = try Database(configuration: .init(path: db))
            defer { database.close() }
            try storeAsPreviousEngine(database)
        }
        let created = try runICMM(["keys", "create", "--site", "HOSP-A", "--role", "submitter", "--db", db])
        let key = try #require(try JSONValue.parse(created.1)["key"]?.stringValue)
        let auth = ("Authorization", "Bearer \(key)")

        let server = try ServerProcess(database: db)
        defer { _ = server.signal(SIGTERM) }
        let current = try server.client.get("/v1/cases/FLC-2", headers: [auth]).jsonValue
        #expect(current?["classification"]?["response"]?["computed"] == "PR")
        #expect(current?["engine_version"]?.stringValue == ClassificationEngine.version)
        let last = try server.client.get("/v1/cases/FLC-2/history", headers: [auth]).jsonValue?["entries"]?.arrayValue?
            .last
        #expect(last?["action"] == "reclassify")
        #expect(last?["changed_paths"]?.arrayValue?.contains("/classification/response/computed") == true)
    }
}

/// openapi.yaml lists the closed vocabularies of the classification; the engine must emit nothing else.
@Suite struct OpenAPIClassificationVocabularyTests {
    let document: String

    init() throws {
        document = try String(contentsOfFile: repositoryRoot + "/openapi.yaml", encoding: .utf8)
    }

    @Test func everyResponseCriterionIsInTheBasisEnum() {
        for criterion in Classification.ResponseCriterion.allCases {
            #expect(document.contains("\n              - \(criterion.rawValue)\n"), "\(criterion.rawValue)")
        }
    }

    @Test func everyNotEvaluableCodeIsInItsEnum() {
        let codes = Classification.NotEvaluable.Code.allCases.map(\.rawValue).joined(separator: ", ")
        #expect(document.contains("enum: [\(codes)]"))
    }

    @Test func everyRecommendationSentenceIsListedVerbatim() {
        for recommendation in Classification.Localization.Recommendation.allCases {
            #expect(document.contains("- \"\(recommendation.sentence)\"\n"), "\(recommendation.sentence)")
        }
    }

    @Test func everyEngineVersionInTheExamplesIsTheCurrentOne() {
        let mentioned = document.components(separatedBy: "classification-20").dropFirst().map {
            "classification-20" + $0.prefix { $0.isNumber || $0 == "." }
        }
        #expect(!mentioned.isEmpty)
        // The pattern's own text (`classification-YEAR.MONTH.N`) does not start with a digit.
        #expect(Set(mentioned.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }) == [ClassificationEngine.version])
    }
}
