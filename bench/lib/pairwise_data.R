# The simulated data of bench_pairwise.R, shared with its memory probe.
make_data <- function(ngenes, ncells, seed) {
    model <- randomGRN(ngenes, prob = 3 / ngenes, functions = c(affine = 1, hill_act = 1, sin = 1, quadratic = 1),
                       seed = seed)
    SummarizedExperiment::assay(simulateCells(model, ncells, seed = seed, verbose = FALSE), "latent")
}
