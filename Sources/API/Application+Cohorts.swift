import Classification
import Cohorts
import Foundation
import HTTPServer
import JSON
import Registry
import Reports
import Prometheus
import Survival
import Synchronization

/// The cohort a request selects, with the canonical form of the request (the cache key and ETag input).
struct CohortRequest {
    var selection: CohortSelection
    /// The request's parameters in a canonical order, with the scope.
    var canonicalQuery: String
}

extension Application {
    static let cohortRoles: Set<Role> = [.submitter, .analyst, .admin]

    var cohortAnalysis: CohortAnalysis { CohortAnalysis(minCellSize: minCellSize) }

    /// Every cohort route may compute for long on a cold cache (a 100,000-case curve, a Cox fit):
    /// they run on the server's worker pool, so that an analyst's uncached query never stalls the
    /// event loops that answer other clients' polls (issue 11). A cached answer or a 304 is given on
    /// the event loop (`cohortPoll`), without a hand-off to a worker.
    func addCohortRoutes(to router: inout Router) {
        let survivalPoll = cohortPoll(extraParameters: Self.survivalParameters, parse: survivalQuery)
        let coxPoll = cohortPoll(extraParameters: Self.coxParameters, allowGroupBy: false, parse: coxQuery)
        let incidencePoll = cohortPoll(extraParameters: Self.incidenceParameters, parse: incidenceQuery)
        let summaryPoll = cohortPoll(extraParameters: [], parse: { selection, _ in selection })
        let datasetPoll = cohortPoll(extraParameters: Self.datasetParameters, parse: datasetQuery, auditsDataset: true)
        router.get("/v1/cohorts/survival", mayBlock: true, eventLoopAttempt: survivalPoll) { [self] request in
            try cohortResponse(request, extraParameters: Self.survivalParameters, parse: survivalQuery, reading: \.reading) {
                query, rows, dataVersion in
                let result = try cohortAnalysis.survival(query, rows: rows)
                return jsonBody(result.json(CohortContext(dataVersion: dataVersion)))
            }
        }
        router.get("/v1/cohorts/survival.svg", mayBlock: true, eventLoopAttempt: survivalPoll) { [self] request in
            try cohortResponse(request, extraParameters: Self.survivalParameters, parse: survivalQuery, reading: \.reading) {
                query, rows, _ in
                let result = try cohortAnalysis.survival(query, rows: rows)
                return .text(survivalSVG(result), contentType: "image/svg+xml; charset=utf-8")
            }
        }
        router.get("/v1/cohorts/cox", mayBlock: true, eventLoopAttempt: coxPoll) { [self] request in
            try cohortResponse(
                request, extraParameters: Self.coxParameters, allowGroupBy: false,
                parse: coxQuery
            ) { query, rows, dataVersion in
                jsonBody(try cohortAnalysis.cox(query, rows: rows).json(CohortContext(dataVersion: dataVersion)))
            }
        }
        router.get("/v1/cohorts/cox.svg", mayBlock: true, eventLoopAttempt: coxPoll) { [self] request in
            try cohortResponse(
                request, extraParameters: Self.coxParameters, allowGroupBy: false,
                parse: coxQuery
            ) { query, rows, _ in
                .text(try forestSVG(try cohortAnalysis.cox(query, rows: rows)), contentType: "image/svg+xml; charset=utf-8")
            }
        }
        router.get("/v1/cohorts/incidence", mayBlock: true, eventLoopAttempt: incidencePoll) { [self] request in
            try cohortResponse(request, extraParameters: Self.incidenceParameters, parse: incidenceQuery) { query, rows, dataVersion in
                jsonBody(try cohortAnalysis.incidence(query, rows: rows).json(CohortContext(dataVersion: dataVersion)))
            }
        }
        router.get("/v1/cohorts/incidence.svg", mayBlock: true, eventLoopAttempt: incidencePoll) { [self] request in
            try cohortResponse(request, extraParameters: Self.incidenceParameters, parse: incidenceQuery) { query, rows, _ in
                .text(incidenceSVG(try cohortAnalysis.incidence(query, rows: rows)), contentType: "image/svg+xml; charset=utf-8")
            }
        }
        router.get("/v1/cohorts/summary", mayBlock: true, eventLoopAttempt: summaryPoll) { [self] request in
            try cohortResponse(request, extraParameters: [], parse: { selection, _ in selection }) { selection, rows, dataVersion in
                jsonBody(try cohortAnalysis.summary(selection, rows: rows).json(CohortContext(dataVersion: dataVersion)))
            }
        }
        router.get("/v1/cohorts/dataset.csv", mayBlock: true, eventLoopAttempt: datasetPoll) { [self] request in
            let response = try cohortResponse(request, extraParameters: Self.datasetParameters, parse: datasetQuery) { query, rows, _ in
                .text(cohortAnalysis.datasetCSV(query, rows: rows), contentType: "text/csv; charset=utf-8")
            }
            recordDatasetRead(request, response)
            return response
        }
    }

