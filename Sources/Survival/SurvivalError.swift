/// Everything the survival engine can refuse to do, as values (never a crash, never a silent NaN).
///
/// Descriptions name columns, rows and terms but never echo data values, so they are safe to log.
public enum SurvivalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No subjects left to analyse.
    case noSubjects
    /// Column arrays of different lengths were passed in.
    case lengthMismatch(column: String, expected: Int, actual: Int)
    /// A follow-up time that is negative, NaN or infinite (0-based subject index).
    case invalidTime(index: Int)
    /// An entry time that is negative, NaN, infinite, or not strictly before the exit time.
    case invalidEntry(index: Int)
    /// An analysis option out of range (the message says which and why).
    case invalidOption(String)
    /// A model that needs events was asked for on data without any.
    case noEvents
    /// A Cox covariate that takes a single value among the analysed subjects.
    case covariateHasNoVariation(term: String)
    /// A level of a categorical Cox covariate without any event: its coefficient would be infinite.
    case levelWithoutEvents(term: String)
    /// A strata column (or a grouping that needs two or more levels) with a single level.
    case strataHaveOneLevel(name: String)
    /// The Cox design matrix is singular (a covariate is a linear combination of others).
    case collinearCovariates
    /// The Cox likelihood converged while a coefficient was still running off to infinity
    /// (R warns "coefficient may be infinite"; monotone likelihood).
    case infiniteCoefficient(term: String)
    /// Newton-Raphson did not converge within the iteration limit.
    case coxDidNotConverge(iterations: Int)
    /// A Fine-Gray model (for the named cause) that did not converge, as `cmprsk::crr` reports
    /// `converged = FALSE` (iteration limit, or the step search failed).
    case fineGrayDidNotConverge(cause: String, iterations: Int)
    /// A test statistic's variance matrix could not be inverted.
    case singularVariance
    /// CSV input: no header line.
    case csvEmpty
    /// CSV input: a requested column is not in the header.
    case csvMissingColumn(String)
    /// CSV input: a line that cannot be parsed (1-based line number).
    case csvMalformed(line: Int, reason: String)
    /// CSV input: a value that is not what the column needs (1-based line number).
    case csvInvalidValue(line: Int, column: String, expected: String)

    public var description: String {
        switch self {
        case .noSubjects: return "no subjects to analyse"
        case .lengthMismatch(let column, let expected, let actual):
            return "column '\(column)' has \(actual) values, expected \(expected)"
        case .invalidTime(let index):
            return "subject \(index + 1): follow-up time must be a finite number >= 0"
        case .invalidEntry(let index):
            return "subject \(index + 1): entry time must be finite, >= 0 and before the exit time"
        case .invalidOption(let message): return message
        case .noEvents: return "no events: the model cannot be estimated"
        case .covariateHasNoVariation(let term):
            return "Cox covariate '\(term)' has no variation among the analysed subjects"
        case .levelWithoutEvents(let term):
            return "Cox term '\(term)': one of its levels has no events, so its hazard ratio is not estimable"
        case .strataHaveOneLevel(let name):
            return "strata column '\(name)' has a single level among the analysed subjects"
        case .collinearCovariates:
            return "Cox covariates are collinear (the information matrix is singular)"
        case .infiniteCoefficient(let term):
            return "Cox coefficient for '\(term)' is not finite (monotone likelihood)"
        case .coxDidNotConverge(let iterations):
            return "Cox model did not converge in \(iterations) iterations"
        case .fineGrayDidNotConverge(let cause, let iterations):
            return "Fine-Gray model for cause '\(cause)' did not converge in \(iterations) iterations"
        case .singularVariance: return "the variance matrix of the test is singular"
        case .csvEmpty: return "CSV input is empty (a header line is required)"
        case .csvMissingColumn(let name): return "CSV has no column named '\(name)'"
        case .csvMalformed(let line, let reason): return "CSV line \(line): \(reason)"
        case .csvInvalidValue(let line, let column, let expected):
            return "CSV line \(line), column '\(column)': expected \(expected)"
        }
    }
}
