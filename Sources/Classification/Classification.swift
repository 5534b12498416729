import JSON

/// The registry's derived facts about one case (DOMAIN.md sections 3-6), with the evidence for each.
///
/// JSON form (`toJSON()`, also used by `encode(to:)`): snake_case keys, explicit `null`s:
/// ```
/// {"engine_version": "...",
///  "localization": {"category", "subtype", "certainty", "rules", "recommendations"},
///  "workup": {"complete", "missing", "optional_missing"},
///  "response": {"computed", "reported", "category", "group", "agreement", "basis", "flc_ratio_derived",
///               "not_evaluable" and "not_evaluable_reason" only when "computed" is null},
///  "staging": {"iss", "r_iss"},
///  "cns_risk": null | {"score", "factors"},
///  "therapy": {"class", "novel_agents", "radiotherapy", "asct", "intrathecal", "neurosurgery"},
///  "timing": {"phase", "interval_days", "interval_months"}}
/// ```
public struct Classification: Sendable, Hashable {
    /// The rules' version; see `ClassificationEngine.version`.
    public let engineVersion: String
    public let localization: Localization
    public let workup: Workup
    public let response: Response
    public let staging: Staging
    /// Only for CNS cases; nil otherwise.
    public let cnsRisk: CNSRisk?
    public let therapy: Therapy
    public let timing: Timing

    public init(
        engineVersion: String = ClassificationEngine.version, localization: Localization, workup: Workup,
        response: Response, staging: Staging, cnsRisk: CNSRisk?, therapy: Therapy,
        timing: Timing
    ) {
        self.engineVersion = engineVersion
        self.localization = localization
        self.workup = workup
        self.response = response
        self.staging = staging
        self.cnsRisk = cnsRisk
        self.therapy = therapy
        self.timing = timing
    }

    // MARK: Typed accessors the registry indexes on

    public var localizationCategory: Localization.Category { localization.category }
    public var responseGroup: CaseRecord.ResponseGroup? { response.group }
    public var therapyClass: Therapy.Class { therapy.therapyClass }
    public var iss: Stage? { staging.iss }
    public var cnsRiskScore: Int? { cnsRisk?.score }
}

/// The classification engine: pure, deterministic, no I/O and no clock.
public enum ClassificationEngine {
    /// Identifies the rule set. It changes whenever any rule, threshold, output key or value
    /// changes, so that stored classifications made by older rules can be found and recomputed.
    /// Format: `classification-YEAR.MONTH.N`.
    /// 2026.11.2: FLC ratio derived from the two FLC values when not given; marrow PD only without
    /// measurable M-protein and FLC (IMWG 2016); `not_evaluable` when no category can be computed.
    public static let version = "classification-2026.11.2"

    /// Classifies one validated case (DOMAIN.md sections 3-6).
    public static func classify(_ record: CaseRecord) -> Classification {
        let localization = Classification.Localization(intracranial: record.intracranial)
        return Classification(
            localization: localization,
            workup: Classification.Workup(workup: record.workup, csf: record.intracranial.csf),
            response: Classification.Response(response: record.response, lightChain: record.isotype?.lightChain),
            staging: Classification.Staging(staging: record.staging),
            cnsRisk: localization.category == .cns
                ? Classification.CNSRisk(priorLines: record.intracranial.priorLines, fish: record.staging?.fish) : nil,
            therapy: Classification.Therapy(therapy: record.therapy),
            timing: Classification.Timing(
                mmDiagnosis: record.mmDiagnosisDate, intracranialDiagnosis: record.intracranial.diagnosisDate))
    }
}

/// Classifies one validated case; the same as `ClassificationEngine.classify(_:)`.
public func classify(_ record: CaseRecord) -> Classification {
    ClassificationEngine.classify(record)
}

// MARK: JSON

extension Classification: Encodable {
    /// Encodes `toJSON()`: snake_case keys and explicit nulls.
    public func encode(to encoder: any Encoder) throws {
        try toJSON().encode(to: encoder)
    }

    public func toJSON() -> JSONValue {
        .object([
            "engine_version": .string(engineVersion),
            "localization": localization.toJSON(),
            "workup": workup.toJSON(),
            "response": response.toJSON(),
            "staging": staging.toJSON(),
            "cns_risk": cnsRisk?.toJSON() ?? .null,
            "therapy": therapy.toJSON(),
            "timing": timing.toJSON(),
        ])
    }
}

extension Optional where Wrapped: RawRepresentable, Wrapped.RawValue == String {
    fileprivate var json: JSONValue { map { .string($0.rawValue) } ?? .null }
}

extension Classification.Localization {
    /// Recommendations are rendered as their sentences.
    public func toJSON() -> JSONValue {
        .object([
            "category": .string(category.rawValue),
            "subtype": subtype.json,
            "certainty": certainty.json,
            "rules": .array(rules.map { .string($0.rawValue) }),
            "recommendations": .array(recommendations.map { .string($0.sentence) }),
        ])
    }
}

extension Classification.Workup {
    public func toJSON() -> JSONValue {
        .object([
            "complete": .bool(complete),
            "missing": .array(missing.map { .string($0.rawValue) }),
            "optional_missing": .array(optionalMissing.map { .string($0.rawValue) }),
        ])
    }
}

extension Classification.Response {
    /// `not_evaluable` and `not_evaluable_reason` are present only when `computed` is null.
    public func toJSON() -> JSONValue {
        var members: JSONObject = [
            "computed": computed.json,
            "reported": reported.json,
            "category": category.json,
            "group": group.json,
            "agreement": agreement.map { .bool($0) } ?? .null,
            "basis": .array(basis.map { .string($0) }),
            "flc_ratio_derived": .array(derivedFLCRatios.map { $0.toJSON() }),
        ]
        if let notEvaluable {
            members["not_evaluable"] = .string(notEvaluable.code.rawValue)
            members["not_evaluable_reason"] = .string(notEvaluable.reason)
        }
        return .object(members)
    }
}

extension Classification.DerivedFLCRatio {
    public func toJSON() -> JSONValue {
        .object([
            "assessment": .string(assessment.rawValue),
            "light_chain": lightChain.json,
            "formula": .string(formula.rawValue),
            "ratio": ratio.map { .number($0) } ?? .null,
            "result": .string(status.rawValue),
        ])
    }
}

extension Classification.Staging {
    public func toJSON() -> JSONValue {
        .object([
            "iss": iss.map { .number(Double($0.rawValue)) } ?? .null,
            "r_iss": rISS.map { .number(Double($0.rawValue)) } ?? .null,
        ])
    }
}

extension Classification.CNSRisk {
    public func toJSON() -> JSONValue {
        .object([
            "score": score.map { .number(Double($0)) } ?? .null,
            "factors": .array(factors.map { .string($0.rawValue) }),
        ])
    }
}

extension Classification.Therapy {
    public func toJSON() -> JSONValue {
        func flag(_ value: Bool?) -> JSONValue { value.map { .bool($0) } ?? .null }
        return .object([
            "class": .string(therapyClass.rawValue),
            "novel_agents": .array(novelAgents.map { .string($0.rawValue) }),
            "radiotherapy": flag(radiotherapy),
            "asct": flag(asct),
            "intrathecal": flag(intrathecal),
            "neurosurgery": flag(neurosurgery),
        ])
    }
}

extension Classification.Timing {
    public func toJSON() -> JSONValue {
        .object([
            "phase": .string(phase.rawValue),
            "interval_days": .number(Double(intervalDays)),
            "interval_months": .number(intervalMonths),
        ])
    }
}
