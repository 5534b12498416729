import Classification
import Foundation
import HTTPServer
import JSON
import Registry
import Reports
import Survival
import Synchronization

/// The cohort a request selects: filters, grouping, and whose cases it may see.
struct CohortSelection {
    var filter = CohortFilter()
    var groupBy: CohortField?
    /// nil: every site (analyst, admin); a site: a submitter's own cases only.
    var scopeSite: String?
    /// The request's parameters in a canonical order, with the scope: the cache key and ETag input.
    var canonicalQuery = ""

    /// The filters as the response states them.
    var filtersJSON: JSONValue {
        var members: [String: JSONValue] = [:]
        for (field, values) in filter.values where !values.isEmpty {
            members[field.rawValue] = .array(values.map(JSONValue.string))
        }
        if let from = filter.icDiagnosisFrom { members["ic_diagnosis_from"] = .string(from.description) }
        if let to = filter.icDiagnosisTo { members["ic_diagnosis_to"] = .string(to.description) }
        return .object(members)
    }
}

/// Computed cohort responses by canonical query; an entry is good while the data version is the same.
final class CohortCache: Sendable {
    struct Entry {
        let dataVersion: Int
        let response: HTTPResponse
    }

    private let entries = Mutex<[String: Entry]>([:])
    let capacity: Int

    init(capacity: Int = 256) { self.capacity = capacity }

    func get(_ key: String, dataVersion: Int) -> HTTPResponse? {
        entries.withLock { $0[key] }.flatMap { $0.dataVersion == dataVersion ? $0.response : nil }
    }

    func put(_ key: String, dataVersion: Int, response: HTTPResponse) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(dataVersion: dataVersion, response: response)
        }
    }
}

extension Application {
    static let cohortRoles: Set<Role> = [.submitter, .analyst, .admin]
    static let daysPerMonth = 30.4375

    func addCohortRoutes(to router: inout Router) {
        router.get("/v1/cohorts/survival") { [self] request in
            try cohortResponse(request, extraParameters: Self.survivalParameters, parse: survivalQuery) {
                query, selection, rows, dataVersion in
                let computation = try computeSurvival(query, selection: selection, rows: rows)
                return .json(try survivalBody(computation, selection: selection, dataVersion: dataVersion))
            }
        }
        router.get("/v1/cohorts/survival.svg") { [self] request in
            try cohortResponse(request, extraParameters: Self.survivalParameters, parse: survivalQuery) { query, selection, rows, _ in
                let computation = try computeSurvival(query, selection: selection, rows: rows)
                return .text(survivalSVG(computation, selection: selection), contentType: "image/svg+xml; charset=utf-8")
            }
        }
        router.get("/v1/cohorts/cox") { [self] request in
            try cohortResponse(
                request, extraParameters: ["endpoint", "origin", "covariates", "conf_level"], allowGroupBy: false,
                parse: { request in
                    let (endpoint, origin) = try endpointAndOrigin(request)
                    let confLevel = try number(request, "conf_level", validity: "must be a number between 0 and 1 (exclusive)") {
                        $0 > 0 && $0 < 1
                    }
                    return (try coxCovariates(request), endpoint, origin, confLevel ?? 0.95)
                }
            ) { parsed, selection, rows, dataVersion in
                .json(
                    try coxBody(
                        covariates: parsed.0, endpoint: parsed.1, origin: parsed.2, confLevel: parsed.3, selection: selection,
                        rows: rows, dataVersion: dataVersion))
            }
        }
        router.get("/v1/cohorts/summary") { [self] request in
            try cohortResponse(request, extraParameters: [], parse: { _ in () }) { _, selection, rows, dataVersion in
                .json(try summaryBody(selection: selection, rows: rows, dataVersion: dataVersion))
            }
        }
        router.get("/v1/cohorts/dataset.csv") { [self] request in
            let response = try cohortResponse(request, extraParameters: ["endpoint", "origin"], parse: endpointAndOrigin) { parsed, selection, rows, _ in
                .text(
                    datasetCSV(endpoint: parsed.0, origin: parsed.1, selection: selection, rows: rows),
                    contentType: "text/csv; charset=utf-8")
            }
            recordDatasetRead(request, response)
            return response
        }
    }

