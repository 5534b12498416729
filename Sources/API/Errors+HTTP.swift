import HTTPServer
import Logging
import Storage

// The one place where errors of every layer become HTTP statuses and problem documents.

extension RequestError: HTTPResponseError {
    public var problem: ProblemDetails {
        switch self {
        case .malformedJSON(let why):
            ProblemDetails(status: 400, title: "Malformed JSON", detail: why, type: ProblemType.malformedJSON)
        case .invalidBody(let why):
            ProblemDetails(status: 400, title: "Invalid body", detail: why, type: ProblemType.invalidBody)
        case .unsupportedMediaType(let accepted):
            ProblemDetails(
                status: 415, title: "Unsupported Media Type",
                detail: "Send the body as \(accepted.joined(separator: " or ")) (Content-Type header).",
                type: ProblemType.unsupportedMediaType)
        case .badParameter(let name, let message):
            ProblemDetails(
                status: 400, title: "Invalid query parameter", detail: "\(name): \(message)", type: ProblemType.badParameter,
                errors: [.init(path: name, code: "invalid_parameter", message: message)])
        }
    }
}

/// Stable `type` URIs of the problems this service answers (documented in openapi.yaml).
public enum ProblemType {
    public static let malformedJSON = "https://icmm-registry.example/problems/malformed-json"
    public static let unsupportedMediaType = "https://icmm-registry.example/problems/unsupported-media-type"
    public static let invalidBody = "https://icmm-registry.example/problems/invalid-body"
    public static let badParameter = "https://icmm-registry.example/problems/invalid-parameter"
    public static let validation = "https://icmm-registry.example/problems/validation"
    public static let notReady = "https://icmm-registry.example/problems/not-ready"
    public static let internalError = "https://icmm-registry.example/problems/internal"
}

/// Maps an error no handler caught to a response. Unknown errors become a 500 whose body says
/// nothing about the error (it could quote data); the log line names only its type.
func mapError(_ error: any Error, request: HTTPRequest, logger: Logger) -> HTTPResponse {
    if let error = error as? any HTTPResponseError { return error.response }
    if let error = error as? DatabaseError, error.isBusy {
        logger.warning("database busy", metadata: ["request_id": "\(request.requestID)"])
        return ProblemDetails(
            status: 503, title: "Service Unavailable", detail: "The database is busy; retry shortly.",
            type: ProblemType.notReady
        ).response
    }
    // PostgreSQL down or the connection lost: nothing was acknowledged, the client may retry.
    if let error = error as? DatabaseError, error.isUnavailable {
        logger.error("database unavailable", metadata: ["request_id": "\(request.requestID)", "sqlstate": "\(error.sqlState ?? "")"])
        return ProblemDetails(
            status: 503, title: "Service Unavailable", detail: "The database is unavailable; retry shortly.",
            type: ProblemType.notReady
        ).response
    }
    logger.error(
        "unhandled error",
        metadata: ["request_id": "\(request.requestID)", "error_type": "\(String(reflecting: type(of: error)))"])
    return ProblemDetails(
        status: 500, title: "Internal Server Error", detail: "The server could not complete the request.",
        type: ProblemType.internalError
    ).response
}

import Classification
import Foundation
import JSON
import Registry

extension ProblemType {
    public static let unauthenticated = "https://icmm-registry.example/problems/unauthenticated"
    public static let expiredKey = "https://icmm-registry.example/problems/expired-key"
    public static let forbidden = "https://icmm-registry.example/problems/forbidden"
    public static let notFound = "https://icmm-registry.example/problems/not-found"
    public static let duplicate = "https://icmm-registry.example/problems/duplicate-case"
    public static let versionMismatch = "https://icmm-registry.example/problems/version-mismatch"
    public static let notEstimable = "https://icmm-registry.example/problems/not-estimable"
    public static let importRejected = "https://icmm-registry.example/problems/import-rejected"
}

