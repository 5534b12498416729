import HTTPServer
import Registry

/// Why a request's credentials were refused.
public enum AuthError: Error, Equatable {
    /// No `Authorization: Bearer` header, or a key that is unknown or revoked (401).
    case unauthenticated
    /// A real key past its expiry (401 with its own problem type, so a client knows to rotate).
    case expired
    /// A valid key whose role may not use this route (403).
    case forbidden(role: Role)
    /// A submitter naming another site (403): it acts on its own site only.
    case otherSite
}

extension Application {
    /// The principal behind the request's bearer key, within its key's rate limit.
    /// A failure counts against the client's address: past `failedAuthPerAddress` it gets 429
    /// instead of 401, so guessing keys (or a client stuck with a bad one) is slowed.
    /// - Parameter consumingRate: false for the admission check on the headers, so that a request
    ///   with a body takes one token of its key, in its handler, not two.
    func authenticate(_ request: HTTPRequest, consumingRate: Bool = true) throws -> Principal {
        let principal: Principal
        do {
            principal = try checkCredentials(request)
        } catch let error as AuthError {
            let address = request.clientAddress ?? "in-process"
            if let wait = limiters.failedAuth.take(address) { throw limiters.refuse(limiters.failedAuth, after: wait) }
            throw error
        }
        if consumingRate, let wait = limiters.perKey.take(principal.keyID) { throw limiters.refuse(limiters.perKey, after: wait) }
        return principal
    }

    /// The key of an `Authorization: Bearer KEY` header (the scheme in any case, then one space).
    func bearerKey(_ request: borrowing HTTPRequest) -> String? {
        guard let header = request.headers["Authorization"] else { return nil }
        // One string made (this runs on every authenticated request).
        return Self.withBearerKey(header) { String(decoding: $0, as: UTF8.self) }
    }

    /// `body` of the key's bytes in an `Authorization` value, read in place; nil when the value is
    /// not `Bearer KEY`. Byte by byte: no split, no lowercased copy, no string made.
    static func withBearerKey<R>(_ header: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        withBytes(header) { bytes -> R? in
            guard bytes.count >= 7, bytes[6] == 0x20 else { return nil }
            let scheme: StaticString = "bearer"
            for index in 0..<6 where bytes[index] | 0x20 != scheme.utf8Start[index] { return nil }
            var start = 7
            var end = bytes.count
            while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
            while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
            return body(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        }
    }

    /// The string's UTF-8 bytes, in place when it has contiguous storage (every header value the
    /// server makes), else copied once.
    static func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var text = text
        return text.withUTF8(body)
    }

    private func checkCredentials(_ request: HTTPRequest) throws -> Principal {
        guard let key = bearerKey(request) else { throw AuthError.unauthenticated }
        switch try keys.check(key) {
        case .valid(let principal): return principal
        case .expired: throw AuthError.expired
        case .unknown: throw AuthError.unauthenticated
        }
    }

    /// Authenticates and checks the role in one step.
    func authorize(_ request: HTTPRequest, roles: Set<Role>, consumingRate: Bool = true) throws -> Principal {
        let principal = try authenticate(request, consumingRate: consumingRate)
        guard roles.contains(principal.role) else { throw AuthError.forbidden(role: principal.role) }
        return principal
    }

    /// The admission check of the routes that write cases, run on the headers before the body is
    /// read (credentials before bodies): the same key, role and site checks as their handlers.
    var admitCaseWriter: Admission {
        { [self] request in
            let principal = try authorize(request, roles: Self.caseRoles, consumingRate: false)
            _ = try targetSite(request, principal: principal)
        }
    }

    /// The site a case route acts on: the caller's own, or for an admin the `site` query parameter.
    func targetSite(_ request: HTTPRequest, principal: Principal) throws -> String {
        guard let requested = request.query["site"] else { return principal.site }
        guard KeyStore.isValidSite(requested) else {
            throw RequestError.badParameter(name: "site", message: "must be 1-64 characters of A-Z a-z 0-9 . _ -")
        }
        if principal.role == .admin || requested == principal.site { return requested }
        throw AuthError.otherSite
    }
}