    func jsonBody(_ bytes: [UInt8]) -> HTTPResponse { HTTPResponse(status: 200, contentType: "application/json", body: bytes) }

    static let selectionParameters: Set<String> = Set(CohortField.allCases.map(\.rawValue)).union(
        ["group_by", "ic_diagnosis_from", "ic_diagnosis_to"])
    static let incidenceParameters: Set<String> = ["event", "times", "covariates", "conf_level"]
    static let survivalParameters: Set<String> = ["endpoint", "origin", "conf_type", "conf_level", "times", "tau", "unit"]
    static let coxParameters: Set<String> = ["endpoint", "origin", "covariates", "conf_level", "strata", "ph_test"]
    static let datasetParameters: Set<String> = ["endpoint", "origin"]

    /// Authenticates, parses the selection and the route's own parameters (`parse`), answers 304 or
    /// from the cache when it can, else computes. Credentials come first; no 304 for a bad query.
    func cohortResponse<Query>(
        _ request: HTTPRequest, extraParameters: Set<String>, allowGroupBy: Bool = true,
        parse: (CohortSelection, HTTPRequest) throws -> Query, reading: (Query) -> CohortRowReading = { _ in .everything },
        compute: (Query, [CohortRow], Int) throws -> HTTPResponse
    ) throws -> HTTPResponse {
        let principal = try authorize(request, roles: Self.cohortRoles)
        let cohort = try cohortRequest(request, principal: principal, extraParameters: extraParameters)
        if !allowGroupBy && cohort.selection.groupBy != nil {
            throw RequestError.badParameter(name: "group_by", message: "is not a parameter of this operation (use covariates)")
        }
        let query = try parse(cohort.selection, request)
        let key = (request.route ?? request.path) + "?" + cohort.canonicalQuery
        // The version of what this caller's scope sees (a submitter: its own site's), so that
        // neither the ETag nor `data_version` moves with another site's writes (issue #12).
        let (dataVersion, scopedVersion) = try cases.scopedDataVersion(site: cohort.selection.scopeSite)
        let tag = cohortETag(key: key, dataVersion: scopedVersion)
        if Self.ifNoneMatch(request, matches: tag) { return Self.notModified(tag) }
        if let cached = cohortCache.get(key, dataVersion: dataVersion) { return cached }
        let read = try cases.cohortRowsWithScopedVersion(
            cohort.selection.filter, site: cohort.selection.scopeSite, reading: reading(query))
        var response = try compute(query, read.rows, read.scoped)
        response.headers.set("ETag", cohortETag(key: key, dataVersion: read.scoped))
        response.headers.set("Cache-Control", "private, no-cache")
        cohortCache.put(key, dataVersion: read.global, response: response)
        return response
    }

    /// Strong, opaque ETag (an HMAC under the server secret, `OpaqueTokens`) of the scope's data
    /// version, the canonical query (scope included), the rule and suppression settings: any
    /// write the scope can see, or another view of the data, changes it; nothing can be read
    /// from it.
    func cohortETag(key: String, dataVersion: Int) -> String {
        tokens.entityTag(scope: key, version: "\(dataVersion)|\(ClassificationEngine.version)|\(minCellSize)")
    }

