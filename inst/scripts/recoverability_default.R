# Makes inst/extdata/recoverability_default.rds, the default grid of
# recoverabilityStudy() that the vignette "Reproducing the theorem" draws
# (12,000 simulations; about 80 minutes on two cores).
#   Rscript inst/scripts/recoverability_default.R [output.rds]
library(bulkcausal)
out <- commandArgs(trailingOnly = TRUE)
if (!length(out)) out <- "recoverability_default.rds"
st <- recoverabilityStudy(BPPARAM = BiocParallel::MulticoreParam(2), verbose = TRUE)
saveRDS(st, out)
message(sprintf("%d grid points in %.1f min written to %s", nrow(st), S4Vectors::metadata(st)$seconds / 60, out))
