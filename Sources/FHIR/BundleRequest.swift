import JSON

/// What the Patient entries of a transaction Bundle ask the registry to do with their cases
/// (`Bundle.entry.request`, http://hl7.org/fhir/R4/bundle.html#transaction).
///
/// DOMAIN.md section 10 is silent on `request`; the registry's decision: a case is created or
/// replaced, as `POST /v1/imports?mode=create|upsert` does, so
/// - `POST Patient` creates the case (an existing one is refused, as with `mode=create`);
/// - `PUT Patient/<id>` or `PUT Patient?identifier=[system|]value` creates or replaces it (`mode=upsert`);
/// - the other resources of a case may be POSTed or PUT alike (they are parts of the case);
/// - GET, HEAD, PATCH and DELETE, and the conditional elements `ifNoneExist`, `ifMatch`,
///   `ifNoneMatch` and `ifModifiedSince`, are refused (not supported), naming the element;
/// - every Patient of a Bundle asks the same (the registry writes a Bundle in one mode);
/// - a `collection` Bundle has no `request` (R4 invariant bdl-3).
/// An entry without `request` asks nothing (the query's `mode`, else create, applies).
public enum RequestedWrite: String, Sendable, Equatable {
    /// `POST Patient`.
    case create
    /// `PUT Patient/<id>` or a conditional `PUT Patient?identifier=...`.
    case createOrReplace

    /// The HTTP method that asks for it.
    public var method: String { self == .create ? "POST" : "PUT" }
}

/// The write a Bundle asks for, and the element that asks it (for errors).
public struct WriteRequest: Sendable, Equatable {
    public let write: RequestedWrite
    /// `Bundle.entry[i].request.method` of the first Patient entry with a request.
    public let expression: String
}

extension MappingCode {
    /// A transaction entry's request the registry does not carry out (a method, a conditional element).
    public static let unsupportedRequest = "unsupported_request"
    /// A request that is not valid FHIR for its entry (url of another resource type, POST to an id...).
    public static let invalidRequest = "invalid_request"
    /// Patients of one import asking for different writes, or a write that contradicts `mode`.
    public static let conflictingRequest = "conflicting_request"
}

/// Checks of `Bundle.entry[i].request`, run by the mapping before the entry's resource is read.
struct RequestCheck {
    static let refusedMethods: Set<String> = ["GET", "HEAD", "PATCH", "DELETE"]
    static let conditionalElements = ["ifNoneExist", "ifMatch", "ifNoneMatch", "ifModifiedSince"]