    func cohortRequest(_ request: HTTPRequest, principal: Principal, extraParameters: Set<String>) throws -> CohortRequest {
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
        return CohortRequest(selection: selection, canonicalQuery: parts.joined(separator: "&"))
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

    /// The documented ranges of the numeric parameters (openapi.yaml): outside them, 400 naming the
    /// parameter. They keep every statistic finite (tau=1e155 overflowed the RMST variance; a
    /// conf_level a hair below 1 gave an infinite z).
    enum NumericRange {
        static let confLevel = 0.5...0.9999
        /// 100 years, in months or days.
        static func time(_ unit: TimeUnit) -> ClosedRange<Double> { 0...(1200 * TimeUnit.daysPerMonth / unit.days) }
        static let maxTimes = 50
    }

    func confLevel(_ request: HTTPRequest) throws -> Double {
        try number(request, "conf_level", validity: "must be a number from 0.5 to 0.9999") { NumericRange.confLevel.contains($0) } ?? 0.95
    }

    /// `times=`: comma-separated times within 100 years, in the query's unit.
    func landmarkTimes(_ request: HTTPRequest, unit: TimeUnit) throws -> [Double] {
        guard let times = request.query["times"] else { return [] }
        let range = NumericRange.time(unit)
        let message = "must be at most \(NumericRange.maxTimes) numbers from 0 to \(Int(range.upperBound)) (\(unit.rawValue)), separated by commas"
        let parts = times.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= NumericRange.maxTimes else {
            throw RequestError.badParameter(name: "times", message: message)
        }
        return try parts.map { part in
            guard let value = Double(part), value.isFinite, range.contains(value) else {
                throw RequestError.badParameter(name: "times", message: message)
            }
            return value
        }
    }

    /// A boolean parameter: `true` or `false` (absent: false).
    func flag(_ request: HTTPRequest, _ name: String) throws -> Bool {
        guard let text = request.query[name] else { return false }
        guard text == "true" || text == "false" else {
            throw RequestError.badParameter(name: name, message: "must be true or false")
        }
        return text == "true"
    }

    func survivalQuery(_ selection: CohortSelection, _ request: HTTPRequest) throws -> SurvivalQuery {
        let (endpoint, origin) = try endpointAndOrigin(request)
        var options = AnalysisOptions()
        if let type = request.query["conf_type"] {
            guard let parsed = ConfidenceType(rawValue: type) else {
                throw RequestError.badParameter(name: "conf_type", message: "must be log, log-log or plain")
            }
            options.confType = parsed
        }
        let unitText = request.query["unit"] ?? "months"
        guard let unit = TimeUnit(rawValue: unitText) else {
            throw RequestError.badParameter(name: "unit", message: "must be months or days")
        }
        options.confLevel = try confLevel(request)
        options.landmarks = try landmarkTimes(request, unit: unit)
        let range = NumericRange.time(unit)
        options.tau = try number(
            request, "tau", validity: "must be a number above 0 and at most \(Int(range.upperBound)) (\(unit.rawValue))"
        ) { $0 > 0 && $0 <= range.upperBound }
        return SurvivalQuery(selection: selection, endpoint: endpoint, origin: origin, unit: unit, options: options)
    }

    /// `covariates=`: a comma-separated list of cohort covariates, each once.
    func covariateList(_ request: HTTPRequest, required: Bool) throws -> [CohortCovariate] {
        guard let list = request.query["covariates"] else {
            if required {
                throw RequestError.badParameter(name: "covariates", message: "is required: a comma-separated list of covariates")
            }
            return []
        }
        let names = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var covariates: [CohortCovariate] = []
        for name in names {
            guard let covariate = CohortCovariate(name: name) else {
                throw RequestError.badParameter(
                    name: "covariates", message: "must be among: \(CohortCovariate.allNames.joined(separator: ", "))")
            }
            covariates.append(covariate)
        }
        guard Set(names).count == names.count else {
            throw RequestError.badParameter(name: "covariates", message: "names a covariate twice")
        }
        return covariates
    }

    func incidenceQuery(_ selection: CohortSelection, _ request: HTTPRequest) throws -> IncidenceQuery {
        if let event = request.query["event"], event != "progression" {
            throw RequestError.badParameter(name: "event", message: "must be progression (death is the competing event)")
        }
        return IncidenceQuery(
            selection: selection, times: try landmarkTimes(request, unit: .months),
            covariates: try covariateList(request, required: false), confLevel: try confLevel(request))
    }

    /// The forest plot of a Cox model (Reports.ForestPlot): one block per covariate as requested.
    func forestSVG(_ result: CoxResult) throws -> String {
        guard let cox = result.cox else {
            throw SurvivalError.invalidOption(
                "the cohort is below the minimum cell size (\(result.minCellSize)), so no model is drawn")
        }
        let covariates = result.query.covariates.map { covariate in
            ForestPlot.Covariate(
                name: covariate.name,
                levels: result.levels[covariate.name].map { $0.map { ForestPlot.Level(name: $0.level, n: $0.n, events: $0.events) } })
        }
        var notes: [String] = []
        if let strata = result.query.strata { notes.append("stratified by \(strata.rawValue)") }
        if !result.suppressedLevels.isEmpty {
            notes.append(
                "left out (below \(result.minCellSize) patients): "
                    + result.suppressedLevels.map { "\($0.covariate) \($0.level)" }.joined(separator: ", "))
        }
        let endpoint = result.query.endpoint == .os ? "Overall survival" : "Progression-free survival"
        return ForestPlot(
            cox: cox, covariates: covariates, title: "Cox model, \(endpoint.lowercased()): hazard ratios",
            confLevel: result.query.confLevel, note: notes.isEmpty ? nil : notes.joined(separator: "; ")
        ).svg()
    }

    /// Cumulative incidence of progression and death (Reports.IncidencePlot).
    func incidenceSVG(_ result: IncidenceResult) -> String {
        var curves: [IncidencePlot.Curve] = (result.report?.groups ?? []).map {
            IncidencePlot.Curve(
                key: $0.key, cause: $0.cause, n: $0.n, events: $0.events, points: $0.curve, lastTime: $0.lastTime, suppressed: false)
        }
        curves += result.suppressed.flatMap { group in
            IncidenceQuery.causes.map {
                IncidencePlot.Curve(key: group.key, cause: $0, n: group.n, events: nil, points: nil, lastTime: 0, suppressed: true)
            }
        }
        curves.sort { $0.key != $1.key ? $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) : $0.cause < $1.cause }
        var keys: [String] = []
        for curve in curves where !keys.contains(curve.key) { keys.append(curve.key) }
        let rows = keys.map { IncidencePlot.RiskRow(key: $0, exitTimes: result.exitTimes[$0]) }
        let groupBy = result.query.selection.groupBy
        return IncidencePlot(
            curves: curves, riskRows: rows, grayTests: (result.report?.grayTest ?? []).map { ($0.cause, $0.pValue) },
            testNote: result.suppressed.isEmpty ? nil : "groups below \(result.minCellSize) patients are left out of Gray's test",
            title: "Progression, with death as a competing event" + (groupBy.map { " by " + $0.rawValue.replacingOccurrences(of: "_", with: " ") } ?? ""),
            timeUnit: "months", timeOrigin: "intracranial diagnosis", confLevel: result.query.confLevel
        ).svg()
    }

