import Foundation
import HTTPServer
import JSON
import Registry

extension Application {
    /// The caller, the site and `?mode=create|upsert`, `?dry_run=true|false` of a bulk write
    /// (`POST /v1/imports` and `POST /v1/fhir`); any other parameter is refused.
    func importParameters(_ request: borrowing HTTPRequest) throws -> (
        principal: Principal, site: String, mode: ImportMode, dryRun: Bool
    ) {
        let principal = try authorize(request, roles: Self.caseRoles)
        let site = try targetSite(request, principal: principal)
        try rejectUnknownParameters(request, allowed: ["site", "dry_run", "mode"])
        let mode: ImportMode
        switch request.query["mode"] {
        case nil: mode = .create
        case let value?:
            guard let parsed = ImportMode(rawValue: value) else {
                throw RequestError.badParameter(name: "mode", message: "must be create or upsert")
            }
            mode = parsed
        }
        let dryRun: Bool
        switch request.query["dry_run"] {
        case nil, "false": dryRun = false
        case "true": dryRun = true
        default: throw RequestError.badParameter(name: "dry_run", message: "must be true or false")
        }
        return (principal, site, mode, dryRun)
    }

    /// `POST /v1/imports`: NDJSON (one case per line) or a JSON array; all or nothing.
    func addImportRoute(to router: inout Router) {
        router.post("/v1/imports", maxBodyBytes: maxImportBytes, mayBlock: true, admission: admitCaseWriter) { [self] request in
            let (principal, site, mode, dryRun) = try importParameters(request)
            let reader = try importReader(request)
            // Whatever the import allocated goes back to the system once it is answered.
            defer { Allocator.returnFreeMemory() }
            let summary: ImportSummary
            // At debug level, where the import's time went (stage seconds only, no record content).
            let timings = logger.logLevel <= .debug ? ImportTimings() : nil
            defer { if let timings { logger.debug("import stages: \(timings.line)") } }
            do {
                summary = try cases.importCases(
                    reading: reader, site: site, mode: mode, dryRun: dryRun, keyID: principal.keyID, timings: timings)
            } catch let error as ImportBodyError {
                switch error {
                case .notAnArray: throw RequestError.invalidBody(error.description)
                case .malformed(let why): throw RequestError.malformedJSON(why)
                }
            }
            // The answer lists every case's ids and result: a read of the site's cases.
            auditRead(request, principal: principal, site: site, count: summary.items.count)
            return HTTPResponse(status: dryRun ? 200 : 201, contentType: "application/json", body: summary.serialized())
        }
    }

    /// A record-by-record reader of the body, by media type (nothing is parsed yet).
    func importReader(_ request: HTTPRequest) throws -> ImportRecordReader {
        switch request.mediaType {
        case "application/x-ndjson": ImportRecordReader(body: request.body, format: .ndjson)
        case "application/json": ImportRecordReader(body: request.body, format: .jsonArray)
        default: throw RequestError.unsupportedMediaType(accepted: ["application/x-ndjson", "application/json"])
        }
    }
}
