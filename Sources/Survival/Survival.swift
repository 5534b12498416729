/// Survival analysis: Kaplan-Meier, log-rank, Cox, RMST (DOMAIN.md sections 7-8).
/// Pure: values in, values out, no I/O.
public enum SurvivalEngine {}
