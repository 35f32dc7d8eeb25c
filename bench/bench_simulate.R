# simulateCells of 1,000,000 cells x 100 genes (affine and Hill edges,
# Gaussian noise, no counts) against rnorm(1e8) in the same run (target: at
# most 0.5x its time), and the peak memory of the call against the size of
# its result (target: at most 2x).
#   Rscript bench/bench_simulate.R
suppressPackageStartupMessages(library(bulkcausal))
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE),
                                                  value = TRUE))), "lib", "timing.R"))

setup <- c("suppressPackageStartupMessages(library(bulkcausal))",
           "model <- randomGRN(100, prob = 0.04, functions = c(affine = 0.5, hill_act = 0.5), seed = 1)")
eval(parse(text = setup))
cat(sprintf("model: %d genes, %d edges (%s)\n", length(model@genes), nrow(edgeTable(model)),
            paste(names(table(edgeTable(model)$fun)), table(edgeTable(model)$fun),
                  sep = " ", collapse = ", ")))

t_rnorm <- bench_time(rnorm(1e8), reps = 3)
t_sim1 <- bench_time(simulateCells(model, ncells = 1e6, seed = 1, num.threads = 1,
                                   verbose = FALSE), reps = 3)
t_sim2 <- bench_time(simulateCells(model, ncells = 1e6, seed = 1, num.threads = 2,
                                   verbose = FALSE), reps = 3)
mem <- peak_memory(setup, "simulateCells(model, ncells = 1e6, seed = 1, num.threads = 2, verbose = FALSE)")

cat(sprintf("rnorm(1e8):                      %8.3f s\n", t_rnorm))
cat(sprintf("simulateCells, 1 thread:         %8.3f s\n", t_sim1))
cat(sprintf("simulateCells, 2 threads:        %8.3f s\n", t_sim2))
cat(sprintf("ratio ours (1 thread) / rnorm:   %8.2f\n", t_sim1 / t_rnorm))
cat(sprintf("ratio ours (2 threads) / rnorm:  %8.2f  (target <= 0.5)\n", t_sim2 / t_rnorm))
cat(sprintf("result size:                     %8.0f MB\n", mem[["result"]] / 2^20))
cat(sprintf("peak memory increase (2 threads): %7.0f MB\n", mem[["increase"]] / 2^20))
cat(sprintf("ratio peak increase / result:    %8.2f  (target <= 2)\n",
            mem[["increase"]] / mem[["result"]]))
cat(sprintf("machine: %s\n", machine_line()))
