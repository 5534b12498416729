import Foundation
import HTTPServer
import JSON
import Registry

extension Application {
    /// `POST /v1/imports`: NDJSON (one case per line) or a JSON array; all or nothing.
    func addImportRoute(to router: inout Router) {
        router.post("/v1/imports", maxBodyBytes: maxImportBytes, mayBlock: true, admission: admitCaseWriter) { [self] request in
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
            let records = try importRecords(request)
            let summary = try cases.importCases(records, site: site, mode: mode, dryRun: dryRun, keyID: principal.keyID)
            // The answer lists every case's ids and result: a read of the site's cases.
            auditRead(request, principal: principal, site: site, count: summary.items.count)
            return .json(summary.toJSON(), status: dryRun ? 200 : 201)
        }
    }

    func importRecords(_ request: HTTPRequest) throws -> [ImportRecord] {
        switch request.mediaType {
        case "application/x-ndjson":
            return ImportRecord.ndjson(request.body)
        case "application/json":
            guard case .array(let items) = try request.jsonBody() else {
                throw RequestError.invalidBody("An application/json import must be one JSON array of cases.")
            }
            return items.map(ImportRecord.json)
        default:
            throw RequestError.unsupportedMediaType(accepted: ["application/x-ndjson", "application/json"])
        }
    }
}
