import Classification
import FHIR
import JSON
import Testing

/// Bundles that must be refused: each problem is one issue with the right code, the FHIRPath of
/// the element and diagnostics that name the case field and the stable code, never a value.
@Suite struct UnhappyPathTests {
    func only(_ error: IngestError?, sourceLocation: SourceLocation = #_sourceLocation) -> OutcomeIssue? {
        guard case .invalid(let issues)? = error else {
            Issue.record("expected a 422 kind of refusal, got \(String(describing: error))", sourceLocation: sourceLocation)
            return nil
        }
        #expect(issues.count == 1, "\(issues)", sourceLocation: sourceLocation)
        return issues.first
    }

    @Test func aMissingMyelomaConditionIsARequiredFieldOnThePatient() throws {
        let bundle = try fixture("od-case.json").replacing("entry.1", with: nil)
        let mapped = try mapped(bundle).cases[0]
        guard case .failure(let failure) = CaseRecord.validate(mapped.json, today: today) else {
            Issue.record("the case without a myeloma diagnosis was accepted")
            return
        }
        let issues = mapped.issues(for: failure.errors)
        #expect(issues.map(\.code) == ["required"])
        #expect(issues.map(\.registryCode) == ["required"])
        #expect(issues[0].expression == ["Bundle.entry[0].resource"])
        #expect(issues[0].diagnostics.hasPrefix("mm_diagnosis_date: required:"))
        #expect(issues[0].diagnostics.contains("109989006"))
    }

    @Test func aPartialDateIsRefusedWhereTheCaseNeedsADay() throws {
        let bundle = try fixture("od-case.json").replacing("entry.1.resource.onsetDateTime", with: "2020-09")
        let issue = only(mappingIssues(bundle))
        #expect(issue?.code == "value")
        #expect(issue?.registryCode == "partial_date")
        #expect(issue?.expression == ["Bundle.entry[1].resource.onsetDateTime"])
        #expect(issue?.diagnostics.hasPrefix("mm_diagnosis_date: partial_date:") == true)
        // A partial birthDate is fine: only its year is kept.
        #expect(try mapped(try fixture("cns-case.json")).cases[0].json["birth_year"] == 1949)
    }

