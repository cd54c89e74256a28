# Reference values for the clustered difference-in-differences SE in tests/test_longitudinal.py.
# Run from this folder:  Rscript r_reference_did.R > r_reference_did.out
# R 4.2.2, sandwich 3.0-2 (Debian 12: apt-get install r-base-core r-cran-sandwich).
# did_panel.csv: 40 organisations x 6 rounds (2019-2024), participants 0000-0019 from 2022
# (tests/test_longitudinal.py::_did_data(0.0), rounds >= 2019), planted effect 4 pp.
# CR1 = G/(G-1) * (N-1)/(N-K) * CR0. "full": K = every lm coefficient (sandwich's HC1);
# "nested": the organisation effects and the intercept (nested in the organisation clusters) are
# not counted, K = (rounds - 1) + 1, the convention of fixest's ssc(fixef.K = "nested").
suppressPackageStartupMessages(library(sandwich))
options(digits = 10)
d <- read.csv("did_panel.csv", colClasses = c(org_id = "character"))
d$D <- as.numeric(d$org_id < "0020" & d$round >= 2022)
fit <- lm(score_pct ~ factor(org_id) + factor(round) + D, data = d)
N <- nrow(d); G <- length(unique(d$org_id)); K_full <- length(coef(fit))
K_nested <- K_full - G
V0 <- vcovCL(fit, cluster = ~org_id, type = "HC0", cadjust = FALSE)["D", "D"]
se <- function(K) sqrt(G / (G - 1) * (N - 1) / (N - K) * V0)
cat(sprintf("estimate=%.10f N=%d G=%d K_full=%d K_nested=%d\n", coef(fit)["D"], N, G, K_full, K_nested))
cat(sprintf("se_full=%.10f se_full_sandwich_HC1=%.10f se_nested=%.10f ratio=%.10f\n", se(K_full),
            sqrt(vcovCL(fit, cluster = ~org_id, type = "HC1")["D", "D"]), se(K_nested),
            se(K_full) / se(K_nested)))
