import Foundation
import JSON
import Testing

/// `icmm analyze --strata --ph-test` on the cohort data set R read back (Fixtures/cohort/dataset.csv)
/// against R's coxph(... + strata(localization)) and cox.zph(transform = "km") in expected.json.
@Suite struct CLIAnalyzeCoxTests {
    @Test func strataAndPHTestMatchR() throws {
        let directory = repositoryRoot + "/Tests/APITests/Fixtures/cohort"
        let (status, output, errors) = try runICMM([
            "analyze", "--csv", directory + "/dataset.csv", "--time", "time_months", "--event", "status",
            "--cox", "age_at_ic_diagnosis", "--cox-factor", "sex", "--strata", "localization", "--ph-test",
        ])
        try #require(status == 0, "\(errors)")
        let cox = try #require(try JSONValue.parse(output)["cox"])
        let fixture = try #require(
            CohortFixtureTests.fixture("cox", "cox_os_sex_age_strata_localization_ph")?["expected"]?["cox"])
        #expect(cox["strata"] == "localization")
        #expect(cox["n"] == fixture["n"] && cox["events"] == fixture["events"])
        func close(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
            guard let a = a?.numberValue, let b = b?.numberValue else { return false }
            return abs(a - b) <= 1e-6 * max(1, abs(b))
        }
        // Numeric covariates come first on the command line's terms; compare by name.
        for expected in fixture["terms"]?.arrayValue ?? [] {
            let term = cox["terms"]?.arrayValue?.first { $0["term"] == expected["term"] }
            for key in ["coef", "std_err", "p_value", "lower", "upper"] {
                #expect(close(term?[key], expected[key]), "\(String(describing: expected["term"])) \(key)")
            }
        }
        let namesInCLI = ["sex": "sex", "age_at_ic_diagnosis": "age_at_ic_diagnosis"]
        for expected in fixture["ph_test"]?["terms"]?.arrayValue ?? [] {
            let name = try #require(expected["covariate"]?.stringValue)
            let row = cox["ph_test"]?["terms"]?.arrayValue?.first { $0["covariate"]?.stringValue == namesInCLI[name] }
            #expect(close(row?["chisq"], expected["chisq"]) && close(row?["p_value"], expected["p_value"]), "\(name)")
            #expect(row?["df"] == expected["df"])
        }
        #expect(close(cox["ph_test"]?["global"]?["chisq"], fixture["ph_test"]?["global"]?["chisq"]))
    }

    @Test func strataNeedACoxModelAndCannotBeACovariate() throws {
        let csv = repositoryRoot + "/Tests/APITests/Fixtures/cohort/dataset.csv"
        let base = ["analyze", "--csv", csv, "--time", "time_months", "--event", "status"]
        let (noModel, _, e1) = try runICMM(base + ["--strata", "localization"])
        #expect(noModel != 0 && e1.contains("--strata"))
        let (twice, _, e2) = try runICMM(base + ["--cox-factor", "sex", "--strata", "sex"])
        #expect(twice != 0 && e2.contains("'sex'"))
        let (oneLevel, out, e3) = try runICMM(base + ["--cox-factor", "sex", "--strata", "therapy_class"])
        #expect(oneLevel != 0 && out.isEmpty && e3.contains("therapy_class"))
    }
}
