import FHIR
import HTTPServer
import JSON
import Logging
import Registry
import Storage

// The FHIR routes' counterpart of Errors+HTTP.swift: every error becomes an OperationOutcome with
// the status the same error has elsewhere. Diagnostics never quote a submitted value.

/// Failures only the FHIR routes have.
enum FHIRFailure: Error {
    /// The body is over the route's limit (413).
    case tooLarge(limit: Int)
    /// `Content-Type: ...; fhirVersion=` names another FHIR version (400).
    case otherVersion
    /// The server was started without a terminology table (503).
    case noTerminology

    var response: HTTPResponse {
        switch self {
        case .tooLarge(let limit):
            fhirOutcome(413, OutcomeIssue(code: "too-long", registryCode: "payload_too_large", diagnostics: "The Bundle exceeds the limit of \(limit) bytes; split it into smaller Bundles."))
        case .otherVersion:
            fhirOutcome(400, OutcomeIssue(code: "not-supported", registryCode: "fhir_version", diagnostics: "This service reads FHIR R4 (fhirVersion 4.0) only."))
        case .noTerminology:
            fhirOutcome(503, OutcomeIssue(code: "transient", registryCode: "not_ready", diagnostics: "The FHIR terminology table is not loaded (start the server with --fhir-terminology)."))
        }
    }
}

/// At most this many issues in one OperationOutcome, as the REST routes cap `errors`: a Bundle of
/// many bad entries must not make an answer larger than the request.
let maxOutcomeIssues = 100

func fhirOutcome(_ status: Int, _ issues: OutcomeIssue..., headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
    fhirResponse(operationOutcome(issues), status: status, headers: headers)
}

extension Application {
    /// The first `maxOutcomeIssues` issues, and one more saying how many were left out.
    static func capped(_ issues: [OutcomeIssue]) -> [OutcomeIssue] {
        guard issues.count > maxOutcomeIssues else { return issues }
        return Array(issues.prefix(maxOutcomeIssues)) + [
            OutcomeIssue(
                severity: .information, code: "too-costly", registryCode: "issues_truncated",
                diagnostics: "\(issues.count) issues in all; the first \(maxOutcomeIssues) are listed.")
        ]
    }

    /// Maps an error of a FHIR route to an OperationOutcome response.
    func fhirErrorResponse(_ error: any Error, request: borrowing HTTPRequest) -> HTTPResponse {
        switch error {
        case let failure as FHIRFailure:
            return failure.response
        case let failure as IngestError:
            switch failure {
            case .unreadable(let issue): return fhirOutcome(400, issue)
            case .invalid(let issues): return fhirResponse(operationOutcome(Self.capped(issues)), status: 422)
            }
        case let failure as AuthError:
            let problem = failure.problem
            return fhirOutcome(
                problem.status,
                OutcomeIssue(
                    code: failure == .unauthenticated ? "login" : "forbidden",
                    registryCode: failure == .unauthenticated ? "unauthenticated" : "forbidden", diagnostics: problem.detail),
                headers: failure.responseHeaders)
        case let failure as RequestError:
            let problem = failure.problem
            switch failure {
            case .badParameter(let name, let message):
                return fhirOutcome(400, OutcomeIssue(code: "invalid", registryCode: "invalid_parameter", diagnostics: "\(name): \(message)"))
            case .unsupportedMediaType:
                return fhirOutcome(415, OutcomeIssue(code: "not-supported", registryCode: "unsupported_media_type", diagnostics: problem.detail))
            case .malformedJSON, .invalidBody:
                return fhirOutcome(400, OutcomeIssue(code: "structure", registryCode: "invalid_body", diagnostics: problem.detail))
            }
        case let failure as RegistryError:
            let problem = failure.problem
            let code: String
            switch failure {
            case .notFound, .unknownKey: code = "not-found"
            case .duplicate: code = "duplicate"
            case .versionMismatch: code = "conflict"
            case .invalid, .importRejected: code = "invalid"
            }
            return fhirOutcome(problem.status, OutcomeIssue(code: code, registryCode: code, diagnostics: problem.detail))
        case let failure as UnknownParameterError:
            // As on the REST routes: the name is the client's and is not repeated.
            return fhirOutcome(400, OutcomeIssue(code: "invalid", registryCode: "unknown_parameter", diagnostics: failure.problem.detail))
        case let failure as RateLimitedError:
            return fhirOutcome(
                429, OutcomeIssue(code: "throttled", registryCode: "rate_limited", diagnostics: failure.problem.detail),
                headers: failure.responseHeaders)
        case let failure as any HTTPResponseError:
            // Any other error that has its own status keeps it (never a 500 for a client's mistake).
            let problem = failure.problem
            return fhirOutcome(
                problem.status, OutcomeIssue(code: problem.status >= 500 ? "transient" : "processing", diagnostics: problem.detail),
                headers: failure.responseHeaders)
        case let failure as DatabaseError where failure.isBusy:
            return fhirOutcome(503, OutcomeIssue(code: "transient", registryCode: "busy", diagnostics: "The database is busy; retry shortly."))
        case let failure as DatabaseError where failure.isUnavailable:
            return fhirOutcome(
                503, OutcomeIssue(code: "transient", registryCode: "unavailable", diagnostics: "The database is unavailable; retry shortly."))
        default:
            logger.error(
                "unhandled error",
                metadata: ["request_id": "\(request.requestID)", "error_type": "\(String(reflecting: type(of: error)))"])
            return fhirOutcome(500, OutcomeIssue(code: "exception", registryCode: "internal", diagnostics: "The server could not complete the request."))
        }
    }
}
