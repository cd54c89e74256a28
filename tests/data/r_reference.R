# Reference values for tests/test_psychometrics.py.
# Run from this folder:  Rscript r_reference.R
# Produced with R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9, lavaan 0.6-14 (Debian 12 packages).
# bfi.csv:  write.csv(psych::bfi, "bfi.csv", na = "")  (first column renamed to "id")
# holzinger_swineford_1939.csv:  write.csv(lavaan::HolzingerSwineford1939, ..., row.names = FALSE, na = "")
suppressPackageStartupMessages({library(psych); library(lavaan)})
options(digits = 10)
cat(R.version.string, "psych", as.character(packageVersion("psych")),
    "lavaan", as.character(packageVersion("lavaan")), "\n")
bfi <- read.csv("bfi.csv")
N <- c("N1", "N2", "N3", "N4", "N5")
A <- c("A2", "A3", "A4", "A5")
nN <- na.omit(bfi[, N])
cat("complete N rows", nrow(nN), "\n")

cat("\n## alpha, complete cases N1-N5\n")
a <- psych::alpha(nN)
print(a$total$raw_alpha); print(unlist(a$feldt[c("lower.ci", "upper.ci")]))
print(a$alpha.drop$raw_alpha); print(a$item.stats$r.drop)
cat("\n## alpha, pairwise (psych default), all 2800 rows, N1-N5\n")
ap <- psych::alpha(bfi[, N])
print(ap$total$raw_alpha); print(unlist(ap$feldt[c("lower.ci", "upper.ci")]))
print(ap$alpha.drop$raw_alpha); print(ap$item.stats$r.drop)
cat("\n## alpha, complete cases A2-A5, 90% Feldt interval\n")
nA <- na.omit(bfi[, A])
aa <- psych::alpha(nA)
print(nrow(nA)); print(aa$total$raw_alpha)
print(unlist(psych::alpha.ci(aa$total$raw_alpha, nrow(nA), 4, p.val = 0.10)[c("lower.ci", "upper.ci")]))

cat("\n## omega total, one-factor CFA (lavaan, ML, std.lv), complete cases N1-N5\n")
fit <- lavaan::cfa("f =~ N1 + N2 + N3 + N4 + N5", data = nN, std.lv = TRUE)
pe <- lavaan::parameterEstimates(fit)
lam <- pe$est[pe$op == "=~"]; th <- pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs != "f"]
print(lam); print(th); print(sum(lam)^2 / (sum(lam)^2 + sum(th)))
cat("psych::omega(nN, nfactors = 1, fm = 'ml')$omega.tot\n")
print(suppressWarnings(psych::omega(nN, nfactors = 1, fm = "ml", plot = FALSE))$omega.tot)
fitA <- lavaan::cfa("f =~ A2 + A3 + A4 + A5", data = nA, std.lv = TRUE)
peA <- lavaan::parameterEstimates(fitA)
lamA <- peA$est[peA$op == "=~"]; thA <- peA$est[peA$op == "~~" & peA$lhs == peA$rhs & peA$lhs != "f"]
cat("omega A2-A5\n"); print(sum(lamA)^2 / (sum(lamA)^2 + sum(thA)))

cat("\n## KMO and Bartlett, 25 personality items\n")
b25 <- bfi[, 2:26]
k <- psych::KMO(na.omit(b25)); print(k$MSA); print(k$MSAi)
kp <- psych::KMO(b25); print(kp$MSA); print(kp$MSAi)
print(nrow(na.omit(b25)))
bt <- psych::cortest.bartlett(na.omit(b25)); print(unlist(bt))
btN <- psych::cortest.bartlett(nN); print(unlist(btN))

cat("\n## CFA, Holzinger & Swineford 1939, three correlated factors\n")
hs <- read.csv("holzinger_swineford_1939.csv")
HS.model <- "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9"
fhs <- lavaan::cfa(HS.model, data = hs)
print(unclass(lavaan::fitMeasures(fhs, c("chisq", "df", "pvalue", "baseline.chisq", "baseline.df",
                                         "cfi", "tli", "rmsea", "srmr", "ntotal"))))
cat("\n## CFA, HS, second-order factor over the three (just-identified: same fit)\n")
fho <- lavaan::cfa(paste(HS.model, "\n g =~ visual + textual + speed"), data = hs)
print(unclass(lavaan::fitMeasures(fho, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))))
cat("\n## CFA, HS, two factors (visual+textual merged) -- a worse model\n")
f2 <- lavaan::cfa("vt =~ x1 + x2 + x3 + x4 + x5 + x6\n speed =~ x7 + x8 + x9", data = hs)
print(unclass(lavaan::fitMeasures(f2, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))))

cat("\n## Bartlett, pairwise on all 2800 rows (psych on raw data with NA)\n")
print(unlist(psych::cortest.bartlett(bfi[, 2:26])))

cat("\n## Synthetic DiMiOS data (dimios_synthetic_2x3.csv), codebook mognad-default-1\n")
dm <- read.csv("dimios_synthetic_2x3.csv")
cats <- list(effektivitet = sprintf("q%02d", 1:5), innovation = sprintf("q%02d", 6:10),
             balansering = sprintf("q%02d", 11:15), infrastruktur = sprintf("q%02d", 16:20),
             information = sprintf("q%02d", 21:25), forvaltning = sprintf("q%02d", 26:30))
first <- paste(sprintf("%s =~ %s", names(cats), sapply(cats, paste, collapse = " + ")), collapse = "\n")
second <- "formaga =~ effektivitet + innovation + balansering\n arv =~ infrastruktur + information + forvaltning"
fc <- lavaan::cfa(first, data = dm)
print(unclass(lavaan::fitMeasures(fc, c("chisq", "df", "cfi", "tli", "rmsea", "srmr", "ntotal"))))
f23 <- lavaan::cfa(paste(first, second, sep = "\n"), data = dm)
print(unclass(lavaan::fitMeasures(f23, c("chisq", "df", "cfi", "tli", "rmsea", "srmr", "ntotal"))))
cat("alpha (listwise) per category, then formaga and arv\n")
for (it in c(cats, list(formaga = unlist(cats[1:3]), arv = unlist(cats[4:6])))) {
  d <- na.omit(dm[, it]); a <- psych::alpha(d)
  fo <- lavaan::cfa(paste("f =~", paste(it, collapse = " + ")), data = d, std.lv = TRUE)
  pe <- lavaan::parameterEstimates(fo)
  l <- pe$est[pe$op == "=~"]; th <- pe$est[pe$op == "~~" & pe$lhs == pe$rhs & pe$lhs != "f"]
  cat(nrow(d), a$total$raw_alpha, unlist(a$feldt$lower.ci), unlist(a$feldt$upper.ci), sum(l)^2 / (sum(l)^2 + sum(th)), "\n")
}
