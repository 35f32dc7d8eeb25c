# Small models and data builders that several test files use, defined once.
# (Count-pair simulations are in helper-counts.R; the fuzz suite's objects in
# helper-fuzz.R, which a separate R process sources on its own.)

# The chain X -> Y -> Z with affine edges of weight 1; `...` goes to
# grnModel() (e.g. context.sd).
affine_chain <- function(...) {
    grnModel(data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = "affine", weight = 1), ...)
}

# THEORY.md section 3's strong violation: X -> Y -> Z, both edges quadratic,
# X ~ U(0, 2) (intercept 1, uniform noise of sd 2 / sqrt(12), no context),
# noise sd 0.3.  X _||_ Z | Y holds among cells and fails among means of
# cells.
quadratic_uniform_chain <- function() {
    grnModel(data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = "quadratic"),
        noise = c(X = "uniform"), noise.scale = c(X = 2 / sqrt(12), Y = 0.3, Z = 0.3),
        intercept = c(X = 1), context.sd = c(X = 0))
}

# The kink design of the package's notes (bench/bench_fit_kink.R): X -> Y ->
# Z, affine then hill_act (K = 0.5, n = 1: a kink at Y = 0, f(y) = 3 max(y,
# 0) / (0.5 + max(y, 0))), X Gamma-distributed (shape 1), noise sd 0.5 on Y
# and 0.1 on Z.
kink_model <- function() {
    edges <- data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = c("affine", "hill_act"), weight = c(1, 3),
        K = c(0, 0.5), n = c(1, 1))
    grnModel(edges, noise = c(X = "gamma", Y = "gaussian", Z = "gaussian"), noise.shape = c(X = 1),
        noise.scale = c(X = 1, Y = 0.5, Z = 0.1), intercept = c(X = 1, Y = 0, Z = 0))
}

# fitPairwise() of the one pair X -> Y given as two vectors.
fit_one_pair <- function(x, y, ...) {
    fitPairwise(rbind(X = x, Y = y), pairs = data.frame("X", "Y"), ...)
}