    func coxQuery(_ selection: CohortSelection, _ request: HTTPRequest) throws -> CoxQuery {
        let (endpoint, origin) = try endpointAndOrigin(request)
        let confLevel = try confLevel(request)
        let covariates = try covariateList(request, required: true)
        let names = covariates.map(\.name)
        var strata: CohortField?
        if let name = request.query["strata"] {
            guard let field = CohortField(rawValue: name) else {
                throw RequestError.badParameter(
                    name: "strata", message: "must be one of: \(CohortField.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !names.contains(name) else {
                throw RequestError.badParameter(name: "strata", message: "cannot also be a covariate")
            }
            strata = field
        }
        return CoxQuery(
            selection: selection, covariates: covariates, endpoint: endpoint, origin: origin, confLevel: confLevel, strata: strata,
            phTest: try flag(request, "ph_test"))
    }

    // MARK: - Encoding

    /// The Kaplan-Meier plot of the same computation (Reports.KaplanMeierPlot).
    func survivalSVG(_ result: SurvivalResult) -> String {
        let query = result.query
        let endpointName = query.endpoint == .os ? "Overall survival" : "Progression-free survival"
        var groups: [KaplanMeierPlot.Group] = (result.report?.groups ?? []).map {
            KaplanMeierPlot.Group(key: $0.key, n: $0.n, events: $0.events, median: $0.median, curve: $0.curve, suppressed: false)
        }
        groups += result.suppressed.map {
            KaplanMeierPlot.Group(key: $0.key, n: $0.n, events: nil, median: nil, curve: nil, suppressed: true)
        }
        groups.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
        var note: String?
        if query.origin == .mmDiagnosis {
            note = "no group test with delayed entry"
        } else if !result.suppressed.isEmpty {
            note = "groups below \(result.minCellSize) patients are left out of the log-rank test"
        }
        let plot = KaplanMeierPlot(
            groups: groups, logRankPValue: result.report?.logrank?.pValue, testNote: note,
            title: endpointName + (query.selection.groupBy.map { " by " + $0.rawValue.replacingOccurrences(of: "_", with: " ") } ?? ""),
            timeUnit: query.unit.rawValue,
            timeOrigin: query.origin == .icDiagnosis ? "intracranial diagnosis" : "myeloma diagnosis (entry at intracranial diagnosis)",
            yLabel: endpointName, confLevel: query.options.confLevel)
        return plot.svg()
    }

}
