import FHIR
import Testing

@Suite struct TerminologyTests {
    @Test func theCommittedTableHoldsSection10sCodes() {
        #expect(terminology.codeRule(system: "http://snomed.info/sct", code: "109989006")?.field == "mm_diagnosis_date")
        #expect(terminology.codeRule(system: "http://hl7.org/fhir/sid/icd-10-cm", code: "C90.02")?.field == "mm_diagnosis_date")
        #expect(terminology.codeRule(system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "1721947")?.value == "daratumumab")
        #expect(terminology.unitFactor(code: "g/L", field: "staging.albumin_g_dl") == 0.1)
        #expect(terminology.unitFactor(code: "mg/dL", field: "staging.albumin_g_dl") == nil)
        #expect(terminology.units(for: "staging.beta2_microglobulin_mg_l") == ["mg/L"])
        // Every rule cites a source.
        #expect(terminology.rules.allSatisfy { !$0.source.isEmpty })
    }

    @Test func aMalformedTableIsRefusedWithItsLine() {
        let header = "kind\tsystem\tcode\tfield\tvalue\tdisplay\tsource\n"
        func error(_ text: String) -> Terminology.ParseError? {
            do {
                _ = try Terminology(tsv: text)
                return nil
            } catch {
                return error
            }
        }
        #expect(error("code\tx\ty\tsex\t\t\tsrc\n")?.line == 1)  // no header
        #expect(error(header + "code\tx\ty\tnot.a.field\t\t\tsrc\n")?.line == 2)
        #expect(error(header + "# comment\nunit\thttp://unitsofmeasure.org\tmg/dL\tstaging.albumin_g_dl\tzero\t\tsrc\n")?.line == 3)
        #expect(error(header + "code\tx\ty\tsex\t\t\t\n")?.line == 2)  // no source
        #expect(error(header + "code\tx\ty\n")?.line == 2)
        #expect(error(header) == nil)
    }
}
