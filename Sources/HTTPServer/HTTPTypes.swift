import Foundation

/// An HTTP method. A struct rather than an enum so that unknown methods can still be named in a 405.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) {
        // Methods arrive uppercase from every real client: skip the copy then.
        self.rawValue = rawValue.utf8.allSatisfy { $0 < 0x61 || $0 > 0x7A } ? rawValue : rawValue.uppercased()
    }
    /// A method name as libmicrohttpd passes it: the common ones become the shared constants
    /// without building a new string.
    init(cString p: UnsafePointer<CChar>) {
        // Each byte is read only after the ones before it matched (none of them the terminator).
        // The literals equal `.get`, `.post`, `.head` without reading those globals (a lazy
        // initialization check and a retain per request).
        if p[0] == 0x47, p[1] == 0x45, p[2] == 0x54, p[3] == 0 {
            self.init(uppercase: "GET")
        } else if p[0] == 0x50, p[1] == 0x4F, p[2] == 0x53, p[3] == 0x54, p[4] == 0 {
            self.init(uppercase: "POST")
        } else if p[0] == 0x48, p[1] == 0x45, p[2] == 0x41, p[3] == 0x44, p[4] == 0 {
            self.init(uppercase: "HEAD")
        } else {
            self.init(rawValue: String(cString: p))
        }
    }
    /// A name already in upper case, taken as it is.
    private init(uppercase: String) { rawValue = uppercase }
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }

    public static let get = HTTPMethod("GET")
    public static let head = HTTPMethod("HEAD")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let patch = HTTPMethod("PATCH")
    public static let delete = HTTPMethod("DELETE")
    public static let options = HTTPMethod("OPTIONS")

    public var description: String { rawValue }
}

/// Header fields with case-insensitive names; repeated fields keep every value in order.
///
/// Always an owned copy: the server copies a request's fields out of libmicrohttpd's memory on the
/// event loop, inside the callback that received them, so a handler may keep its request or pass it
/// to another thread, and nothing can read libmicrohttpd's memory after the request ended.
public struct HTTPHeaders: Sendable, Sequence {
    private var stored: [(name: String, value: String)] = []

    public init() {}
    public init(_ fields: [(String, String)]) {
        stored.reserveCapacity(fields.count + 1)  // room for one more without a copy
        for (name, value) in fields { stored.append((name, value)) }
    }

    /// One field: the common case of a response with only its content type.
    public init(_ name: String, _ value: String) {
        stored.reserveCapacity(2)
        stored.append((name, value))
    }

    /// Takes over fields already copied (the server's request headers).
    init(copied fields: [(name: String, value: String)]) { stored = fields }

    /// Keeps `fields` as they are, sharing their storage. For a constant response built from a
    /// literal: the optimizer makes a literal array a static object that is never reference
    /// counted, so two event loops copying the response do not pass its cache line back and forth.
    public init(sharing fields: [(name: String, value: String)]) { stored = fields }

    public var fields: [(name: String, value: String)] { stored }

    /// Removes every field, keeping the storage (a reused request state).
    mutating func removeAllKeepingCapacity() {
        // One by one: `removeAll(keepingCapacity:)` destroys the fields through the run time's
        // generic tuple code, several times slower for the two or three of a request.
        while stored.popLast() != nil {}
    }

    /// Consuming: the server hands over the strings it just made (no retain and release each).
    public mutating func add(_ name: consuming String, _ value: consuming String) {
        stored.append((name, value))
    }

    /// Replaces every field of that name with one field.
    public mutating func set(_ name: String, _ value: String) {
        stored.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
        stored.append((name, value))
    }

