extension Classification {
    /// International Staging System stages.
    public enum Stage: Int, Sendable, Hashable, CaseIterable, Codable, Comparable {
        case i = 1
        case ii = 2
        case iii = 3

        public static func < (lhs: Stage, rhs: Stage) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// ISS and R-ISS at myeloma diagnosis (DOMAIN.md section 5).
    ///
    /// A stage is given whenever the known inputs decide it, whatever the missing ones would be,
    /// and is nil otherwise (never a guess). See `iss(beta2MicroglobulinMgL:albuminGDl:)` and
    /// `riss(iss:fish:ldhElevated:)` for when that is.
    public struct Staging: Sendable, Hashable {
        public let iss: Stage?
        public let rISS: Stage?

        public init(iss: Stage?, rISS: Stage?) {
            self.iss = iss
            self.rISS = rISS
        }

        public init(staging: CaseRecord.Staging?) {
            let iss = Self.iss(beta2MicroglobulinMgL: staging?.beta2MicroglobulinMgL, albuminGDl: staging?.albuminGDl)
            self.init(iss: iss, rISS: Self.riss(iss: iss, fish: staging?.fish, ldhElevated: staging?.ldhElevated))
        }

        /// ISS (Greipp et al., J Clin Oncol 2005;23:3412-20): I if beta2-microglobulin < 3.5 mg/L and
        /// albumin >= 3.5 g/dL; III if beta2-microglobulin >= 5.5 mg/L; otherwise II.
        ///
        /// Partial inputs: beta2-microglobulin >= 5.5 is III and 3.5 to < 5.5 is II whatever the albumin;
        /// below 3.5 the albumin decides and is needed. No beta2-microglobulin: nil.
        public static func iss(beta2MicroglobulinMgL b2m: Double?, albuminGDl albumin: Double?) -> Stage? {
            guard let b2m else { return nil }
            if b2m >= 5.5 { return .iii }
            if b2m >= 3.5 { return .ii }
            guard let albumin else { return nil }
            return albumin >= 3.5 ? .i : .ii
        }

        /// R-ISS (Palumbo et al., J Clin Oncol 2015;33:2863-9): I = ISS I, no high-risk FISH
        /// (del(17p), t(4;14), t(14;16)) and normal LDH; III = ISS III and (high-risk FISH or high LDH);
        /// II = everything else.
        ///
        /// Partial inputs (a `fish` array that is absent means FISH unknown; an empty one means
        /// done and normal): ISS unknown -> nil; ISS II -> II whatever FISH and LDH; ISS I -> II as
        /// soon as high-risk FISH or high LDH is known, I when both are known normal, else nil;
        /// ISS III -> III as soon as high-risk FISH or high LDH is known, II when both are known
        /// normal, else nil.
        public static func riss(iss: Stage?, fish: [CaseRecord.FISHAbnormality]?, ldhElevated: Bool?) -> Stage? {
            guard let iss else { return nil }
            let highRiskFISH = fish.map { $0.contains(where: \.isRISSHighRisk) }
            let anyKnownRisk = highRiskFISH == true || ldhElevated == true
            let bothKnownNormal = highRiskFISH == false && ldhElevated == false
            switch iss {
            case .ii: return .ii
            case .i: return anyKnownRisk ? .ii : (bothKnownNormal ? .i : nil)
            case .iii: return anyKnownRisk ? .iii : (bothKnownNormal ? .ii : nil)
            }
        }
    }

    /// The CNS-MM risk score of Jurczyszyn et al. (Am J Hematol 2016;91:575-80), DOMAIN.md section 5:
    /// +1 for >= 1 prior line of therapy before the intracranial diagnosis, +1 for more than one
    /// FISH abnormality (any of the dictionary's abnormalities counts). Median OS 25 / 5.5 / 2 months
    /// with 0 / 1 / 2 factors. Computed for CNS cases only.
    public struct CNSRisk: Sendable, Hashable {
        public enum Factor: String, Sendable, Hashable, CaseIterable, Codable {
            case priorLines = "prior_lines>=1"
            case multipleFISHAbnormalities = "fish_abnormalities>1"
        }

        /// 0, 1 or 2; nil when `prior_lines` or the FISH array is missing (the score could differ).
        public let score: Int?
        /// The factors known to be present (listed even when the score is nil for want of the other input).
        public let factors: [Factor]

        public init(score: Int?, factors: [Factor]) {
            self.score = score
            self.factors = factors
        }

        public init(priorLines: Int?, fish: [CaseRecord.FISHAbnormality]?) {
            var factors: [Factor] = []
            if let priorLines, priorLines >= 1 { factors.append(.priorLines) }
            // Distinct abnormalities: the validator already drops repeats.
            if let fish, Set(fish).count > 1 { factors.append(.multipleFISHAbnormalities) }
            self.init(score: priorLines != nil && fish != nil ? factors.count : nil, factors: factors)
        }
    }
}
