#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Distribution functions needed for p-values and confidence limits.
///
/// Accuracy target: 1e-12 relative wherever R reports a value, including tails far below
/// 1e-30 (a p-value of 1e-30 must never come out as 0). Everything works on the upper tail
/// directly, so no `1 - p` cancellation is ever taken on a small probability.
public enum Distributions {

    /// Upper tail of the standard normal, P(Z > x) (R: `pnorm(x, lower.tail = FALSE)`).
    ///
    /// Computed as `erfc(x / sqrt 2) / 2`, which keeps full relative accuracy far into the
    /// tail (libm's `erfc` is accurate to about one ulp and only underflows below 1e-308).
    public static func normalUpperTail(_ x: Double) -> Double {
        if x.isNaN { return .nan }
        return 0.5 * erfc(x * 0.70710678118654752440)
    }

    /// Standard normal distribution function, P(Z <= x) (R: `pnorm(x)`).
    public static func normalCDF(_ x: Double) -> Double {
        normalUpperTail(-x)
    }

    /// Two-sided normal p-value for a z statistic, 2 P(Z > |z|) (R: `summary.coxph`).
    public static func twoSidedNormalPValue(_ z: Double) -> Double {
        if z.isNaN { return .nan }
        return min(1, 2 * normalUpperTail(abs(z)))
    }

    /// Standard normal quantile, the z with P(Z <= z) = p (R: `qnorm(p)`).
    ///
    /// Solves `normalUpperTail(z) = tail` by Halley's method from the Abramowitz-Stegun 26.2.23
    /// starting value; because the tail function is accurate to about one ulp, the root is
    /// accurate to a few ulps (R's AS 241 is accurate to about 1e-16). Returns -inf / +inf at 0 / 1,
    /// NaN outside [0, 1].
    public static func normalQuantile(_ p: Double) -> Double {
        if p.isNaN || p < 0 || p > 1 { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        if p < 0.5 { return -upperNormalQuantile(p) }
        // 1 - p is exact here (Sterbenz), so this matches qnorm(p) for the stored p.
        return upperNormalQuantile(1 - p)
    }

    /// The z > 0 with P(Z > z) = tail, for 0 < tail < 0.5.
    static func upperNormalQuantile(_ tail: Double) -> Double {
        // Abramowitz & Stegun 26.2.23, absolute error < 4.5e-4: a good start for Halley.
        let t = (-2 * log(tail)).squareRoot()
        var z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
            / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
        if z < 0 { z = 0 }
        for _ in 0..<50 {
            let density = exp(-0.5 * z * z) * 0.39894228040143267794
            if density == 0 { break }
            let f = normalUpperTail(z) - tail  // decreasing in z, derivative -density
            // Halley step for g(z) = Q(z) - tail: g' = -phi, g'' = z phi.
            let newton = f / density
            let step = newton / (1 + 0.5 * z * newton)
            z += step
            if abs(step) <= 1e-16 * max(1, abs(z)) { break }
        }
        return z
    }

    /// Upper tail of the chi-square distribution, P(X > x) with `df` degrees of freedom
    /// (R: `pchisq(x, df, lower.tail = FALSE)`), as the regularized upper incomplete gamma
    /// Q(df / 2, x / 2).
    ///
    /// Returns NaN for df <= 0 or a NaN statistic (a p-value that cannot be computed is never
    /// reported as a number).
    public static func chiSquareUpperTail(_ x: Double, df: Double) -> Double {
        if x.isNaN || df.isNaN || !(df > 0) { return .nan }
        if x <= 0 { return 1 }
        if x == .infinity { return 0 }
        if df == 1 {
            // Q(1/2, x/2) = erfc(sqrt(x/2)): exact relation, libm accuracy.
            return erfc((0.5 * x).squareRoot())
        }
        if df == 2 { return exp(-0.5 * x) }
        return regularizedGammaQ(0.5 * df, 0.5 * x)
    }

    /// Regularized upper incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a).
    ///
    /// Numerical Recipes 6.2: the series for P when x < a + 1 (then Q = 1 - P, which is not small
    /// there), otherwise the modified-Lentz continued fraction for Q. The prefactor
    /// x^a e^-x / Gamma(a) is formed in log space, so results far below the smallest double
    /// that 1 - P could resolve keep their relative accuracy.
    public static func regularizedGammaQ(_ a: Double, _ x: Double) -> Double {
        if a.isNaN || x.isNaN || !(a > 0) { return .nan }
        if x <= 0 { return 1 }
        if x == .infinity { return 0 }
        let logPrefactor = a * log(x) - x - logGamma(a)
        if x < a + 1 {
            // P(a, x) = prefactor / a * sum_{n>=0} x^n / ((a+1)...(a+n))
            var term = 1 / a
            var sum = term
            var ap = a
            for _ in 0..<100_000 {
                ap += 1
                term *= x / ap
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            let p = exp(logPrefactor + log(sum))
            return max(0, 1 - p)
        }
        // Q(a, x) = prefactor * 1 / (x + 1 - a - 1(1-a)/(x + 3 - a - ...)), modified Lentz.
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        var i = 1.0
        while i < 100_000 {
            let an = -i * (i - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) <= 2.3e-16 { break }
            i += 1
        }
        return exp(logPrefactor + log(h))
    }

    /// log Gamma(a) for a > 0 (the reentrant `lgamma_r`, so no global sign variable is written).
    static func logGamma(_ a: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(a, &sign)
    }
}
