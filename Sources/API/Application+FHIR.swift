import Classification
import FHIR
import Foundation
import HTTPServer
import JSON
import Registry

/// FHIR R4 ingest and export (DOMAIN.md section 10). Every answer of these routes, errors
/// included, is FHIR: a Bundle on success, an OperationOutcome otherwise (never problem+json).
extension Application {
    static let fhirMediaType = "application/fhir+json"
    /// `application/json` is accepted too: many integration engines send FHIR with it.
    static let fhirAcceptedMediaTypes = ["application/fhir+json", "application/json"]

    /// `POST /v1/fhir` and `GET /v1/cases/{external_id}/fhir`: the routes that answer FHIR.
    static func isFHIRPath(_ path: String) -> Bool {
        if path == "/v1/fhir" { return true }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 5 && parts[1] == "v1" && parts[2] == "cases" && parts[4] == "fhir"
    }

    func addFHIRRoutes(to router: inout Router) {
        // POST /v1/fhir: a transaction or collection Bundle; each Patient is one case; all or nothing.
        router.post(
            "/v1/fhir", maxBodyBytes: maxFHIRBytes, mayBlock: true, admission: admitCaseWriter,
            tooLarge: { limit in
                FHIRFailure.tooLarge(limit: limit).response
            }
        ) { [self] request in
            do {
                return try ingestFHIR(request)
            } catch {
                return fhirErrorResponse(error, request: request)
            }
        }

        // GET /v1/cases/{external_id}/fhir: the stored case as a collection Bundle.
        router.get("/v1/cases/{external_id}/fhir") { [self] request in
            do {
                let principal = try authorize(request, roles: Self.caseRoles)
                let site = try targetSite(request, principal: principal)
                try rejectUnknownParameters(request, allowed: ["site"])
                let writer = BundleWriter(terminology: try terminology())
                let stored = try cases.get(site: site, externalID: try externalID(request, forWrite: false))
                auditRead(request, principal: principal, site: site, count: 1)
                return fhirResponse(writer.export(stored.data), status: 200)
            } catch {
                return fhirErrorResponse(error, request: request)
            }
        }
    }

    func terminology() throws -> Terminology {
        guard let fhirTerminology else { throw FHIRFailure.noTerminology }
        return fhirTerminology
    }

    private func ingestFHIR(_ request: borrowing HTTPRequest) throws -> HTTPResponse {
        let (principal, site, mode, dryRun) = try importParameters(request)
        guard let mediaType = request.mediaType, Self.fhirAcceptedMediaTypes.contains(mediaType) else {
            throw RequestError.unsupportedMediaType(accepted: Self.fhirAcceptedMediaTypes)
        }
        if let version = Self.fhirVersionParameter(request.headers["Content-Type"]), !version.hasPrefix("4.0") {
            throw FHIRFailure.otherVersion
        }
        let reader = BundleReader(terminology: try terminology())
        let tree = try reader.parse(request.body)
        // Whatever a large Bundle allocated goes back to the system once it is answered.
        defer { Allocator.returnFreeMemory() }
        // Mapped Patient by Patient while the registry imports the cases mapped so far; the
        // Patients' request (POST/PUT) is checked against an explicit ?mode=.
        let (bundle, outcomes): (IngestedBundle, [CaseWriteOutcome])
        do {
            (bundle, outcomes) = try FHIRImport.ingest(
                tree, reader: reader, cases: cases, site: site, explicitMode: request.query["mode"] == nil ? nil : mode,
                dryRun: dryRun, keyID: principal.keyID)
        } catch {
            Self.freeInBackground(consume tree)
            throw error
        }
        // The answer carries each case's classification: a read of patient-level data, recorded
        // like the answer of `POST /v1/imports` (issue #12).
        auditRead(request, principal: principal, site: site, count: outcomes.count)
        // Written straight into the body (the same bytes as the Bundle's JSONValue).
        var body: [UInt8] = []
        body.reserveCapacity(4096 + 2560 * outcomes.count)
        TransactionResponse.write(outcomes, ignored: bundle.ignored, dryRun: dryRun, into: &body)
        let response = HTTPResponse(status: dryRun ? 200 : 201, contentType: Self.fhirMediaType + "; fhirVersion=4.0", body: body)
        // The mapped cases go with the tree: freeing them is no part of the answer.
        Self.freeInBackground((consume tree, consume bundle))
        return response
    }

