# Reference values for the hierarchical omega tests in tests/test_psychometrics.py.
# Run from this folder:  Rscript r_reference_omega.R > r_reference_omega.out
# Produced with R 4.2.2, psych 2.2.9, GPArotation 2022.10-2 (Debian 12 packages:
#   apt-get install -y --no-install-recommends r-base-core r-cran-psych r-cran-gparotation).
# psych::omega with its defaults: correlations (pairwise when answers are missing), fm = "minres",
# varimax then GPArotation::oblimin, Schmid-Leiman via psych::schmid, flip = TRUE.
# nfactors = the number of categories: 3 per dimension (the 2x3 structure), 6 for all 30 items.
suppressPackageStartupMessages(library(psych))
options(digits = 10)
cat(R.version.string, "psych", as.character(packageVersion("psych")),
    "GPArotation", as.character(packageVersion("GPArotation")), "\n")
dm <- read.csv("dimios_synthetic_2x3.csv")
items <- sprintf("q%02d", 1:30)
scales <- list(formaga = items[1:15], arv = items[16:30], total = items)
show <- function(label, x, nf) {
  o <- psych::omega(x, nfactors = nf, plot = FALSE)
  cat(sprintf("%s nfactors=%d omega_h=%.10f omega_total=%.10f omega_lim=%.10f ecv=%.10f\n",
              label, nf, o$omega_h, o$omega.tot, o$omega.lim, o$ECV))
  cat(sprintf("%s g_loadings=%s\n", label,
              paste(sprintf("%.6f", o$schmid$sl[, "g"]), collapse = " ")))
}
cat("\n## pairwise correlations (psych's default), all 600 rows\n")
for (s in c("formaga", "arv")) show(paste0(s, "/pairwise"), dm[, scales[[s]]], 3)
show("total/pairwise", dm[, items], 6)
cat("\n## listwise complete rows\n")
for (s in c("formaga", "arv")) {
  x <- na.omit(dm[, scales[[s]]])
  cat(s, "complete rows", nrow(x), "\n")
  show(paste0(s, "/listwise"), x, 3)
}
x <- na.omit(dm[, items]); cat("total complete rows", nrow(x), "\n")
show("total/listwise", x, 6)
