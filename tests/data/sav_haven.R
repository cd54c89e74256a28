# Read a .sav written by mognad.io.export with R haven and print what R sees, in a plain
# tab-separated form that tests/test_export.py compares with (see test_sav_read_by_r_haven).
#
#   Rscript tests/data/sav_haven.R FILE.sav OUT.txt
#
# Reference output: tests/data/sav_haven.out (R 4.2.2, haven 2.5.1, Debian 12), made from the
# file test_export.py writes with haven_frame() and HAVEN_PROVENANCE.
suppressPackageStartupMessages(library(haven))
args <- commandArgs(trailingOnly = TRUE)
d <- read_sav(args[1])
out <- file(args[2], open = "w", encoding = "UTF-8")
emit <- function(...) writeLines(enc2utf8(paste(..., sep = "\t")), out, useBytes = TRUE)
emit("file_label", attr(d, "label"))
emit("notes", paste(attr(d, "notes"), collapse = ""))
emit("n_notes", length(attr(d, "notes")))
emit("dim", nrow(d), ncol(d))
for (v in names(d)) {
  x <- d[[v]]
  lab <- attr(x, "label")
  emit("var", v, class(x)[1], if (is.null(lab)) "" else lab)
  vl <- attr(x, "labels")
  if (!is.null(vl)) emit("labels", v, paste(paste0(unname(vl), "=", names(vl)), collapse = "|"))
}
for (i in seq_len(nrow(d))) {
  cells <- vapply(names(d), function(v) {
    x <- zap_labels(d[[v]])[i]
    if (is.na(x)) "NA" else as.character(x)
  }, character(1))
  emit("row", paste(cells, collapse = "\t"))
}
close(out)
