import Foundation
import JSON
import Registry
import TestSupport
import Testing

/// The cohort endpoints against R's survival package (issue 6): registry cases built from
/// `survival::lung` and the results R computes for them, both written by
/// `Tests/APITests/Fixtures/cohort/make_cohort_fixtures.R` (see its header for the layout of
/// `expected.json`). Every value R gives must come back from the service: numbers to 1e-9
/// relative (Cox 1e-6), counts exactly, nulls as nulls.
@Suite struct CohortFixtureTests {
    static let directory = repositoryRoot + "/Tests/APITests/Fixtures/cohort"

    /// The fixture file, parsed once.
    static let expected = fixtureJSON(directory + "/expected.json")

    static let survivalFixtures: [String] =
        expected["survival"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    static let coxFixtures: [String] = expected["cox"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []

    static func fixture(_ section: String, _ name: String) -> JSONValue? {
        expected[section]?.arrayValue?.first { $0["name"]?.stringValue == name }
    }

    /// The service with every fixture case imported, split over two sites, and an analyst key.
    static func serviceWithCases() throws -> (TestService, (String, String)) {
        try serviceWithFixtureCases(directory, expected: expected)
    }

    @Test func theFixtureIsComplete() {
        #expect(Self.survivalFixtures.count == 7)
        #expect(Self.coxFixtures == ["cox_os_sex_age", "cox_os_sex_age_ph", "cox_os_sex_age_strata_localization_ph"])
        #expect(Self.survivalFixtures.allSatisfy { Self.fixture("survival", $0)?["expected"]?["rmst_differences"]?.arrayValue?.count == 1 })
        #expect(Self.expected["generator"]?["survival_version"] == "3.5.3")
    }

    @Test(arguments: survivalFixtures)
    func survivalMatchesR(_ name: String) throws {
        let fixture = try #require(Self.fixture("survival", name))
        let query = try #require(fixture["query"]?.stringValue)
        let (service, analyst) = try Self.serviceWithCases()
        let response = try service.client.get("/v1/cohorts/survival?" + query, headers: [analyst])
        try #require(response.status == 200, "\(name): \(response.status) \(response.text.prefix(2000))")
        let body = try #require(response.jsonValue)
        let mismatches = jsonMismatches(
            expected: try #require(fixture["expected"]), actual: body, tolerance: .survival)
        #expect(
            mismatches.isEmpty,
            Comment(
                rawValue: "\(name) (\(query)): \(mismatches.count) mismatches\n"
                    + mismatches.prefix(12).joined(separator: "\n")))
        for member in fixture["absent"]?.arrayValue ?? [] {
            let key = try #require(member.stringValue)
            #expect(
                body[key] == nil || body[key] == .null,
                "\(name): \(key) must be left out, got \(String(describing: body[key]))")
        }
    }

    @Test(arguments: coxFixtures)
    func coxMatchesR(_ name: String) throws {
        let fixture = try #require(Self.fixture("cox", name))
        let query = try #require(fixture["query"]?.stringValue)
        let (service, analyst) = try Self.serviceWithCases()
        let response = try service.client.get("/v1/cohorts/cox?" + query, headers: [analyst])
        try #require(response.status == 200, "\(name): \(response.status) \(response.text.prefix(2000))")
        let body = try #require(response.jsonValue)
        let mismatches = jsonMismatches(expected: try #require(fixture["expected"]), actual: body, tolerance: .cox)
        #expect(
            mismatches.isEmpty,
            Comment(
                rawValue: "\(name) (\(query)): \(mismatches.count) mismatches\n"
                    + mismatches.prefix(12).joined(separator: "\n")))
    }

    /// Strata and covariates the data cannot support are refused naming the field (issue 10).
    @Test func badStrataAndCovariatesAreRefusedNamingThem() throws {
        let (service, analyst) = try Self.serviceWithCases()
        for (query, name) in [
            ("covariates=sex&strata=colour", "strata"), ("covariates=sex&strata=sex", "strata"),
            ("covariates=sex&ph_test=yes", "ph_test"), ("covariates=sex&strata=localization&strata=sex", "strata"),
        ] {
            let response = try service.client.get("/v1/cohorts/cox?" + query, headers: [analyst])
            #expect(response.status == 400, "\(query): \(response.status)")
            #expect(response.jsonValue?["errors"]?.arrayValue?.first?["path"] == .string(name), "\(query)")
        }
        // Every lung case has the same therapy class: one level.
        for (query, name) in [("covariates=sex&strata=therapy_class", "therapy_class"), ("covariates=therapy_class", "therapy_class")] {
            let response = try service.client.get("/v1/cohorts/cox?" + query, headers: [analyst])
            #expect(response.status == 422, "\(query): \(response.status)")
            #expect(response.jsonValue?["detail"]?.stringValue?.contains("'\(name)") == true, "\(query): \(response.text)")
        }
    }

    @Test func aRepeatedQueryWithItsETagIsNotModifiedUntilACaseChanges() throws {
        let query = try #require(Self.fixture("survival", "os_sex_ic_log")?["query"]?.stringValue)
        let path = "/v1/cohorts/survival?" + query
        let (service, analyst) = try Self.serviceWithCases()
        let first = try service.client.get(path, headers: [analyst])
        #expect(first.status == 200)
        let etag = try #require(first.header("ETag"), "no ETag on a cohort response")
        let again = try service.client.get(path, headers: [analyst, ("If-None-Match", etag)])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        // A write to any case changes the data version, hence the ETag.
        let submitter = try service.key(site: "HOSP-C", role: .submitter)
        let created = try service.client.send("POST", "/v1/cases", json: caseJSON("NEW-1"), headers: [submitter])
        #expect(created.status == 201)
        let after = try service.client.get(path, headers: [analyst, ("If-None-Match", etag)])
        #expect(after.status == 200)
        #expect(after.header("ETag") != nil && after.header("ETag") != etag)
        #expect(after.jsonValue?["n"] == 228)
    }

    @Test func theComparisonReportsThePathOfEachDifference() throws {
        let expected = try JSONValue.parse(#"{"a": [1.0, {"n": 3, "x": null}], "s": "k", "p": 0.5}"#)
        #expect(jsonMismatches(expected: expected, actual: expected, tolerance: .survival).isEmpty)
        let close = try JSONValue.parse(
            #"{"a": [1.0000000000001, {"n": 3, "x": null, "extra": 1}], "s": "k", "p": 0.5}"#)
        #expect(jsonMismatches(expected: expected, actual: close, tolerance: .survival).isEmpty)
        let wrong = try JSONValue.parse(#"{"a": [1.00001, {"n": 3.0000000001, "x": 0}], "s": "K"}"#)
        let found = jsonMismatches(expected: expected, actual: wrong, tolerance: .survival)
        #expect(found.map { $0.prefix(while: { $0 != ":" }) } == ["/a/0", "/a/1/n", "/a/1/x", "/p", "/s"])
    }
}

// MARK: - Comparing a response with R's results

struct NumericTolerance {
    var relative: Double
    var absolute: Double
    static let survival = NumericTolerance(relative: 1e-9, absolute: 1e-12)
    static let cox = NumericTolerance(relative: 1e-6, absolute: 1e-12)
}

/// Members that are counts and must match exactly.
private let countKeys: Set<String> = ["n", "events", "n_risk", "n_event", "n_censor", "df", "iterations"]

/// Every place where `actual` differs from `expected`, as "path: expected X, got Y", in document
/// order (the first one is the first mismatch). Every member of an expected object must be in the
/// actual object (extra actual members are allowed); arrays must have the same length; numbers
/// agree when |actual - expected| <= max(relative * |expected|, absolute), counts exactly; strings,
/// booleans and nulls exactly.
func jsonMismatches(expected: JSONValue, actual: JSONValue?, tolerance: NumericTolerance, path: String = "") -> [String]
{
    let here = path.isEmpty ? "/" : path
    guard let actual else { return ["\(here): expected \(expected.serializedString()), member missing"] }
    switch expected {
    case .object(let members):
        guard case .object(let actualMembers) = actual else {
            return ["\(here): expected an object, got \(actual.serializedString().prefix(200))"]
        }
        var result: [String] = []
        for key in members.keys.sorted() {
            result += jsonMismatches(
                expected: members[key]!, actual: actualMembers[key], tolerance: tolerance, path: path + "/" + key)
        }
        return result
    case .array(let elements):
        guard case .array(let actualElements) = actual else {
            return ["\(here): expected an array, got \(actual.serializedString().prefix(200))"]
        }
        guard elements.count == actualElements.count else {
            return ["\(here): expected \(elements.count) elements, got \(actualElements.count)"]
        }
        var result: [String] = []
        for (index, element) in elements.enumerated() {
            result += jsonMismatches(
                expected: element, actual: actualElements[index], tolerance: tolerance, path: path + "/\(index)")
        }
        return result
    case .number(let e):
        guard case .number(let a) = actual else {
            return ["\(here): expected \(e), got \(actual.serializedString().prefix(200))"]
        }
        let key = path.split(separator: "/").last.map(String.init) ?? ""
        let ok =
            countKeys.contains(key)
            ? a == e : abs(a - e) <= max(tolerance.relative * abs(e), tolerance.absolute)
        return ok
            ? []
            : ["\(here): expected \(e), got \(a) (relative difference \(e == 0 ? .infinity : abs(a - e) / abs(e)))"]
    case .null, .bool, .string:
        return actual == expected
            ? [] : ["\(here): expected \(expected.serializedString()), got \(actual.serializedString().prefix(200))"]
    }
}
