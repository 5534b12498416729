import Classification
import JSON

/// The cases of one Bundle and what the mapping did not use.
public struct IngestedBundle: Sendable, Equatable {
    /// `transaction` or `collection`.
    public let type: String
    /// One per Patient, in entry order.
    public let cases: [MappedCase]
    /// Resources the mapping did not use, counted by resource type (sorted by type).
    public let ignored: [IgnoredCount]
    /// What the Patient entries' `request` asks (create, or create or replace); nil when none has one.
    public var writeRequest: WriteRequest? = nil

    public struct IgnoredCount: Sendable, Equatable {
        public let resourceType: String
        public let count: Int
    }
}

/// Reads R4 Bundles into section 9 cases (DOMAIN.md section 10). Pure: values in, values out.
public struct BundleReader: Sendable {
    public let terminology: Terminology

    public init(terminology: Terminology) { self.terminology = terminology }

    /// The members an R4 Bundle may have (http://hl7.org/fhir/R4/bundle.html); any other member
    /// (R5's `issues`, say) means the Bundle is not R4.
    static let bundleMembers: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "identifier", "type", "timestamp", "total", "link", "entry",
        "signature",
    ]

    /// Parses and maps a request body.
    public func read(_ body: [UInt8]) throws(IngestError) -> IngestedBundle {
        try read(try parse(body))
    }

    /// Parses a request body (not yet checked to be a Bundle).
    public func parse(_ body: [UInt8]) throws(IngestError) -> JSONValue {
        do {
            // A large Bundle's entries are parsed on two threads (the same value or error).
            return try JSONValue.parse(body, splittingArrayMember: "entry")
        } catch {
            throw .unreadable(OutcomeIssue(code: "structure", registryCode: "malformed_json", diagnostics: "The body is not JSON: \(error.description)"))
        }
    }

    /// Maps a parsed Bundle: one case per Patient, with every resource whose `subject` or `patient`
    /// references it. All or nothing: any problem throws, listing every problem found.
    public func read(_ bundle: JSONValue) throws(IngestError) -> IngestedBundle {
        let (type, entries) = try typeAndEntries(bundle)
        var mapping = Mapping(terminology: terminology, entries: entries)
        return try mapping.run(type: type)
    }

    /// Starts the mapping of a parsed Bundle Patient by Patient (`BundleStream`): reads the
    /// Patients, Medications and requests. Nil when that found a problem: `read(_:)` then lists
    /// every problem, as it always does.
    /// - Throws: what `read(_:)` throws for a body that is no R4 transaction or collection Bundle.
    public func stream(_ bundle: JSONValue) throws(IngestError) -> BundleStream? {
        let (type, entries) = try typeAndEntries(bundle)
        var mapping = Mapping(terminology: terminology, entries: entries)
        let (resources, writeRequest) = mapping.readPatients(type: type)
        guard mapping.issues.isEmpty else { return nil }
        return BundleStream(mapping: mapping, type: type, resources: resources, writeRequest: writeRequest)
    }

    /// The Bundle's type and entries, after the checks that make a body a Bundle this reader maps.
    private func typeAndEntries(_ bundle: JSONValue) throws(IngestError) -> (String, [JSONValue]) {
        guard case .object(let members) = bundle, members["resourceType"] == "Bundle" else {
            throw .unreadable(OutcomeIssue(code: "structure", registryCode: "not_a_bundle", diagnostics: "The body must be a FHIR R4 Bundle resource (resourceType Bundle)."))
        }
        if members.keys.contains(where: { !Self.bundleMembers.contains($0) }) {
            // The member's name is the client's text: not repeated (no echo), the R4 ones are listed.
            throw .unreadable(
                OutcomeIssue(
                    code: "not-supported", registryCode: "fhir_version", expression: ["Bundle"],
                    diagnostics: "The Bundle has a member that is not an element of an R4 Bundle (\(Self.bundleMembers.sorted().joined(separator: ", "))); this service reads FHIR R4 (4.0.1) only."))
        }
        guard let type = members["type"]?.stringValue, type == "transaction" || type == "collection" else {
            throw .unreadable(
                OutcomeIssue(
                    code: "not-supported", registryCode: "bundle_type", expression: ["Bundle.type"],
                    diagnostics: "Bundle.type must be transaction or collection."))
        }
        guard let entries = (members["entry"] ?? .array([])).arrayValue else {
            throw .unreadable(OutcomeIssue(code: "structure", registryCode: "not_a_bundle", expression: ["Bundle.entry"], diagnostics: "Bundle.entry must be an array."))
        }
        return (type, entries)
    }
}

/// A Bundle whose Patients are read, to be mapped one Patient at a time (`BundleReader.stream`).
public struct BundleStream: Sendable {
    fileprivate var mapping: Mapping
    fileprivate let type: String
    fileprivate let resources: Mapping.Resources
    /// What the Patient entries' `request` asks (create, or create or replace); nil when none has one.
    public let writeRequest: WriteRequest?

    /// Maps the cases in Patient order, handing each to `emit` as soon as it is built. The same
    /// cases as `BundleReader.read(_:)`, which is what the Bundle is when this returns it. Nil at
    /// the first problem found (then `BundleReader.read(_:)` lists them all) or when `emit`
    /// returned false.
    public consuming func mapCases(_ emit: (MappedCase) -> Bool) -> IngestedBundle? {
        mapping.stream(type: type, resources: resources, writeRequest: writeRequest, emit: emit)
    }
}

/// A FHIR date or dateTime read as the registry needs it: the `YYYY-MM-DD` part as written.
enum FHIRDate: Equatable {
    case full(String)
    case partial(year: Int)
    case invalid

    init(_ text: String) {
        let bytes = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.allSatisfy { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 } }
        switch bytes.count {
        case 4 where digits(0..<4): self = .partial(year: Int(text)!)
        case 7 where digits(0..<4) && bytes[4] == 0x2D && digits(5..<7): self = .partial(year: Int(text.prefix(4))!)
        case 10...:
            guard digits(0..<4), bytes[4] == 0x2D, digits(5..<7), bytes[7] == 0x2D, digits(8..<10), bytes.count == 10 || bytes[10] == 0x54
            else {
                self = .invalid
                return
            }
            self = .full(String(decoding: bytes[0..<10], as: UTF8.self))
        default: self = .invalid
        }
    }
}
