/// The element of a Bundle a case field came from, kept as numbers and written as a FHIRPath
/// (`Bundle.entry[3].resource.valueQuantity`) only when an error names it: most Bundles have no
/// error, and a string per field of every case cost more than the field itself.
struct ElementPath: Equatable, Sendable {
    /// The elements the mapping reads a field from (after `Bundle.entry[i].resource`).
    enum Element: UInt8, Sendable {
        case identifierValue, gender, birthDate, deceasedDateTime
        case onsetDateTime, recordedDate, effectiveDateTime, status
        case valueQuantity, valueBoolean, valueInteger, valueDateTime, valueCodeableConcept
        /// `.valueCodeableConcept.coding[first]`
        case valueCoding
        /// `.interpretation[first].coding[second]`
        case interpretationCoding
        /// `.dataAbsentReason.coding[first]`
        case dataAbsentReasonCoding
        case medicationCodeableConcept, medicationReference
    }

    let entry: Int
    let element: Element
    let first: Int
    let second: Int

    init(entry: Int, _ element: Element, _ first: Int = 0, _ second: Int = 0) {
        self.entry = entry
        self.element = element
        self.first = first
        self.second = second
    }

    /// The FHIRPath of the element.
    var expression: String {
        let base = Mapping.resourcePath(entry)
        switch element {
        case .identifierValue: return base + ".identifier[0].value"
        case .gender: return base + ".gender"
        case .birthDate: return base + ".birthDate"
        case .deceasedDateTime: return base + ".deceasedDateTime"
        case .onsetDateTime: return base + ".onsetDateTime"
        case .recordedDate: return base + ".recordedDate"
        case .effectiveDateTime: return base + ".effectiveDateTime"
        case .status: return base + ".status"
        case .valueQuantity: return base + ".valueQuantity"
        case .valueBoolean: return base + ".valueBoolean"
        case .valueInteger: return base + ".valueInteger"
        case .valueDateTime: return base + ".valueDateTime"
        case .valueCodeableConcept: return base + ".valueCodeableConcept"
        case .valueCoding: return base + ".valueCodeableConcept.coding[\(first)]"
        case .interpretationCoding: return base + ".interpretation[\(first)].coding[\(second)]"
        case .dataAbsentReasonCoding: return base + ".dataAbsentReason.coding[\(first)]"
        case .medicationCodeableConcept: return base + ".medicationCodeableConcept"
        case .medicationReference: return base + ".medicationReference"
        }
    }
}