    /// The first value of the field, if any.
    public subscript(name: String) -> String? {
        stored.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// How many fields have that name.
    public func count(of name: String) -> Int {
        stored.reduce(0) { $0 + (asciiCaseInsensitiveEquals($1.name, name) ? 1 : 0) }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { stored.makeIterator() }
}

/// The decoded query string. Repeated names keep every value (`?site=a&site=b`).
public struct QueryParameters: Sendable, Sequence {
    public private(set) var items: [(name: String, value: String)]

    public init(_ items: [(name: String, value: String)] = []) { self.items = items }

    /// Adds a decoded parameter (the server, copying the query string).
    mutating func append(_ name: consuming String, _ value: consuming String) { items.append((name: name, value: value)) }

    /// See `HTTPHeaders.removeAllKeepingCapacity`.
    mutating func removeAllKeepingCapacity() {
        while items.popLast() != nil {}
    }

    /// The first value of a parameter.
    public subscript(name: String) -> String? { items.first { $0.name == name }?.value }

    /// Every value of a parameter, in order.
    public func values(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    public var names: [String] { items.map(\.name) }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { items.makeIterator() }
}

/// One HTTP request, fully read (body included) before a handler sees it.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query string, as libmicrohttpd decoded it.
    public var path: String
    public var query: QueryParameters
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The caller's `X-Request-Id` when it was usable, else one generated by the server.
    public var requestID: String
    /// Values of the `{name}` segments of the matched route.
    public var pathParameters: [String: String]
    /// The matched route's pattern (for logs and metrics: never the raw path).
    public var route: String?
    /// The libmicrohttpd connection the request came on, 0 in process: the peer's address is
    /// read from it only when asked (`clientAddress`), by the few paths that need it.
    var connectionBits: UInt

    /// The media type of the body without parameters, lowercased (`application/json`).
    public var mediaType: String? {
        guard let value = headers["Content-Type"] else { return nil }
        return Self.asciiMediaType(value) ?? Self.generalMediaType(value)
    }

    /// The media type by the general rule: the first non-empty part before a `;` (as `split` takes
    /// it; the whole value when there is none), trimmed of spaces and tabs, lowercased. Used for
    /// values with a non-ASCII byte, and the reference the ASCII path is tested against.
    static func generalMediaType(_ value: String) -> String {
        let type = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? value
        return type.trimmingASCIISpaces().lowercased()
    }

    /// The same result over the UTF-8 bytes when all of them are ASCII (every real `Content-Type`);
    /// nil otherwise. `split`, grapheme breaking and Unicode `lowercased()` cost about 10K
    /// instructions per POST (issue 11). In ASCII a `;` is always a Character of its own and
    /// lowercasing is A-Z to a-z, so working on bytes gives the same string.
    static func asciiMediaType(_ value: String) -> String? {
        let result = value.utf8.withContiguousStorageIfAvailable { bytes -> String? in
            var index = 0
            while index < bytes.count {
                if bytes[index] >= 0x80 { return nil }
                index += 1
            }
            let semicolon: UInt8 = 0x3B
            // `split` omits empty parts: skip leading semicolons, then take up to the next one.
            var start = 0
            while start < bytes.count && bytes[start] == semicolon { start += 1 }
            var end = bytes.count
            if start == bytes.count {
                start = 0  // no non-empty part: the whole value, as `?? value` above
            } else {
                end = start
                while end < bytes.count && bytes[end] != semicolon { end += 1 }
            }
            while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
            while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
            let type = UnsafeBufferPointer(rebasing: bytes[start..<end])
            // The types routes accept come back as shared constants, without building a string.
            for known in Self.knownMediaTypes where known.utf8.count == type.count {
                let same = known.utf8.withContiguousStorageIfAvailable { asciiCaseInsensitiveEquals($0, type) }
                if same == true { return known }
            }
            return String(unsafeUninitializedCapacity: type.count) { output in
                for offset in 0..<type.count {
                    let byte = type[offset]
                    output[offset] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                }
                return type.count
            }
        }
        return result ?? nil
    }

    private static let knownMediaTypes = ["application/json", "application/x-ndjson", "application/fhir+json"]
}

extension HTTPRequest {
    /// Empties the request for the next one on the same state (`RequestState.reset`): the header
    /// and query lists keep their storage; most requests have no body and no path parameters,
    /// so those are replaced only when set (a release and a retain of the empty storage each).
    /// The method, path, request id, route and connection are left as they are: the server sets
    /// each of them on the next request's headers, before anything reads them.
    mutating func clearForReuse() {
        headers.removeAllKeepingCapacity()
        query.removeAllKeepingCapacity()
        if !body.isEmpty { body = [] }
        if !pathParameters.isEmpty { pathParameters = Dictionary() }
    }
}

// In an extension, so that the struct keeps its implicit memberwise initializer: the server builds
// its requests with that one. It makes the value from its fields at once; an explicit initializer
// assigning `self.x = x` built the request in one stack slot and copied it whole into another
// (every field retained and released once more per request, issue 11).
extension HTTPRequest {
    public init(
        method: HTTPMethod, path: String, query: QueryParameters = QueryParameters(), headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], requestID: String = "test", pathParameters: [String: String] = [:], route: String? = nil
    ) {
        self.init(
            method: method, path: path, query: query, headers: headers, body: body, requestID: requestID,
            pathParameters: pathParameters, route: route, connectionBits: 0)
    }
}

/// A complete response; the server adds `Content-Length`, `Date` and `X-Request-Id`. A handler that
/// always answers the same may build its response once and return it: copies share the storage.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The route pattern that produced the response, for the access log and metrics; never sent.
    public var route: String?

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int = 200, contentType: String, body: [UInt8]) {
        self.init(status: status, headers: HTTPHeaders("Content-Type", contentType), body: body)
    }

    public static func json(_ body: Data, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: Array(body))
    }

    public static func text(_ body: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, contentType: contentType, body: Array(body.utf8))
    }

    public static func empty(status: Int) -> HTTPResponse { HTTPResponse(status: status) }
}