    /// The problems of one entry's request (empty when it is one the registry carries out), and the
    /// write it asks for when the entry is a Patient.
    static func check(
        _ request: JSONValue, entry index: Int, bundleType: String, resource: JSONValue?, resourceType: String?
    ) -> (issues: [OutcomeIssue], write: RequestedWrite?) {
        // The usual entry, checked first and cheaply: `{"method": "POST", "url": "<its type>"}`.
        if bundleType == "transaction", case .object(let members) = request, members.count == 2,
            members["method"]?.stringValue == "POST", let url = members["url"]?.stringValue,
            let resourceType, !url.isEmpty, url == resourceType
        {
            return ([], resourceType == "Patient" ? .create : nil)
        }
        let path = "Bundle.entry[\(index)].request"
        func issue(_ code: String, _ registryCode: String, _ element: String, _ text: String) -> OutcomeIssue {
            OutcomeIssue(
                code: code, registryCode: registryCode, expression: [element.isEmpty ? path : "\(path).\(element)"],
                diagnostics: "request\(element.isEmpty ? "" : "." + element): \(registryCode): \(text)")
        }
        guard bundleType == "transaction" else {
            return ([issue("structure", MappingCode.invalidRequest, "", "the entries of a collection Bundle have no request (R4 bdl-3); send a transaction Bundle.")], nil)
        }
        guard case .object = request else {
            return ([issue("structure", MappingCode.invalidRequest, "", "must be an object with method and url.")], nil)
        }
        guard let method = request["method"]?.stringValue else {
            return ([issue("required", MappingCode.invalidRequest, "method", "POST or PUT is required.")], nil)
        }
        if refusedMethods.contains(method) {
            return (
                [issue("not-supported", MappingCode.unsupportedRequest, "method", "\(method) is not supported; a transaction entry may only POST (create) or PUT (create or replace) a resource of a case.")],
                nil
            )
        }
        guard method == "POST" || method == "PUT" else {
            return ([issue("value", MappingCode.invalidRequest, "method", "must be an HTTP verb of R4 (POST or PUT here).")], nil)
        }
        var issues: [OutcomeIssue] = []
        for element in conditionalElements where request[element] != nil {
            issues.append(
                issue("not-supported", MappingCode.unsupportedRequest, element, "conditional requests are not supported; the registry finds a case by its Patient identifier."))
        }
        guard let url = request["url"]?.stringValue, !url.isEmpty else {
            return (issues + [issue("required", MappingCode.invalidRequest, "url", "the url of the resource type is required.")], nil)
        }
        guard let resource, let resourceType = resource["resourceType"]?.stringValue else { return (issues, nil) }
        let typeEnd = url.utf8.firstIndex { $0 == 0x2F || $0 == 0x3F } ?? url.endIndex
        guard url[..<typeEnd] == resourceType else {
            return (issues + [issue("value", MappingCode.invalidRequest, "url", "must name the entry's resource type (\(resourceType)).")], nil)
        }
        let rest = url[typeEnd...]
        if method == "POST" {
            guard rest.isEmpty else {
                return (issues + [issue("value", MappingCode.invalidRequest, "url", "a POST names the resource type only (\(resourceType)), not an id or a search.")], nil)
            }
        } else if rest.hasPrefix("/") {
            let id = rest.dropFirst()
            guard !id.isEmpty, !id.contains("/") else {
                return (issues + [issue("value", MappingCode.invalidRequest, "url", "a PUT names \(resourceType)/<id> or a conditional \(resourceType)?search.")], nil)
            }
            if let resourceID = resource["id"]?.stringValue, resourceID != String(id) {
                return (issues + [issue("value", MappingCode.invalidRequest, "url", "the id of a PUT must be the resource's id.")], nil)
            }
        } else if rest.hasPrefix("?"), resourceType == "Patient" {
            guard Self.namesIdentifier(rest.dropFirst(), of: resource) else {
                return (issues + [issue("value", MappingCode.invalidRequest, "url", "a conditional PUT of a Patient is Patient?identifier=[system|]value with the Patient's identifier[0].")], nil)
            }
        } else if !rest.hasPrefix("?") {
            return (issues + [issue("value", MappingCode.invalidRequest, "url", "a PUT names \(resourceType)/<id> or a conditional \(resourceType)?search.")], nil)
        }
        return (issues, resourceType == "Patient" ? (method == "POST" ? .create : .createOrReplace) : nil)
    }

    /// `identifier=value` or `identifier=system|value` naming the Patient's first identifier.
    static func namesIdentifier(_ query: Substring, of patient: JSONValue) -> Bool {
        guard query.hasPrefix("identifier="), let identifier = patient["identifier"]?.arrayValue?.first,
            let value = identifier["value"]?.stringValue
        else { return false }
        let token = query.dropFirst("identifier=".count).removingPercentEncodingIfValid()
        if token == value { return true }
        if let system = identifier["system"]?.stringValue { return token == system + "|" + value }
        return token == "|" + value
    }
}

extension Substring {
    /// `%XX` escapes decoded (as a URL query carries them); the text unchanged if one is malformed.
    func removingPercentEncodingIfValid() -> String {
        guard contains("%") else { return String(self) }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == 0x25 else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return String(self) }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self) ?? String(self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
