import ArgumentParser
import Cohorts
import Foundation
import Survival

extension ConfidenceType: ExpressibleByArgument {}

/// `icmm analyze`: the survival engine on a CSV file, for statisticians who want to check it
/// against their own tools. Reads the file, hands the text to `SurvivalCSV.read` and the
/// subjects to `SurvivalAnalysis.analyze`, prints the report as JSON.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Kaplan-Meier curves, log-rank tests and a Cox model (or with --competing: cumulative incidence, Gray's test and Fine-Gray models) for a CSV file, as one JSON document.",
        discussion: """
            The file needs a header line; values are separated by commas and may be quoted. \
            Times are used as given (no unit conversion). The event column holds 1/0 or \
            true/false. A row with an empty or NA value in any column the analysis uses is left \
            out and counted in "dropped_rows".

            The report follows R's survival package (3.5): Kaplan-Meier with Greenwood standard \
            errors at every distinct time, medians and quantiles as quantile.survfit (null when not \
            reached), survival at landmark times as summary(fit, times=), RMST as \
            print(fit, rmean=tau), log-rank and Peto-Peto tests as survdiff(rho=0/1), pairwise \
            log-rank with Holm adjustment for more than two groups, median follow-up by reverse \
            Kaplan-Meier, and a Cox model with Efron ties. With --entry (delayed entry, \
            Surv(entry, time, event) in R) the group tests are left out, as survdiff has no \
            delayed-entry form; the Cox model uses the counting-process form.

            Groups are ordered by their key (code point order); without --group there is a \
            single group "all". Categorical Cox covariates are dummy coded against their first \
            level in the same order, with terms named column + level (e.g. sexmale).

            Competing risks (--competing): the event column holds 0 for censored and any other \
            value names a cause, kept as text ("1", "2", "death"). The output is then a different \
            document: {"competing_risks": {...}, "conf_level", "dropped_rows"}, with per group and \
            cause the cumulative incidence (Aalen-Johansen, variance and curve as \
            cmprsk::cuminc, limits by the log(-log) transform) at the --times \
            (cmprsk::timepoints), Gray's test per cause with two or more groups, and with \
            --fine-gray/--fine-gray-factor one Fine-Gray model per cause (cmprsk::crr). There \
            is no Kaplan-Meier or Cox part: 1 - Kaplan-Meier with the other causes censored \
            overstates the incidence, so the options that only shape that part (--entry, \
            --conf-type, --tau, --quantiles, --cox, --cox-factor, --strata, --ph-test) are \
            refused. A cause without events (declared with --causes, or absent from a group) is \
            reported with zero events; a Fine-Gray model \
            that does not converge, or a covariate with a single value, is an error naming it.

            Examples:
              icmm analyze --csv lung.csv --time time --event status --group sex
              icmm analyze --csv lung.csv --time time --event status --group sex \\
                  --conf-type log-log --times 182.6,365.25 --tau 730 --cox age --cox-factor sex
              icmm analyze --csv mgus2.csv --time time --event event --group sex --competing \
                  --times 12,60,120 --fine-gray age --fine-gray-factor sex
            """)

    @Option(help: ArgumentHelp("CSV file to analyse.", valueName: "file"))
    var csv: String

    @Option(help: ArgumentHelp("Column with the follow-up time (>= 0).", valueName: "column"))
    var time: String

    @Option(help: ArgumentHelp("Column with the event indicator: 1/0 or true/false (with --competing: 0 or the cause).", valueName: "column"))
    var event: String

    @Option(help: ArgumentHelp("Column with the delayed-entry time (< exit time), for left truncation.", valueName: "column"))
    var entry: String?

    @Option(help: ArgumentHelp("Column whose values define the groups compared.", valueName: "column"))
    var group: String?

    /// Optional so that --competing can refuse it when given (its limits are always log(-log)).
    @Option(help: ArgumentHelp("Confidence interval transform: log (R's default), log-log or plain.", valueName: "type"))
    var confType: ConfidenceType?

    @Option(help: ArgumentHelp("Confidence level, strictly between 0 and 1.", valueName: "level"))
    var confLevel: Double = 0.95

    @Option(help: ArgumentHelp("Landmark times for survival estimates, comma separated (e.g. 12,24,60).", valueName: "times"))
    var times: String?

    @Option(help: ArgumentHelp("Horizon for the restricted mean survival time.", valueName: "tau"))
    var tau: Double?

    @Option(help: ArgumentHelp("Extra quantile probabilities, comma separated (e.g. 0.25,0.75).", valueName: "probs"))
    var quantiles: String?

    @Option(help: ArgumentHelp("Numeric Cox covariates, comma separated.", valueName: "columns"))
    var cox: String?

    @Option(help: ArgumentHelp("Categorical Cox covariates, comma separated.", valueName: "columns"))
    var coxFactor: String?

    @Option(help: ArgumentHelp("Stratify the Cox model by this column (R: + strata(column)): a baseline hazard per value.", valueName: "column"))
    var strata: String?

    @Flag(help: "Test the Cox model's proportional hazards (R: cox.zph(fit, transform = \"km\")).")
    var phTest = false

    @Flag(help: "Competing risks: cumulative incidence per group and cause, Gray's test, Fine-Gray models (cmprsk); the event column names the cause, 0 = censored.")
    var competing = false

    @Option(help: ArgumentHelp("Numeric Fine-Gray covariates (with --competing), comma separated.", valueName: "columns"))
    var fineGray: String?

    @Option(help: ArgumentHelp("Categorical Fine-Gray covariates (with --competing), comma separated.", valueName: "columns"))
    var fineGrayFactor: String?

    @Option(help: ArgumentHelp("Causes to report even when no row has them (with --competing; reported with zero events), comma separated.", valueName: "causes"))
    var causes: String?

    @Flag(help: "Indent the JSON output.")
    var pretty = false

    /// Benchmarks: per-stage seconds and peak memory of the engine, as JSON on stderr.
    @Flag(help: .hidden)
    var timings = false

    mutating func validate() throws {
        if !(confLevel > 0 && confLevel < 1) { throw ValidationError("--conf-level must be strictly between 0 and 1.") }
        if let tau, !(tau.isFinite && tau > 0) { throw ValidationError("--tau must be a number > 0.") }
        _ = try Self.numbers(times, option: "--times")
        _ = try Self.numbers(quantiles, option: "--quantiles")
        if competing {
            let refused: [(String, Bool)] = [
                ("--entry", entry != nil), ("--conf-type", confType != nil), ("--tau", tau != nil),
                ("--quantiles", quantiles != nil), ("--cox", cox != nil), ("--cox-factor", coxFactor != nil),
                ("--strata", strata != nil), ("--ph-test", phTest), ("--timings", timings),
            ]
            if let (option, _) = refused.first(where: { $0.1 }) {
                throw ValidationError("\(option) does not apply to --competing (no Kaplan-Meier or Cox part).")
            }
            if Self.names(causes).contains(CompetingRisks.censored) {
                throw ValidationError("--causes: '\(CompetingRisks.censored)' means censored, not a cause.")
            }
        } else if fineGray != nil || fineGrayFactor != nil || causes != nil {
            throw ValidationError("--fine-gray, --fine-gray-factor and --causes need --competing.")
        }
        if strata != nil || phTest, Self.names(cox).isEmpty && Self.names(coxFactor).isEmpty {
            throw ValidationError("--strata and --ph-test need a Cox model (--cox or --cox-factor).")
        }
        if let strata, (Self.names(cox) + Self.names(coxFactor)).contains(strata) {
            throw ValidationError("--strata '\(strata)' cannot also be a Cox covariate.")
        }
    }

    func run() throws {
        Self.configureAllocatorForOneRun()
        if competing { return try runCompeting() }
        let clock = ContinuousClock()
        let start = clock.now
        let input: CSVInput
        do {
            // The strata column is read as one more categorical column (rows missing it are dropped
            // like any other), then taken out of the covariates. The bytes are read as they are
            // (no String of the whole file), from a mapping of the file when it can be mapped.
            let columns = CSVColumns(
                time: time, event: event, entry: entry, group: group,
                numeric: Self.names(cox), categorical: Self.names(coxFactor) + (strata.map { [$0] } ?? []))
            var read: CSVInput
            if let mapped = MappedFile(path: csv) {
                read = try withExtendedLifetime(mapped) { () throws(SurvivalError) in
                    try SurvivalCSV.read(bytes: mapped.bytes, columns: columns, parallel: true)
                }
            } else {
                guard let bytes = FileManager.default.contents(atPath: csv) else {
                    throw AnalyzeError("cannot read '\(csv)'")
                }
                read = try bytes.withUnsafeBytes { (raw) throws(SurvivalError) in
                    try SurvivalCSV.read(bytes: raw.bindMemory(to: UInt8.self), columns: columns, parallel: true)
                }
            }
            if let strata, let index = read.data.covariates.firstIndex(where: { $0.name == strata }),
                case .categorical(let values) = read.data.covariates[index].values
            {
                read.data.covariates.remove(at: index)
                read.data.strata = Strata(name: strata, values: values)
            }
            input = read
        }
        let parsed = clock.now
        let options = AnalysisOptions(
            confType: confType ?? .log, confLevel: confLevel, landmarks: try Self.numbers(times, option: "--times"),
            tau: tau, quantiles: try Self.numbers(quantiles, option: "--quantiles"), phTest: phTest)

        var stageTimes: [(String, Duration)] = []
        var stagePeaks: [(String, Double)] = []
        var enginePeak = 0.0
        var current: (AnalysisStage, ContinuousClock.Instant)? = nil
        let baselineRSS = timings ? ProcessMemory.resetPeak() : nil
        let report = try SurvivalAnalysis.analyze(
            input.data, options: options, droppedRows: input.droppedRows,
            observer: timings
                ? { stage in
                    let now = clock.now
                    if let (previous, since) = current {
                        stageTimes.append((previous.rawValue, since.duration(to: now)))
                        // Peak RSS of the stage just finished, then restart the mark for the next.
                        let peak = ProcessMemory.peakMB() ?? 0
                        stagePeaks.append((previous.rawValue, peak))
                        enginePeak = max(enginePeak, peak)
                        _ = ProcessMemory.resetPeak()
                    }
                    current = stage.map { ($0, clock.now) }
                } : nil,
            parallel: true)
        let analysed = clock.now

        // Streamed to stdout in 1 MB chunks through the encoder the cohort endpoints use, the
        // curves' points encoded on two threads.
        var writer = JSONWriter(pretty: pretty) { chunk in Self.writeToStandardOutput(chunk) }
        writer.parallelCurves = true
        writer.write(report)
        writer.raw([UInt8(ascii: "\n")])
        writer.flush()

        if timings {
            func seconds(_ d: Duration) -> Double {
                Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            }
            var fields = ["\"parse_csv\": \(seconds(start.duration(to: parsed)))"]
            for (name, duration) in stageTimes { fields.append("\"\(name)\": \(seconds(duration))") }
            fields.append("\"engine_total\": \(seconds(parsed.duration(to: analysed)))")
            fields.append("\"encode_json\": \(seconds(analysed.duration(to: clock.now)))")
            if let baselineRSS { fields.append("\"rss_before_engine_mb\": \(baselineRSS)") }
            fields.append("\"engine_peak_rss_mb\": \(enginePeak)")
            for (name, peak) in stagePeaks { fields.append("\"peak_rss_mb_\(name)\": \(peak)") }
            FileHandle.standardError.write(Data(("{" + fields.joined(separator: ", ") + "}\n").utf8))
        }
    }

    /// `--competing`: `SurvivalCSV.readCompeting` -> `CompetingRisks.analyze` -> the cohort
    /// encoder's `competing_risks` object (the one `GET /v1/cohorts/incidence` uses).
    func runCompeting() throws {
        guard let bytes = FileManager.default.contents(atPath: csv) else { throw AnalyzeError("cannot read '\(csv)'") }
        let input = try SurvivalCSV.readCompeting(
            String(decoding: bytes, as: UTF8.self),
            columns: CSVColumns(
                time: time, event: event, group: group, numeric: Self.names(fineGray),
                categorical: Self.names(fineGrayFactor)))
        let report = try CompetingRisks.analyze(
            input.data,
            options: CompetingRisksOptions(times: try Self.numbers(times, option: "--times"), confLevel: confLevel,
                causes: Self.names(causes)))
        var writer = JSONWriter(pretty: pretty) { chunk in Self.writeToStandardOutput(chunk) }
        writer.beginObject()
        writer.key("competing_risks")
        writer.write(report)
        writer.member("conf_level", finite: confLevel)
        writer.member("dropped_rows", input.droppedRows)
        writer.endObject()
        writer.raw([UInt8(ascii: "\n")])
        writer.flush()
    }

    static func writeToStandardOutput(_ bytes: borrowing [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    static func names(_ list: String?) -> [String] {
        guard let list else { return [] }
        return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func numbers(_ list: String?, option: String) throws -> [Double] {
        try names(list).map {
            guard let v = Double($0), v.isFinite else { throw ValidationError("\(option): '\($0)' is not a number.") }
            return v
        }
    }
}

struct AnalyzeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Peak resident memory from /proc (Linux); nil elsewhere.
enum ProcessMemory {
    /// Resets the kernel's peak-RSS mark (`echo 5 > /proc/self/clear_refs`) and returns the current
    /// RSS in MB, so that a later `peakMB()` measures only what follows.
    static func resetPeak() -> Double? {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Data("5".utf8))
            try? handle.close()
        }
        return field("VmRSS")
    }

    static func peakMB() -> Double? { field("VmHWM") }

    private static func field(_ name: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first
            return kb.map { ($0 / 1024 * 10).rounded() / 10 }
        }
        return nil
    }
}