/// A problem document with members beyond `ProblemDetails` (JSON values), e.g. an import's records.
func problemResponse(_ problem: ProblemDetails, extra: [String: JSONValue], headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
    var response = problem.response
    if var members = (try? JSONValue.parse(Data(response.body)))?.objectValue {
        for (key, value) in extra { members[key] = value }
        response.body = Array(JSONValue.object(members).serialized())
    }
    for (name, value) in headers { response.headers.set(name, value) }
    return response
}

extension AuthError: HTTPResponseError {
    public var problem: ProblemDetails {
        switch self {
        case .unauthenticated:
            ProblemDetails(
                status: 401, title: "Unauthorized",
                detail: "Send a valid API key as `Authorization: Bearer <key>` (create one with `icmm keys create`).",
                type: ProblemType.unauthenticated)
        case .expired:
            ProblemDetails(
                status: 401, title: "Key expired",
                detail: "This API key has expired; use the key that replaced it or ask for a new one (`icmm keys rotate`).",
                type: ProblemType.expiredKey)
        case .forbidden(let role):
            ProblemDetails(
                status: 403, title: "Forbidden", detail: "The role '\(role.rawValue)' may not use this operation.",
                type: ProblemType.forbidden)
        case .otherSite:
            ProblemDetails(
                status: 403, title: "Forbidden", detail: "A submitter acts on the cases of its own site only.",
                type: ProblemType.forbidden)
        }
    }

