#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The comparison of two groups' restricted mean survival times up to the same tau.
///
/// Source: the per-group RMST and its standard error are R's `print(survfit, rmean = tau)`
/// (`RestrictedMean`); the two are independent samples, so the difference has
/// se = sqrt(se_a^2 + se_b^2) (Royston & Parmar, BMC Med Res Methodol 2013;13:152), and the ratio
/// is compared on the log scale by the delta method, se(log ratio) = sqrt((se_a/a)^2 + (se_b/b)^2).
/// Limits are normal at the report's confidence level; p-values are two-sided.
/// A value that cannot be computed (a zero standard error, a zero RMST) is nil and encodes as null.
public struct RestrictedMeanDifference: Codable, Sendable, Equatable {
    /// The two group keys; `a` comes before `b` in key order.
    public var a: String
    public var b: String
    /// RMST(a) - RMST(b).
    public var difference: Double?
    public var stdErr: Double?
    public var lower: Double?
    public var upper: Double?
    public var pValue: Double?
    /// RMST(a) / RMST(b).
    public var ratio: Double?
    public var ratioLower: Double?
    public var ratioUpper: Double?
    public var ratioPValue: Double?

    enum CodingKeys: String, CodingKey {
        case a, b, difference, lower, upper, ratio
        case stdErr = "std_err"
        case pValue = "p_value"
        case ratioLower = "ratio_lower"
        case ratioUpper = "ratio_upper"
        case ratioPValue = "ratio_p_value"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(a, forKey: .a)
        try c.encode(b, forKey: .b)
        try c.encodeNullable(difference, forKey: .difference)
        try c.encodeNullable(stdErr, forKey: .stdErr)
        try c.encodeNullable(lower, forKey: .lower)
        try c.encodeNullable(upper, forKey: .upper)
        try c.encodeNullable(pValue, forKey: .pValue)
        try c.encodeNullable(ratio, forKey: .ratio)
        try c.encodeNullable(ratioLower, forKey: .ratioLower)
        try c.encodeNullable(ratioUpper, forKey: .ratioUpper)
        try c.encodeNullable(ratioPValue, forKey: .ratioPValue)
    }

    /// Compares two groups' RMSTs (which must share tau).
    ///
    /// - Parameters:
    ///   - confLevel: confidence level in (0, 1).
    public init(a: String, _ rmstA: RestrictedMean, b: String, _ rmstB: RestrictedMean, confLevel: Double) {
        self.a = a
        self.b = b
        let z = Distributions.normalQuantile(1 - (1 - confLevel) / 2)
        let d = rmstA.estimate - rmstB.estimate
        let se = (rmstA.stdErr * rmstA.stdErr + rmstB.stdErr * rmstB.stdErr).squareRoot()
        difference = finite(d)
        stdErr = finite(se)
        lower = finite(d - z * se)
        upper = finite(d + z * se)
        pValue = se > 0 ? finite(Distributions.twoSidedNormalPValue(d / se)) : nil
        let logRatio = log(rmstA.estimate) - log(rmstB.estimate)
        let ra = rmstA.stdErr / rmstA.estimate, rb = rmstB.stdErr / rmstB.estimate
        let logSE = (ra * ra + rb * rb).squareRoot()
        ratio = finite(exp(logRatio))
        ratioLower = finite(exp(logRatio - z * logSE))
        ratioUpper = finite(exp(logRatio + z * logSE))
        ratioPValue = logSE > 0 && logSE.isFinite ? finite(Distributions.twoSidedNormalPValue(logRatio / logSE)) : nil
    }

    /// Every pair (a, b) with a before b in the given order (the report's key order).
    ///
    /// - Parameter groups: group keys with their RMSTs, in key order, all at the same tau.
    public static func allPairs(
        _ groups: [(key: String, rmst: RestrictedMean)], confLevel: Double
    ) -> [RestrictedMeanDifference] {
        var out: [RestrictedMeanDifference] = []
        for i in groups.indices {
            for j in groups.indices where j > i {
                out.append(
                    RestrictedMeanDifference(
                        a: groups[i].key, groups[i].rmst, b: groups[j].key, groups[j].rmst, confLevel: confLevel))
            }
        }
        return out
    }
}
