# How long an interrupt takes to stop one long single task (issue 16):
# randomGRN() of 100,000 genes, one bulk sample of 3e8 cells and a spline
# CI test with a million permutations, each in a child R process (callr)
# interrupted one second into the call (SIGINT to the process, as RStudio's
# stop button); three trials each.  Prints whether the call was still
# running at 1 s, the seconds from the signal to the child's exit, and
# whether it ended with the interrupt.  Needs callr.
#   Rscript bench/bench_interrupts_single.R
cases <- list(
  randomGRN = function() bulkcausal::randomGRN(1e5, seed = 1),
  simulateBulk3e8 = function() { m <- bulkcausal::grnModel(data.frame(from = "X", to = "Y")); bulkcausal::simulateBulk(m, 1, 3e8, verbose = FALSE) },
  ciTest_nperm1e6 = function() { set.seed(1); d <- data.frame(a = rnorm(200), b = rnorm(200), c = rnorm(200)); bulkcausal::ciTest("a", "b", "c", d, test = "spline", nperm = 1e6) })
one <- function(f) {
  p <- callr::r_bg(function(f) { suppressPackageStartupMessages(library(bulkcausal)); cat("started\n"); f() }, args = list(f = f), stdout = "|", stderr = "|")
  on.exit(p$kill())
  while (!any(p$read_output_lines() == "started") && p$is_alive()) Sys.sleep(0.02)
  Sys.sleep(1)
  alive <- p$is_alive()
  t1 <- Sys.time(); p$interrupt(); p$wait(20000)
  secs <- as.numeric(difftime(Sys.time(), t1, units = "secs"))
  res <- tryCatch(p$get_result(), error = function(e) conditionMessage(e))
  c(alive.at.1s = alive, seconds = round(secs, 2), interrupted = grepl("interrupt", paste(res, collapse = " ")))
}
out <- do.call(rbind, lapply(names(cases), function(n) do.call(rbind, lapply(1:3, function(i) data.frame(case = n, trial = i, t(one(cases[[n]])))))))
print(out, row.names = FALSE)
