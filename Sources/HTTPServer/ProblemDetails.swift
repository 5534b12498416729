import Foundation

/// An RFC 9457 problem document, the body of every error response (`application/problem+json`).
public struct ProblemDetails: Sendable, Encodable, Equatable {
    /// One invalid field of a request: a JSON Pointer, a stable code and a message that never quotes the input.
    public struct FieldError: Sendable, Encodable, Equatable {
        public var path: String
        public var code: String
        public var message: String
        public init(path: String, code: String, message: String) {
            self.path = path
            self.code = code
            self.message = message
        }
    }

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var instance: String?
    public var errors: [FieldError]?
    /// Extra members specific to a problem type (e.g. the existing case of a 409), already JSON-safe strings.
    public var extensions: [String: String]

    public init(
        status: Int, title: String, detail: String, type: String? = nil, instance: String? = nil,
        errors: [FieldError]? = nil, extensions: [String: String] = [:]
    ) {
        self.type = type ?? "about:blank"
        self.title = title
        self.status = status
        self.detail = detail
        self.instance = instance
        self.errors = errors
        self.extensions = extensions
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(type, forKey: Key("type"))
        try c.encode(title, forKey: Key("title"))
        try c.encode(status, forKey: Key("status"))
        try c.encode(detail, forKey: Key("detail"))
        if let instance { try c.encode(instance, forKey: Key("instance")) }
        if let errors { try c.encode(errors, forKey: Key("errors")) }
        for (key, value) in extensions where !["type", "title", "status", "detail", "instance", "errors"].contains(key) {
            try c.encode(value, forKey: Key(key))
        }
    }

    public var response: HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(self)) ?? Data(#"{"status":500,"title":"Internal Server Error"}"#.utf8)
        return HTTPResponse(status: status, contentType: "application/problem+json", body: Array(body))
    }

    /// The reason phrase for a status, used as the title of generic problems.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }
}

/// An error that knows how it is answered over HTTP. Each layer keeps its own error types;
/// the API module conforms them (in one place) and the server renders whatever conforms.
public protocol HTTPResponseError: Error {
    var problem: ProblemDetails { get }
    /// Extra response headers (e.g. `Allow`, `WWW-Authenticate`).
    var responseHeaders: HTTPHeaders { get }
    /// The whole response; the default renders `problem` with `responseHeaders`.
    var response: HTTPResponse { get }
}

extension HTTPResponseError {
    public var responseHeaders: HTTPHeaders { HTTPHeaders() }

    public var response: HTTPResponse {
        var response = problem.response
        for (name, value) in responseHeaders { response.headers.set(name, value) }
        return response
    }
}

/// Errors the HTTP layer itself answers: routing, framing and size limits.
public enum HTTPServerError: HTTPResponseError, Equatable {
    case notFound
    case methodNotAllowed(allowed: [HTTPMethod])
    case payloadTooLarge(limit: Int)
    /// Ambiguous framing or a request the server refuses to interpret (the detail says which).
    case badRequest(detail: String)
    case tooManyQueryParameters(limit: Int)
    /// The server is stopping.
    case unavailable
    case internalError

    public var problem: ProblemDetails {
        switch self {
        case .notFound:
            ProblemDetails(status: 404, title: "Not Found", detail: "No resource is served at this path.")
        case .methodNotAllowed(let allowed):
            ProblemDetails(
                status: 405, title: "Method Not Allowed",
                detail: "This path accepts: \(allowed.map(\.rawValue).joined(separator: ", ")).")
        case .payloadTooLarge(let limit):
            ProblemDetails(
                status: 413, title: "Content Too Large",
                detail: "The request body exceeds the limit of \(limit) bytes.")
        case .badRequest(let detail):
            ProblemDetails(status: 400, title: "Bad Request", detail: detail)
        case .tooManyQueryParameters(let limit):
            ProblemDetails(status: 414, title: "URI Too Long", detail: "The request has more than \(limit) query parameters.")
        case .unavailable:
            ProblemDetails(status: 503, title: "Service Unavailable", detail: "The server is stopping; retry shortly.")
        case .internalError:
            ProblemDetails(status: 500, title: "Internal Server Error", detail: "The server could not complete the request.")
        }
    }

    public var responseHeaders: HTTPHeaders {
        if case .methodNotAllowed(let allowed) = self {
            return HTTPHeaders([("Allow", allowed.map(\.rawValue).joined(separator: ", "))])
        }
        return HTTPHeaders()
    }
}
