# Reference values for tests/test_longitudinal.py (mixed models, mognad.longitudinal.fit_mixed).
# Run from this folder:  Rscript r_reference_lme4.R > r_reference_lme4.out
# Produced with R 4.2.2 Patched (2022-11-10 r83330), lme4 1.1.31 (Debian 12 packages).
# sleepstudy.csv:  write.csv(lme4::sleepstudy, "sleepstudy.csv", row.names = FALSE)
# pastes.csv:      write.csv(lme4::Pastes, "pastes.csv", row.names = FALSE)
suppressPackageStartupMessages(library(lme4))
options(digits = 10)
cat(R.version.string, "lme4", as.character(packageVersion("lme4")), "\n")
sleepstudy <- read.csv("sleepstudy.csv")
sleepstudy$Subject <- factor(sleepstudy$Subject)
Pastes <- read.csv("pastes.csv")

cat("\n## lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = TRUE)\n")
m1 <- lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, REML = TRUE)
print(summary(m1)$coefficients); print(as.data.frame(VarCorr(m1))[, c("grp", "vcov")])

cat("\n## lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE)\n")
m2 <- lmer(Reaction ~ Days + (1 | Subject), data = sleepstudy, REML = FALSE)
print(summary(m2)$coefficients); print(as.data.frame(VarCorr(m2))[, c("grp", "vcov")])

cat("\n## lmer(strength ~ 1 + (1 | batch/cask), Pastes, REML = TRUE)\n")
m3 <- lmer(strength ~ 1 + (1 | batch/cask), data = Pastes, REML = TRUE)
print(summary(m3)$coefficients); print(as.data.frame(VarCorr(m3))[, c("grp", "vcov")])
