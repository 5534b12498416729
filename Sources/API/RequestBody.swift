import HTTPServer
import JSON

/// Problems with a request's body or parameters, before any domain rule runs.
public enum RequestError: Error, Equatable {
    /// The body is not valid JSON (400).
    case malformedJSON(String)
    /// The `Content-Type` is not one the route accepts (415).
    case unsupportedMediaType(accepted: [String])
    /// Well-formed JSON of the wrong shape for the operation (400).
    case invalidBody(String)
    /// A query parameter is unknown or has a bad value (400); `name` is the parameter.
    case badParameter(name: String, message: String)
}

extension HTTPRequest {
    /// Parses the body as JSON after checking its media type.
    /// - Throws: `RequestError.unsupportedMediaType` (415) or `.malformedJSON` (400).
    public func jsonBody(accepting mediaTypes: [String] = ["application/json"]) throws(RequestError) -> JSONValue {
        guard let mediaType, mediaTypes.contains(mediaType) else {
            throw .unsupportedMediaType(accepted: mediaTypes)
        }
        do {
            return try JSONValue.parse(body)
        } catch {
            throw .malformedJSON(error.description)
        }
    }
}

import Foundation

extension HTTPResponse {
    /// A JSON response from an encodable value, keys sorted for stable bodies and ETags.
    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own response types cannot fail; an empty object would hide a bug, so trap in debug.
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            assertionFailure("response encoding failed: \(error)")
            return ProblemDetails(status: 500, title: "Internal Server Error", detail: "The response could not be encoded.").response
        }
        return .json(data, status: status)
    }

    public static func json(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
        .json(value.serialized(), status: status)
    }
}