/// Header names are ASCII (RFC 9110 tokens): compare bytes, folding A-Z, without Foundation.
/// Over the strings' own bytes (a header lookup runs several times per request; iterating two
/// UTF-8 views in step costs several times more).
@inline(__always)
func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    if let equal = a.utf8.withContiguousStorageIfAvailable({ x in
        b.utf8.withContiguousStorageIfAvailable { y in asciiCaseInsensitiveEquals(x, y) }
    }), let equal {
        return equal
    }
    for (p, q) in zip(a.utf8, b.utf8) where p != q {
        guard p | 0x20 == q | 0x20, (p | 0x20) >= 0x61, (p | 0x20) <= 0x7A else { return false }
    }
    return true
}

/// The same comparison over two byte buffers of equal length.
@inline(__always)
func asciiCaseInsensitiveEquals(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
    guard x.count == y.count else { return false }
    for index in 0..<x.count {
        let p = x[index]
        let q = y[index]
        if p != q {
            guard p | 0x20 == q | 0x20, (p | 0x20) >= 0x61, (p | 0x20) <= 0x7A else { return false }
        }
    }
    return true
}

extension StringProtocol {
    /// Drops leading and trailing spaces and tabs (HTTP's optional whitespace) without Foundation.
    /// Over the UTF-8 bytes: both are ASCII, and stepping by Character would cost grapheme breaking.
    /// Inlinable, so that callers in other modules get it specialized for their string type.
    @inlinable
    public func trimmingASCIISpaces() -> String {
        let bytes = utf8
        var start = bytes.startIndex
        while start < bytes.endIndex, bytes[start] == 0x20 || bytes[start] == 0x09 { start = bytes.index(after: start) }
        var end = start  // just after the last byte that is neither
        var index = start
        while index < bytes.endIndex {
            let next = bytes.index(after: index)
            if bytes[index] != 0x20 && bytes[index] != 0x09 { end = next }
            index = next
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