    public var responseHeaders: HTTPHeaders {
        switch self {
        case .unauthenticated: HTTPHeaders([("WWW-Authenticate", #"Bearer realm="icmm-registry""#)])
        case .expired: HTTPHeaders([("WWW-Authenticate", #"Bearer realm="icmm-registry", error="invalid_token", error_description="expired""#)])
        default: HTTPHeaders()
        }
    }
}

extension CaseValidationErrors: HTTPResponseError {
    public var problem: ProblemDetails { validationProblem(errors) }
}

func validationProblem(_ errors: [CaseValidationError]) -> ProblemDetails {
    let shown = errors.prefix(ErrorReport.maxErrors)
    var problem = ProblemDetails(
        status: 422, title: "Invalid case",
        detail: errors.count == 1 ? "1 field is invalid." : "\(errors.count) fields are invalid.",
        type: ProblemType.validation,
        errors: shown.map { .init(path: ErrorReport.path($0.pointer), code: $0.code.rawValue, message: $0.message) })
    if errors.count > shown.count {
        problem.detail += " The first \(shown.count) are listed."
        problem.extensions["errors_total"] = String(errors.count)
    }
    return problem
}

/// Error reports are bounded and quote nothing long the client sent (issue #12, "No
/// amplification, no echo"): at most `maxErrors` entries (with the total), and each member name
/// in a path cut to `maxNameBytes` bytes, so that no request can make an error body much larger
/// than a fixed bound, whatever it sent.
enum ErrorReport {
    static let maxErrors = 100
    /// Records of a rejected import listed (each with at most `maxErrors` errors).
    static let maxRecords = 100
    static let maxNameBytes = 32

    /// The JSON Pointer with every token cut to `maxNameBytes` bytes (at a character boundary),
    /// a cut token ending in `~`: a character a real member name of the data dictionary never has.
    static func path(_ pointer: JSONPointer) -> String {
        guard pointer.tokens.contains(where: { $0.utf8.count > maxNameBytes }) else { return pointer.description }
        return JSONPointer(pointer.tokens.map(truncated)).description
    }

    static func truncated(_ name: String) -> String {
        guard name.utf8.count > maxNameBytes else { return name }
        var kept = ""
        var bytes = 0
        for character in name {
            let size = character.utf8.count
            if bytes + size > maxNameBytes - 1 { break }
            kept.append(character)
            bytes += size
        }
        return kept + "~"
    }

    /// A rejected import's records as JSON: the first `maxRecords`, each with its first `maxErrors` errors.
    static func records(_ records: [ImportRecordErrors]) -> JSONValue {
        .array(
            records.prefix(maxRecords).map { record in
                var members: JSONObject = [
                    "index": .number(Double(record.index)),
                    "external_id": record.externalID.map(JSONValue.string) ?? .null,
                    "errors": .array(
                        record.errors.prefix(maxErrors).map { error in
                            .object([
                                "path": .string(path(error.pointer)), "code": .string(error.code.rawValue),
                                "message": .string(error.message),
                            ])
                        }),
                ]
                if record.errors.count > maxErrors { members["errors_total"] = .number(Double(record.errors.count)) }
                return .object(members)
            })
    }
}

/// A query parameter this operation does not define. The answer does not repeat its name (it is
/// the client's input and may be anything); it lists the names that are allowed.
struct UnknownParameterError: HTTPResponseError {
    let allowed: [String]
    var problem: ProblemDetails {
        let message =
            allowed.isEmpty
            ? "This operation takes no query parameters."
            : "A query parameter is not one of this operation's (allowed: \(allowed.joined(separator: ", ")))."
        return ProblemDetails(
            status: 400, title: "Invalid query parameter", detail: message, type: ProblemType.badParameter,
            errors: [.init(path: "", code: "unknown_parameter", message: message)])
    }
}

extension RegistryError: HTTPResponseError {
    public var problem: ProblemDetails {
        switch self {
        case .invalid(let errors):
            validationProblem(errors)
        case .notFound:
            ProblemDetails(
                status: 404, title: "Not Found", detail: "Your site has no case with this external id.", type: ProblemType.notFound)
        case .duplicate(let externalID, let caseID):
            ProblemDetails(
                status: 409, title: "Conflict",
                detail: "Your site already has a case with this external id; update it with PUT or PATCH.",
                type: ProblemType.duplicate, extensions: ["existing": "/v1/cases/\(externalID)", "existing_id": caseID])
        case .versionMismatch(let current):
            ProblemDetails(
                status: 412, title: "Precondition Failed",
                detail: current == 0
                    ? "If-Match was given but the case does not exist."
                    : "The case has changed: its current version is \(current). Read it again, then retry with If-Match: \"\(current)\".",
                type: ProblemType.versionMismatch)
        case .importRejected(let records):
            ProblemDetails(
                status: 422, title: "Import rejected",
                detail: "\(records.count) record(s) are invalid; nothing was stored.", type: ProblemType.importRejected)
        case .unknownKey:
            ProblemDetails(status: 404, title: "Not Found", detail: "No such key.", type: ProblemType.notFound)
        }
    }

    public var responseHeaders: HTTPHeaders {
        switch self {
        case .duplicate(let externalID, _): HTTPHeaders([("Location", "/v1/cases/\(externalID)")])
        case .versionMismatch(let current) where current > 0: HTTPHeaders([("ETag", etag(current))])
        default: HTTPHeaders()
        }
    }

    public var response: HTTPResponse {
        if case .importRejected(let records) = self {
            var extra: [String: JSONValue] = ["records": ErrorReport.records(records)]
            if records.count > ErrorReport.maxRecords { extra["records_total"] = .number(Double(records.count)) }
            return problemResponse(problem, extra: extra, headers: responseHeaders)
        }
        var response = problem.response
        for (name, value) in responseHeaders { response.headers.set(name, value) }
        return response
    }
}

import Survival

extension SurvivalError: HTTPResponseError {
    /// The engine refuses data it cannot estimate (no events, a covariate without variation, a
    /// model that does not converge...): the query is well-formed but this cohort cannot answer it.
    public var problem: ProblemDetails {
        ProblemDetails(
            status: 422, title: "Cannot be estimated", detail: "This cohort cannot answer the query: \(description).",
            type: ProblemType.notEstimable)
    }
}
