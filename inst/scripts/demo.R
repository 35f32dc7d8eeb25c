# The main job of `make demo`: audit the embedded real single-cell dataset
# (pbmc283: verdict table, key figure, all pairs in audit-pbmc283.csv), simulate the embedded example network, pool
# its cells into bulk samples with a linear and a non-linear aggregation, and
# write an HTML report with cell-level and bulk-level views of its true edges.
#
# Usage: Rscript inst/scripts/demo.R [output directory]
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args)) args[1L] else file.path(getwd(), "demo-report")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
rmd <- system.file("report", "demo.Rmd", package = "bulkcausal")
if (!nzchar(rmd)) stop("the installed bulkcausal has no report template; run `make install` first")
# Render in a scratch copy so the installed package stays untouched.
work <- tempfile("bulkcausal-demo-")
dir.create(work)
invisible(file.copy(rmd, work))
out <- rmarkdown::render(file.path(work, "demo.Rmd"), output_dir = outdir, quiet = TRUE,
    intermediates_dir = work, envir = new.env())
invisible(file.copy(file.path(work, c("demo-scatter.png", "audit-pbmc283.csv")), outdir, overwrite = TRUE))
message("bulkcausal demo report: ", normalizePath(out))
cat(normalizePath(out), "\n")