    static let selectionParameters: Set<String> = Set(CohortField.allCases.map(\.rawValue)).union(
        ["group_by", "ic_diagnosis_from", "ic_diagnosis_to"])
    static let survivalParameters: Set<String> = ["endpoint", "origin", "conf_type", "conf_level", "times", "tau", "unit"]

    /// Authenticates, parses the selection and the route's own parameters (`parse`), answers 304 or
    /// from the cache when it can, else computes. Credentials come first; no 304 for a bad query.
    func cohortResponse<Parameters>(
        _ request: HTTPRequest, extraParameters: Set<String>, allowGroupBy: Bool = true,
        parse: (HTTPRequest) throws -> Parameters,
        compute: (Parameters, CohortSelection, [CohortRow], Int) throws -> HTTPResponse
    ) throws -> HTTPResponse {
        let principal = try authorize(request, roles: Self.cohortRoles)
        let selection = try cohortSelection(request, principal: principal, extraParameters: extraParameters)
        if !allowGroupBy && selection.groupBy != nil {
            throw RequestError.badParameter(name: "group_by", message: "is not a parameter of this operation (use covariates)")
        }
        let parameters = try parse(request)
        let key = (request.route ?? request.path) + "?" + selection.canonicalQuery
        let dataVersion = try cases.dataVersion()
        let tag = cohortETag(key: key, dataVersion: dataVersion)
        if let condition = request.headers["If-None-Match"], condition.split(separator: ",").contains(where: {
            let candidate = $0.trimmingASCIISpaces()
            return candidate == tag || candidate == "*"
        }) {
            return HTTPResponse(status: 304, headers: HTTPHeaders([("ETag", tag), ("Cache-Control", "private, no-cache")]))
        }
        if let cached = cohortCache.get(key, dataVersion: dataVersion) { return cached }
        let (rows, rowsVersion) = try cases.cohortRowsWithVersion(selection.filter, site: selection.scopeSite)
        var response = try compute(parameters, selection, rows, rowsVersion)
        response.headers.set("ETag", cohortETag(key: key, dataVersion: rowsVersion))
        response.headers.set("Cache-Control", "private, no-cache")
        cohortCache.put(key, dataVersion: rowsVersion, response: response)
        return response
    }