    @Test func anUnknownUnitIsRefusedNotConverted() throws {
        let bundle = try fixture("od-case.json").replacing(
            "entry.8.resource.valueQuantity", with: ["value": 380, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"])
        let issue = only(mappingIssues(bundle))
        #expect(issue?.code == "not-supported")
        #expect(issue?.registryCode == "unsupported_unit")
        #expect(issue?.expression == ["Bundle.entry[8].resource.valueQuantity"])
        #expect(issue?.diagnostics.hasPrefix("staging.albumin_g_dl: unsupported_unit:") == true)
        #expect(issue?.diagnostics.contains("g/dL or g/L") == true)
        // A unit without the UCUM system is refused too.
        let noSystem = try fixture("od-case.json").replacing("entry.9.resource.valueQuantity.system", with: nil)
        #expect(only(mappingIssues(noSystem))?.expression == ["Bundle.entry[9].resource.valueQuantity"])
    }

    @Test func aReferenceToAPatientNotInTheBundle() throws {
        let bundle = try fixture("od-case.json").replacing(
            "entry.9.resource.subject", with: ["reference": "urn:uuid:5c1e2f4a-0d1b-4f6e-9a51-000000000999"])
        let issue = only(mappingIssues(bundle))
        #expect(issue?.code == "not-found")
        #expect(issue?.registryCode == "unresolved_reference")
        #expect(issue?.expression == ["Bundle.entry[9].resource.subject"])
        let relative = try fixture("cns-case.json").replacing("entry.3.resource.subject", with: ["reference": "Patient/other"])
        #expect(only(mappingIssues(relative))?.expression == ["Bundle.entry[3].resource.subject"])
    }

    @Test func twoPatientsWithTheSameIdentifier() throws {
        let od = try fixture("od-case.json")
        var second = od.at("entry.0")!.replacing("fullUrl", with: "urn:uuid:5c1e2f4a-0d1b-4f6e-9a51-000000000777")
        second = second.replacing("resource.gender", with: "male")
        let bundle = od.replacing("entry", with: .array(od["entry"]!.arrayValue! + [second]))
        let issue = only(mappingIssues(bundle))
        #expect(issue?.code == "duplicate")
        #expect(issue?.registryCode == "duplicate_patient")
        #expect(issue?.expression == ["Bundle.entry[21].resource.identifier[0].value", "Bundle.entry[0].resource.identifier[0].value"])
    }

    @Test func deceasedBooleanWithoutADate() throws {
        let bundle = try fixture("cns-case.json").replacing("entry.0.resource.deceasedDateTime", with: nil)
            .replacing("entry.0.resource.deceasedBoolean", with: true)
        let issue = only(mappingIssues(bundle))
        #expect(issue?.code == "required")
        #expect(issue?.registryCode == "death_date_missing")
        #expect(issue?.expression == ["Bundle.entry[0].resource.deceasedBoolean"])
        #expect(issue?.diagnostics.hasPrefix("outcome.death_date:") == true)
        // deceasedBoolean false says nothing about a death date.
        let alive = try fixture("cns-case.json").replacing("entry.0.resource.deceasedDateTime", with: nil)
            .replacing("entry.0.resource.deceasedBoolean", with: false)
        #expect(try mapped(alive).cases[0].json.at("outcome.death_date") == nil)
    }

    @Test func everyProblemIsListedNotOnlyTheFirst() throws {
        let bundle = try fixture("od-case.json")
            .replacing("entry.1.resource.onsetDateTime", with: "2020")
            .replacing("entry.9.resource.valueQuantity.code", with: "ug/mL")
        guard case .invalid(let issues)? = mappingIssues(bundle) else { return }
        #expect(issues.map(\.registryCode) == ["partial_date", "unsupported_unit"])
    }

    @Test func validatorErrorsNameTheElementTheFieldCameFrom() throws {
        let bundle = try fixture("od-case.json").replacing("entry.8.resource.valueQuantity.value", with: 9.5)
        let mapped = try mapped(bundle).cases[0]
        guard case .failure(let failure) = CaseRecord.validate(mapped.json, today: today) else {
            Issue.record("an albumin of 9.5 g/dL was accepted")
            return
        }
        let issues = mapped.issues(for: failure.errors)
        #expect(issues.map(\.code) == ["value"])
        #expect(issues[0].expression == ["Bundle.entry[8].resource.valueQuantity"])
        #expect(issues[0].diagnostics.hasPrefix("staging.albumin_g_dl: out_of_range:"))
    }

    @Test func diagnosticsNeverQuotePatientValues() throws {
        let bundle = try fixture("od-case.json")
            .replacing("entry.0.resource.birthDate", with: "19x8")
            .replacing("entry.1.resource.onsetDateTime", with: "2020-09")
            .replacing("entry.8.resource.valueQuantity.code", with: "mmol/L")
        guard case .invalid(let issues)? = mappingIssues(bundle) else { return }
        #expect(issues.count == 3)
        for issue in issues {
            for secret in ["OD-1", "19x8", "2020-09", "3.8", "mmol/L", "1958"] {
                #expect(!issue.diagnostics.contains(secret), "\(issue.diagnostics) quotes a value")
            }
        }
    }

    @Test func notJSONNotABundleOrNotR4IsUnreadable() throws {
        func unreadable(_ body: [UInt8]) -> OutcomeIssue? {
            do {
                _ = try reader.read(body)
            } catch {
                if case .unreadable(let issue) = error { return issue }
            }
            Issue.record("expected a 400 kind of refusal")
            return nil
        }
        #expect(unreadable(Array("{\"resourceType\": ".utf8))?.registryCode == "malformed_json")
        #expect(unreadable(Array(#"{"resourceType":"Patient"}"#.utf8))?.registryCode == "not_a_bundle")
        // R5 added Bundle.issues: such a Bundle is not R4.
        let r5 = unreadable(Array(#"{"resourceType":"Bundle","type":"collection","issues":{}}"#.utf8))
        #expect(r5?.registryCode == "fhir_version")
        #expect(r5?.expression == ["Bundle"])
        #expect(unreadable(Array(#"{"resourceType":"Bundle","type":"batch","entry":[]}"#.utf8))?.registryCode == "bundle_type")
        // A Bundle without a Patient has no case: 422.
        guard case .invalid(let issues)? = mappingIssues(["resourceType": "Bundle", "type": "collection", "entry": []]) else { return }
        #expect(issues.map(\.code) == ["required"])
    }

    /// Issue #12, no echo: a member name or resource type the client chose is not repeated in an
    /// OperationOutcome (expression or diagnostics), however long; R4 names are.
    @Test func clientChosenNamesAreNotEchoed() throws {
        let name = "x" + String(repeating: "Q", count: 5000) + "\u{1}"
        do {
            _ = try reader.read(.object(["resourceType": "Bundle", "type": "collection", name: .object([:])]))
            Issue.record("an unknown Bundle member must be refused")
        } catch {
            let text = error.issues.map(\.description).joined()
            #expect(!text.contains("QQQQ"), "\(text.prefix(200))")
            #expect(text.utf8.count < 1000)
            #expect(text.contains("signature"), "the R4 members are listed")
        }
        // A resource of an unknown type referencing no Patient of the Bundle, one of a made-up type
        // that is ignored, and an R4 type that is ignored: only the R4 name comes back.
        let od = try fixture("od-case.json")
        let made: JSONValue = ["resourceType": .string(name), "subject": ["reference": "Patient/nobody"]]
        let unresolved = od.replacing("entry", with: .array(od["entry"]!.arrayValue! + [["resource": made]]))
        guard case .invalid(let issues)? = mappingIssues(unresolved) else {
            Issue.record("an unresolved reference must be refused")
            return
        }
        #expect(issues.map(\.registryCode) == ["unresolved_reference"])
        #expect(issues.allSatisfy { !$0.description.contains("QQQQ") }, "\(issues)")
        let ignoredType: JSONValue = ["resourceType": .string(name)]
        let ignoring = od.replacing("entry", with: .array(od["entry"]!.arrayValue! + [["resource": ignoredType]]))
        let bundle = try reader.read(ignoring)
        #expect(bundle.ignored.map { "\($0.resourceType) \($0.count)" } == ["(not an R4 resource type) 1", "Encounter 1", "Practitioner 1"])
    }

    @Test func aMappedResourceWithoutSubjectIsAnError() throws {
        let bundle = try fixture("od-case.json").replacing("entry.9.resource.subject", with: nil)
        #expect(only(mappingIssues(bundle))?.expression == ["Bundle.entry[9].resource.subject"])
    }

    @Test func conflictingValuesForOneFieldAreNamedBoth() throws {
        let od = try fixture("od-case.json")
        let again = od.at("entry.8")!.replacing("resource.valueQuantity.value", with: 4.1)
        let bundle = od.replacing("entry", with: .array(od["entry"]!.arrayValue! + [again]))
        let issue = only(mappingIssues(bundle))
        #expect(issue?.registryCode == "conflicting_values")
        #expect(issue?.expression == ["Bundle.entry[8].resource.valueQuantity", "Bundle.entry[21].resource.valueQuantity"])
    }
}