    /// Frees a parsed Bundle on another thread, then gives the memory back: freeing the tree of a
    /// thousand-resource Bundle is about 6 % of its POST, and the answer need not wait for it
    /// (the mapped cases hold what they use of it).
    private static func freeInBackground<Value: Sendable>(_ value: consuming Value) {
        // Held by a box emptied over there: a value captured by the closure could be released last
        // by this thread (after the closure ran), which would then free it all here.
        let box = ReleaseBox(value)
        DispatchQueue.global().async {
            box.empty()
            Allocator.returnFreeMemory()
        }
    }

    /// The `fhirVersion` parameter of a FHIR media type (`application/fhir+json; fhirVersion=4.0`).
    static func fhirVersionParameter(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let parts = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0].lowercased() == "fhirversion" { return parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        return nil
    }
}

/// A value to be released on the thread that empties the box.
private final class ReleaseBox<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is set at creation and emptied once, by the one thread that received the box.
    private var value: Value?
    init(_ value: consuming Value) { self.value = value }
    func empty() { value = nil }
}

/// The compact JSON of an answer, written straight into the body (no `Data` in between).
private func serializedBody(_ resource: JSONValue) -> [UInt8] {
    var body: [UInt8] = []
    // A transaction-response carries each case's classification (about 2 KB escaped).
    body.reserveCapacity(4096 + 2560 * (resource["entry"]?.arrayValue?.count ?? 0))
    resource.write(into: &body)
    return body
}

func fhirResponse(_ resource: JSONValue, status: Int, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
    var response = HTTPResponse(
        status: status, contentType: Application.fhirMediaType + "; fhirVersion=4.0", body: serializedBody(resource))
    for (name, value) in headers { response.headers.set(name, value) }
    return response
}

/// The FHIR ingest over the registry, shared by `POST /v1/fhir` and `icmm import --fhir`.
public enum FHIRImport {
    /// Stores the cases of the Bundles through the registry's import (the same validator,
    /// classifier, audit and commit as `POST /v1/imports`), all or nothing, and returns what happened
    /// to each case of each Bundle, with its classification. Validation errors come back located in
    /// the Bundle (with several Bundles, the diagnostics say which, counting from 1).
    public static func run(
        _ bundles: [IngestedBundle], cases: CaseStore, site: String, mode: ImportMode, dryRun: Bool, keyID: String?
    ) throws -> [[CaseWriteOutcome]] {
        var all: [(bundle: Int, mapped: MappedCase)] = []
        for (number, bundle) in bundles.enumerated() { all += bundle.cases.map { (number, $0) } }
        let summary: ImportSummary
        do {
            summary = try cases.importCases(
                all.map { ImportRecord.json($0.mapped.json) }, site: site, mode: mode, dryRun: dryRun, keyID: keyID, keepClassifications: true)
        } catch RegistryError.importRejected(let failures) {
            throw IngestError.invalid(
                issues(for: failures, severalBundles: bundles.count > 1) { all.indices.contains($0) ? all[$0] : nil })
        }
        // The classifications the registry just stored: nothing computed again.
        var results: [String: ImportSummary.Item] = [:]
        for item in summary.items { results[item.externalID] = item }
        return bundles.map { bundle in
            bundle.cases.compactMap { mapped in
                guard let id = mapped.externalID, let item = results[id], let classification = item.classification else { return nil }
                return CaseWriteOutcome(externalID: id, result: item.result.rawValue, classificationText: classification)
            }
        }
    }
}
