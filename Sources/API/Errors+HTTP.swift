import HTTPServer
import Logging
import Storage

// The one place where errors of every layer become HTTP statuses and problem documents.

extension RequestError: HTTPResponseError {
    public var problem: ProblemDetails {
        switch self {
        case .malformedJSON(let why):
            ProblemDetails(status: 400, title: "Malformed JSON", detail: why, type: ProblemType.malformedJSON)
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
    logger.error(
        "unhandled error",
        metadata: ["request_id": "\(request.requestID)", "error_type": "\(String(reflecting: type(of: error)))"])
    return ProblemDetails(
        status: 500, title: "Internal Server Error", detail: "The server could not complete the request.",
        type: ProblemType.internalError
    ).response
}
