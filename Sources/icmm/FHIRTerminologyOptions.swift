import ArgumentParser
import FHIR
import Foundation

/// Where the FHIR terminology table is: `--fhir-terminology`, `$ICMM_FHIR_TERMINOLOGY`, else found
/// like openapi.yaml (working directory, the working copy the binary was built in, `/app`).
struct FHIRTerminologyOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The FHIR terminology table (TSV) read by POST /v1/fhir and the FHIR export; add local codes there. Default: $ICMM_FHIR_TERMINOLOGY, else fhir-terminology.tsv found like the migrations.",
            valueName: "file"))
    var fhirTerminology: String?

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    func load() throws -> Terminology {
        let path = Resources.locate("fhir-terminology.tsv", explicit: fhirTerminology, environment: "ICMM_FHIR_TERMINOLOGY")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LoadError(description: "cannot read the FHIR terminology table at \(path) (use --fhir-terminology).")
        }
        do {
            return try Terminology(tsv: text)
        } catch {
            throw LoadError(description: "the FHIR terminology table \(path) is invalid: \(error)")
        }
    }
}