    /// Strong ETag from the data version, the canonical query (scope included), the rule and
    /// suppression settings: any write, or another view of the data, changes it.
    func cohortETag(key: String, dataVersion: Int) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
        for byte in "\(key)|\(ClassificationEngine.version)|\(minCellSize)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return "\"d\(dataVersion)-\(String(hash, radix: 16))\""
    }

    func cohortSelection(_ request: HTTPRequest, principal: Principal, extraParameters: Set<String>) throws -> CohortSelection {
        try rejectUnknownParameters(request, allowed: Self.selectionParameters.union(extraParameters))
        // Only the filters take several values; any other parameter given twice is ambiguous.
        var seen: Set<String> = []
        for name in request.query.names where CohortField(rawValue: name) == nil {
            guard seen.insert(name).inserted else {
                throw RequestError.badParameter(name: name, message: "must be given once")
            }
        }
        var selection = CohortSelection()
        for field in CohortField.allCases {
            let values = request.query.values(field.rawValue).flatMap { $0.split(separator: ",").map(String.init) }
            guard !values.isEmpty else { continue }
            for value in values {
                if let allowed = field.allowedValues {
                    guard allowed.contains(value) else {
                        throw RequestError.badParameter(name: field.rawValue, message: "must be one of: \(allowed.joined(separator: ", "))")
                    }
                } else if !KeyStore.isValidSite(value) {
                    throw RequestError.badParameter(name: field.rawValue, message: "must be 1-64 characters of A-Z a-z 0-9 . _ -")
                }
            }
            selection.filter.values[field] = Array(Set(values)).sorted()
        }
        for (name, keyPath) in [("ic_diagnosis_from", \CohortFilter.icDiagnosisFrom), ("ic_diagnosis_to", \CohortFilter.icDiagnosisTo)] {
            guard let text = request.query[name] else { continue }
            guard let date = CalendarDate(iso: text) else {
                throw RequestError.badParameter(name: name, message: "must be a date (YYYY-MM-DD)")
            }
            selection.filter[keyPath: keyPath] = date
        }
        if let groupBy = request.query["group_by"] {
            guard let field = CohortField(rawValue: groupBy) else {
                throw RequestError.badParameter(
                    name: "group_by", message: "must be one of: \(CohortField.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            selection.groupBy = field
        }
        if principal.role == .submitter {
            if let sites = selection.filter.values[.site], sites.contains(where: { $0 != principal.site }) {
                throw AuthError.otherSite
            }
            selection.scopeSite = principal.site
        }
        // Canonical query: parameter names sorted, each with its values sorted, plus the scope.
        var parts: [String] = []
        for name in Set(request.query.names).sorted() {
            let values = request.query.values(name).flatMap { $0.split(separator: ",").map(String.init) }.sorted()
            parts.append(name + "=" + values.joined(separator: ","))
        }
        parts.append("scope=" + (selection.scopeSite ?? "*"))
        selection.canonicalQuery = parts.joined(separator: "&")
        return selection
    }

    // MARK: - Parameters

    func endpointAndOrigin(_ request: HTTPRequest) throws -> (SurvivalEndpoint, SurvivalOrigin) {
        let endpoint = try request.query["endpoint"].map { value in
            guard let parsed = SurvivalEndpoint(rawValue: value) else {
                throw RequestError.badParameter(name: "endpoint", message: "must be os or pfs")
            }
            return parsed
        } ?? .os
        let origin = try request.query["origin"].map { value in
            guard let parsed = SurvivalOrigin(rawValue: value) else {
                throw RequestError.badParameter(name: "origin", message: "must be ic_diagnosis or mm_diagnosis")
            }
            return parsed
        } ?? .icDiagnosis
        if endpoint == .pfs && origin == .mmDiagnosis {
            throw RequestError.badParameter(
                name: "origin", message: "progression-free survival is counted from the intracranial diagnosis only (DOMAIN.md section 7)")
        }
        return (endpoint, origin)
    }

    func number(_ request: HTTPRequest, _ name: String, validity: String, _ isValid: (Double) -> Bool) throws -> Double? {
        guard let text = request.query[name] else { return nil }
        guard let value = Double(text), value.isFinite, isValid(value) else {
            throw RequestError.badParameter(name: name, message: validity)
        }
        return value
    }

    // MARK: - Survival

    struct Subjects {
        var time: [Double] = []
        var event: [Bool] = []
        var entry: [Double] = []
        var group: [String] = []
        var counts: [String: Int] = [:]
        var missingGroup = 0
        var noTime = 0
    }

    /// The survival times of a cohort, in the requested unit, with their group keys.
    func subjects(_ rows: [CohortRow], groupBy: CohortField?, endpoint: SurvivalEndpoint, origin: SurvivalOrigin, divisor: Double)
        -> Subjects
    {
        var subjects = Subjects()
        for row in rows {
            let key: String
            if let groupBy {
                guard let value = row.value(of: groupBy) else {
                    subjects.missingGroup += 1
                    continue
                }
                key = value
            } else {
                key = "all"
            }
            guard let time = row.survivalTime(endpoint, origin: origin) else {
                subjects.noTime += 1
                continue
            }
            subjects.time.append(time.time / divisor)
            subjects.event.append(time.event)
            subjects.entry.append((time.entry ?? 0) / divisor)
            subjects.group.append(key)
            subjects.counts[key, default: 0] += 1
        }
        return subjects
    }

    /// Groups below the minimum cell size (0 disables suppression).
    func suppressedGroups(_ counts: [String: Int]) -> Set<String> {
        guard minCellSize > 0 else { return [] }
        return Set(counts.filter { $0.value < minCellSize }.keys)
    }

    /// The parameters of a survival query, parsed and checked before anything is computed.
    struct SurvivalQuery {
        var endpoint: SurvivalEndpoint
        var origin: SurvivalOrigin
        var options: AnalysisOptions
        var unit: String
    }

    func survivalQuery(_ request: HTTPRequest) throws -> SurvivalQuery {
        let (endpoint, origin) = try endpointAndOrigin(request)
        var options = AnalysisOptions()
        if let type = request.query["conf_type"] {
            guard let parsed = ConfidenceType(rawValue: type) else {
                throw RequestError.badParameter(name: "conf_type", message: "must be log, log-log or plain")
            }
            options.confType = parsed
        }
        options.confLevel =
            try number(request, "conf_level", validity: "must be a number between 0 and 1 (exclusive)") { $0 > 0 && $0 < 1 } ?? 0.95
        if let times = request.query["times"] {
            options.landmarks = try times.split(separator: ",").map { part in
                guard let value = Double(part), value.isFinite, value >= 0 else {
                    throw RequestError.badParameter(name: "times", message: "must be non-negative numbers separated by commas")
                }
                return value
            }
        }
        options.tau = try number(request, "tau", validity: "must be a positive number") { $0 > 0 }
        let unit = request.query["unit"] ?? "months"
        guard unit == "months" || unit == "days" else {
            throw RequestError.badParameter(name: "unit", message: "must be months or days")
        }
        return SurvivalQuery(endpoint: endpoint, origin: origin, options: options, unit: unit)
    }

    /// A survival analysis of the shown groups, with the groups too small to show.
    struct SurvivalComputation {
        var query: SurvivalQuery
        var report: SurvivalReport?
        /// Suppressed groups and their sizes, in key order.
        var suppressed: [(key: String, n: Int)]
        var subjects: Subjects
    }

    func computeSurvival(_ query: SurvivalQuery, selection: CohortSelection, rows: [CohortRow]) throws -> SurvivalComputation {
        let subjects = subjects(
            rows, groupBy: selection.groupBy, endpoint: query.endpoint, origin: query.origin,
            divisor: query.unit == "months" ? Self.daysPerMonth : 1)
        let suppressedKeys = suppressedGroups(subjects.counts)
        let shown = subjects.group.indices.filter { !suppressedKeys.contains(subjects.group[$0]) }
        var report: SurvivalReport?
        if !shown.isEmpty {
            let data = SurvivalData(
                time: shown.map { subjects.time[$0] }, event: shown.map { subjects.event[$0] },
                entry: query.origin == .mmDiagnosis ? shown.map { subjects.entry[$0] } : nil,
                group: selection.groupBy == nil ? nil : shown.map { subjects.group[$0] })
            report = try SurvivalAnalysis.analyze(data, options: query.options)
        }
        let suppressed = suppressedKeys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            .map { (key: $0, n: subjects.counts[$0] ?? 0) }
        return SurvivalComputation(query: query, report: report, suppressed: suppressed, subjects: subjects)
    }

    func survivalBody(_ computation: SurvivalComputation, selection: CohortSelection, dataVersion: Int) throws -> JSONValue {
        let query = computation.query
        var body: [String: JSONValue]
        if let report = computation.report {
            body = try JSONValue.encoding(report).objectValue ?? [:]
        } else {
            body = ["n": 0, "events": 0, "groups": [], "conf_type": .string(query.options.confType.rawValue),
                    "conf_level": .number(query.options.confLevel), "median_followup": .null]
        }
        var groups = body["groups"]?.arrayValue ?? []
        for group in computation.suppressed {
            groups.append(["key": .string(group.key), "n": .number(Double(group.n)), "suppressed": true])
        }
        groups.sort { ($0["key"]?.stringValue ?? "").unicodeScalars.lexicographicallyPrecedes(($1["key"]?.stringValue ?? "").unicodeScalars) }
        body["groups"] = .array(groups)
        body.removeValue(forKey: "dropped_rows")
        if !computation.suppressed.isEmpty {
            body["suppression_note"] = .string(
                "Groups with fewer than \(minCellSize) patients report only n; they are left out of the curves, tests and totals.")
        }
        if query.origin == .mmDiagnosis {
            body["tests_note"] = "Group comparisons are not computed with delayed entry."
        }
        body["endpoint"] = .string(query.endpoint.rawValue)
        body["origin"] = .string(query.origin.rawValue)
        body["delayed_entry"] = .bool(query.origin == .mmDiagnosis)
        body["unit"] = .string(query.unit)
        body["group_by"] = selection.groupBy.map { .string($0.rawValue) } ?? .null
        body["filters"] = selection.filtersJSON
        body["min_cell_size"] = .number(Double(minCellSize))
        body["excluded"] = [
            "missing_group_value": .number(Double(computation.subjects.missingGroup)),
            "no_survival_time": .number(Double(computation.subjects.noTime)),
        ]
        body["data_version"] = .number(Double(dataVersion))
        body["engine_version"] = .string(ClassificationEngine.version)
        return .object(body)
    }

    /// The Kaplan-Meier plot of the same computation (Reports.KaplanMeierPlot).
    func survivalSVG(_ computation: SurvivalComputation, selection: CohortSelection) -> String {
        let query = computation.query
        let endpointName = query.endpoint == .os ? "Overall survival" : "Progression-free survival"
        var groups: [KaplanMeierPlot.Group] = (computation.report?.groups ?? []).map {
            KaplanMeierPlot.Group(key: $0.key, n: $0.n, events: $0.events, median: $0.median, curve: $0.curve, suppressed: false)
        }
        groups += computation.suppressed.map {
            KaplanMeierPlot.Group(key: $0.key, n: $0.n, events: nil, median: nil, curve: nil, suppressed: true)
        }
        groups.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
        var note: String?
        if query.origin == .mmDiagnosis {
            note = "no group test with delayed entry"
        } else if !computation.suppressed.isEmpty {
            note = "groups below \(minCellSize) patients are left out of the log-rank test"
        }
        let plot = KaplanMeierPlot(
            groups: groups, logRankPValue: computation.report?.logrank?.pValue, testNote: note,
            title: endpointName + (selection.groupBy.map { " by " + $0.rawValue.replacingOccurrences(of: "_", with: " ") } ?? ""),
            timeUnit: query.unit,
            timeOrigin: query.origin == .icDiagnosis ? "intracranial diagnosis" : "myeloma diagnosis (entry at intracranial diagnosis)",
            yLabel: endpointName, confLevel: query.options.confLevel)
        return plot.svg()
    }

    // MARK: - Cox

    static let numericCovariates = ["age_at_ic_diagnosis"]

    func coxCovariates(_ request: HTTPRequest) throws -> [String] {
        guard let list = request.query["covariates"], !list.isEmpty else {
            throw RequestError.badParameter(name: "covariates", message: "is required: a comma-separated list of covariates")
        }
        let names = list.split(separator: ",").map(String.init)
        let allowed = CohortField.allCases.map(\.rawValue) + Self.numericCovariates
        for name in names where !allowed.contains(name) {
            throw RequestError.badParameter(name: "covariates", message: "must be among: \(allowed.joined(separator: ", "))")
        }
        guard Set(names).count == names.count else {
            throw RequestError.badParameter(name: "covariates", message: "names a covariate twice")
        }
        return names
    }

    func coxBody(
        covariates names: [String], endpoint: SurvivalEndpoint, origin: SurvivalOrigin, confLevel: Double,
        selection: CohortSelection, rows: [CohortRow], dataVersion: Int
    ) throws -> JSONValue {
        var options = AnalysisOptions()
        options.confLevel = confLevel

        var time: [Double] = []
        var event: [Bool] = []
        var entry: [Double] = []
        var categorical: [String: [String]] = [:]
        var numeric: [String: [Double]] = [:]
        var dropped = 0
        rowLoop: for row in rows {
            guard let t = row.survivalTime(endpoint, origin: origin) else {
                dropped += 1
                continue
            }
            var values: [String: String] = [:]
            var numbers: [String: Double] = [:]
            for name in names {
                if let field = CohortField(rawValue: name) {
                    guard let value = row.value(of: field) else {
                        dropped += 1
                        continue rowLoop
                    }
                    values[name] = value
                } else {
                    guard let age = row.ageAtICDiagnosis else {
                        dropped += 1
                        continue rowLoop
                    }
                    numbers[name] = Double(age)
                }
            }
            time.append(t.time / Self.daysPerMonth)
            event.append(t.event)
            entry.append((t.entry ?? 0) / Self.daysPerMonth)
            for (name, value) in values { categorical[name, default: []].append(value) }
            for (name, value) in numbers { numeric[name, default: []].append(value) }
        }
        var body: [String: JSONValue] = [
            "endpoint": .string(endpoint.rawValue), "origin": .string(origin.rawValue), "delayed_entry": .bool(origin == .mmDiagnosis),
            "unit": "months", "covariates": .array(names.map(JSONValue.string)), "filters": selection.filtersJSON,
            "n": .number(Double(time.count)), "dropped_rows": .number(Double(dropped)),
            "data_version": .number(Double(dataVersion)), "engine_version": .string(ClassificationEngine.version),
        ]
        if minCellSize > 0 && time.count < minCellSize {
            body["suppressed"] = true
            body["cox"] = .null
            return .object(body)
        }
        let covariates: [Covariate] = names.map { name in
            if let values = categorical[name] { return .categorical(name, values) }
            return .numeric(name, numeric[name] ?? [])
        }
        let data = SurvivalData(time: time, event: event, entry: origin == .mmDiagnosis ? entry : nil, covariates: covariates)
        let report = try SurvivalAnalysis.analyze(data, options: options)
        body["cox"] = try JSONValue.encoding(report.cox)
        var references: [String: JSONValue] = [:]
        for (name, values) in categorical {
            if let first = Set(values).min(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) {
                references[name] = .string(first)
            }
        }
        body["reference_levels"] = .object(references)
        return .object(body)
    }

    // MARK: - Summary

    func summaryBody(selection: CohortSelection, rows: [CohortRow], dataVersion: Int) throws -> JSONValue {
        var byGroup: [String: [CohortRow]] = [:]
        var missingGroup = 0
        for row in rows {
            if let field = selection.groupBy {
                guard let key = row.value(of: field) else {
                    missingGroup += 1
                    continue
                }
                byGroup[key, default: []].append(row)
            } else {
                byGroup["all", default: []].append(row)
            }
        }
        let suppressed = suppressedGroups(byGroup.mapValues(\.count))
        var groups: [JSONValue] = []
        for key in byGroup.keys.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) {
            let members = byGroup[key] ?? []
            if suppressed.contains(key) {
                groups.append(["key": .string(key), "n": .number(Double(members.count)), "suppressed": true])
                continue
            }
            func distribution(_ field: CohortField) -> JSONValue {
                var counts: [String: JSONValue] = [:]
                for row in members {
                    let value = row.value(of: field) ?? "unknown"
                    counts[value] = .number((counts[value]?.numberValue ?? 0) + 1)
                }
                return .object(counts)
            }
            let ages = members.compactMap(\.ageAtICDiagnosis).map(Double.init).sorted()
            let medianAge: JSONValue =
                ages.isEmpty ? .null : .number(ages.count % 2 == 1 ? ages[ages.count / 2] : (ages[ages.count / 2 - 1] + ages[ages.count / 2]) / 2)
            // Median follow-up by reverse Kaplan-Meier, overall survival from the intracranial diagnosis (DOMAIN.md section 7).
            let times = members.compactMap { $0.survivalTime(.os, origin: .icDiagnosis) }
            var followUp: JSONValue = .null
            if !times.isEmpty {
                let report = try SurvivalAnalysis.analyze(
                    SurvivalData(time: times.map { $0.time / Self.daysPerMonth }, event: times.map(\.event)))
                followUp = try JSONValue.encoding(report.medianFollowup)
            }
            groups.append([
                "key": .string(key), "n": .number(Double(members.count)),
                "deaths": .number(Double(members.filter { $0.death != nil }.count)),
                "progressions": .number(Double(members.filter { $0.progression != nil }.count)),
                "median_age_at_ic_diagnosis": medianAge,
                "localization": distribution(.localization), "response_group": distribution(.responseGroup),
                "therapy_class": distribution(.therapyClass), "iss": distribution(.iss),
                "median_followup_months": followUp,
            ])
        }
        return [
            "n": .number(Double(rows.count)), "groups": .array(groups),
            "group_by": selection.groupBy.map { .string($0.rawValue) } ?? .null, "filters": selection.filtersJSON,
            "min_cell_size": .number(Double(minCellSize)), "excluded": ["missing_group_value": .number(Double(missingGroup))],
            "data_version": .number(Double(dataVersion)), "engine_version": .string(ClassificationEngine.version),
        ]
    }

    // MARK: - Data set

    /// The de-identified analysis data set: one row per case, times and status and the grouping
    /// fields; no external ids, no dates, no sites' internal ids. Rows are sorted by their values,
    /// so their order says nothing about when or where a case was registered.
    func datasetCSV(endpoint: SurvivalEndpoint, origin: SurvivalOrigin, selection: CohortSelection, rows: [CohortRow]) -> String {
        let fields = CohortField.allCases
        var counts: [String: Int] = [:]
        if let groupBy = selection.groupBy {
            for row in rows { if let key = row.value(of: groupBy) { counts[key, default: 0] += 1 } }
        }
        let suppressed = suppressedGroups(counts)
        let delayed = origin == .mmDiagnosis
        var lines: [(time: Double, line: String)] = []
        for row in rows {
            if let groupBy = selection.groupBy {
                guard let key = row.value(of: groupBy), !suppressed.contains(key) else { continue }
            }
            guard let t = row.survivalTime(endpoint, origin: origin) else { continue }
            var cells = [Self.csvNumber(t.time), Self.csvNumber(t.time / Self.daysPerMonth), t.event ? "1" : "0"]
            if delayed { cells += [Self.csvNumber(t.entry ?? 0), Self.csvNumber((t.entry ?? 0) / Self.daysPerMonth)] }
            cells += fields.map { field in row.value(of: field).map(Self.csvText) ?? "NA" }
            cells.append(row.ageAtICDiagnosis.map(String.init) ?? "NA")
            lines.append((t.time, cells.joined(separator: ",")))
        }
        if selection.groupBy == nil && minCellSize > 0 && lines.count < minCellSize { lines = [] }
        lines.sort { $0.time != $1.time ? $0.time < $1.time : $0.line < $1.line }
        var header = ["time_days", "time_months", "status"]
        if delayed { header += ["entry_days", "entry_months"] }
        header += fields.map(\.rawValue) + ["age_at_ic_diagnosis"]
        return ([header.joined(separator: ",")] + lines.map(\.line)).joined(separator: "\n") + "\n"
    }

    static func csvNumber(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }

    /// Values are from closed vocabularies or site names ([A-Za-z0-9._-]); quoted anyway for R.
    static func csvText(_ value: String) -> String { "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

extension JSONValue {
    /// An Encodable value as a JSON tree (through Foundation's encoder, then the strict parser).
    static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .throw
        return try JSONValue.parse(encoder.encode(value))
    }
}
