# Makes inst/extdata/recoverability_vignette.rds: the two small studies of
# the vignette "Reproducing the theorem" (the reduced grid and the jointly
# Gaussian case), which take a few minutes, longer than a vignette should.
# The vignette shows this code and loads the stored result. Both studies
# are seeded (recoverabilityStudy(seed = 1)), so a rerun gives the same
# rates.
#   Rscript inst/scripts/recoverability_vignette.R [output.rds]
library(bulkcausal)
out <- commandArgs(trailingOnly = TRUE)
if (!length(out)) out <- "recoverability_vignette.rds"
st <- recoverabilityStudy(functions = c("affine", "quadratic", "sin"),
                          aggregations = c("mean", "log1p_sum", "cpm"),
                          pool.size = c(1, 10, 50), nsamples = 300,
                          replicates = 6, discovery = FALSE, verbose = FALSE)
jg <- recoverabilityStudy(functions = "affine_hill", aggregations = "mean",
                          pool.size = 10, nsamples = 500,
                          replicates = 20, discovery = FALSE, verbose = FALSE)
saveRDS(list(reduced = st, jointly.gaussian = jg), out)
message(sprintf("reduced grid %.0f s, jointly Gaussian %.0f s, written to %s",
                S4Vectors::metadata(st)$seconds,
                S4Vectors::metadata(jg)$seconds, out))
