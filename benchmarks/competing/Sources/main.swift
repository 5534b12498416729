// Benchmark driver: the competing-risks engine on the benchmark CSV (time,status,group,x1,x2,f),
// as benchmarks/competing/cmprsk_timing.R runs cmprsk. Prints the seconds of each step (the CSV
// read is not timed) and the same checksums as the R script.
// Usage: CompetingBench DATA.csv
import Foundation
import Survival

let path = CommandLine.arguments.dropFirst().first ?? ""
guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
    FileHandle.standardError.write(Data("usage: CompetingBench DATA.csv\n".utf8))
    exit(2)
}
var time: [Double] = [], cause: [String] = [], group: [String] = []
var x1: [Double] = [], x2: [Double] = [], f: [String] = []
for line in text.split(separator: "\n").dropFirst() {
    let v = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"\r")) }
    time.append(Double(v[0])!)
    cause.append(v[1])
    group.append(v[2])
    x1.append(Double(v[3])!)
    x2.append(Double(v[4])!)
    f.append(v[5])
}
let clock = ContinuousClock()
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
let options = CompetingRisksOptions(times: [365, 730])

do {
    // One untimed run (page faults of the first allocations), then the median of timed runs:
    // 5 for cumulative incidence + Gray (as the R script), 3 with the Fine-Gray models.
    var data = CompetingRisksData(time: time, cause: cause, group: group)
    var report = try CompetingRisks.analyze(data, options: options)
    var runs: [Double] = []
    for _ in 0..<5 { runs.append(seconds(try clock.measure { report = try CompetingRisks.analyze(data, options: options) })) }
    let incidence = median(runs)
    let gray = report.grayTest!.map { String(format: "%.8g", $0.statistic ?? .nan) }.joined(separator: " ")
    print(String(format: "icmm cuminc+gray: %.6f s  (gray stats %@)", incidence, gray))
    data.covariates = [.numeric("x1", x1), .numeric("x2", x2), .categorical("f", f)]
    runs = []
    for _ in 0..<3 { runs.append(seconds(try clock.measure { report = try CompetingRisks.analyze(data, options: options) })) }
    let all = median(runs)
    let coef = report.fineGray!.flatMap { $0.terms.map { String(format: "%.8g", $0.coef ?? .nan) } }.joined(separator: " ")
    print(String(format: "icmm crr (2 causes): %.6f s  (coef %@)", all - incidence, coef))
    print(String(format: "icmm total: %.6f s", all))
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
