import Classification
import FHIR
import Foundation
import JSON
import Testing

/// The repository root, found from this file's path (the tests read the committed table and fixtures).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    .standardizedFileURL.path

/// The committed terminology table, as the server reads it.
let terminology: Terminology = {
    do {
        return try Terminology(tsv: String(contentsOfFile: repositoryRoot + "/fhir-terminology.tsv", encoding: .utf8))
    } catch {
        fatalError("the committed terminology table does not load: \(error)")
    }
}()

let reader = BundleReader(terminology: terminology)
let writer = BundleWriter(terminology: terminology)

/// A hand-written fixture Bundle of Tests/FHIRTests/Fixtures.
func fixture(_ name: String) throws -> JSONValue {
    try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/Tests/FHIRTests/Fixtures/\(name)")))
}

/// Maps a Bundle that must map; records the issues and throws otherwise.
func mapped(_ bundle: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) throws -> IngestedBundle {
    do {
        return try reader.read(bundle)
    } catch {
        Issue.record("expected the Bundle to map, got: \(error.issues)", sourceLocation: sourceLocation)
        throw error
    }
}

/// The issues of a Bundle that must not map (a test failure when it maps).
func mappingIssues(_ bundle: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) -> IngestError? {
    do {
        _ = try reader.read(bundle)
        Issue.record("expected the Bundle to be refused", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// The validated, canonical case (section 9) of a mapped case.
func validated(_ mapped: MappedCase, sourceLocation: SourceLocation = #_sourceLocation) throws -> CaseRecord {
    switch CaseRecord.validate(mapped.json, today: today) {
    case .success(let record): return record
    case .failure(let failure):
        Issue.record("expected a valid case, got \(mapped.issues(for: failure.errors))", sourceLocation: sourceLocation)
        throw failure
    }
}

extension JSONValue {
    /// Follows object keys and array indexes (`entry.3.resource`).
    func at(_ path: String) -> JSONValue? {
        var current: JSONValue? = self
        for key in path.split(separator: ".") {
            if let index = Int(key) {
                guard let items = current?.arrayValue, items.indices.contains(index) else { return nil }
                current = items[index]
            } else {
                current = current?[String(key)]
            }
        }
        return current
    }

    /// A copy with the member at a dotted path (keys and indexes) replaced, or removed when nil.
    func replacing(_ path: String, with value: JSONValue?) -> JSONValue {
        let keys = path.split(separator: ".").map(String.init)
        return replacing(keys[...], with: value)
    }

    private func replacing(_ keys: ArraySlice<String>, with value: JSONValue?) -> JSONValue {
        guard let key = keys.first else { return value ?? .null }
        if let index = Int(key), var items = arrayValue {
            if keys.count == 1, value == nil {
                items.remove(at: index)
            } else {
                items[index] = items[index].replacing(keys.dropFirst(), with: value)
            }
            return .array(items)
        }
        var members = objectValue ?? [:]
        if keys.count == 1 {
            members[key] = value
        } else {
            members[key] = (members[key] ?? .object([:])).replacing(keys.dropFirst(), with: value)
        }
        return .object(members)
    }
}
