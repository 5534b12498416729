// Survival: pure survival statistics for the registry (DOMAIN.md sections 7 and 8), validated
// against R's survival package 3.5 (Tests/SurvivalTests/Fixtures/make_fixtures.R).
//
// Entry points
//   SurvivalAnalysis.analyze(_:options:droppedRows:observer:) -> SurvivalReport
//       the whole report (Kaplan-Meier per group, log-rank, Peto-Peto, pairwise Holm, median
//       follow-up, optional Cox), Codable in the JSON shape of issue 3.
//   SurvivalCSV.read(_:columns:) -> CSVInput            CSV text -> SurvivalData (+ dropped rows)
//   KaplanMeierCurve.fit(time:event:entry:)             one curve; confidenceLimits, quantile,
//                                                        landmark, restrictedMean
//   LogRankTest.test(time:event:group:groupCount:rho:)  survdiff (rho = 0 log-rank, 1 Peto-Peto)
//   CoxModel.fit(time:event:entry:columns:terms:)        coxph, Efron ties, counting process with entry
//   Distributions                                        normal / chi-square tails, normal quantile
//   holmAdjust(_:)                                        p.adjust(method = "holm")
// Every failure is a SurvivalError value.
//
// Deliberate differences from R (all documented where they happen)
//   - Times are compared exactly: R's `timefix` (aeqSurv) merging of times within 1.5e-8 is
//     not done. Times computed the same way (whole days, days / 30.4375) are unaffected.
//   - Landmarks after the last follow-up time are reported with null estimates and 0 at risk;
//     R's summary(times =) drops them.
//   - RMST with tau before the first time is tau (R refuses).
//   - A log-rank test without degrees of freedom (no events) has a null p-value (R: 0 or NaN).
//   - A Cox coefficient that R flags as "may be infinite" is an error here, not a warning, and so
//     are non-convergence, a covariate without variation, collinearity and a factor level
//     without events.
//   - Group keys and factor levels are ordered by code point (R: the locale's collation).
