# The random models of the audit benchmarks: `pairs` disjoint edges
# X_i -> Y_i with a random function (affine, Hill activation/repression,
# sigmoid, tanh, quadratic, sin, relu), random weights and midpoints, a
# Gaussian or skewed (Gamma) cause with a sample context.  Replicate r always
# draws the same model; `celltypes` adds three cell types shifting the
# causes (drawn after everything else, so the rest stays the same), and the
# observation arguments go to grnModel().
audit_model <- function(r, pairs, celltypes = FALSE, ...) {
    set.seed(1000 + r)  # a script, not package code: base R draws the designs
    funs <- sample(c("affine", "affine", "hill_act", "hill_rep", "sigmoid", "tanh", "quadratic", "sin", "relu"),
        pairs, replace = TRUE)
    X <- sprintf("X%d", seq_len(pairs))
    Y <- sprintf("Y%d", seq_len(pairs))
    b <- runif(pairs, 1, 3)
    csd <- runif(pairs, 0.3, 1.2)
    nsd <- runif(pairs, 0.3, 1.2)
    K <- ifelse(funs %in% c("hill_act", "hill_rep"), b * runif(pairs, 0.5, 1.5),
        ifelse(funs == "sin", runif(pairs, 0, 3), b + runif(pairs, -0.5, 0.5)))
    n <- ifelse(funs %in% c("hill_act", "hill_rep"), sample(1:4, pairs, TRUE),
        ifelse(funs == "sin", runif(pairs, 0.5, 2), ifelse(funs %in% c("sigmoid", "tanh"), runif(pairs, 1, 3), 1)))
    w <- runif(pairs, 1, 2) * ifelse(runif(pairs) < 0.3, -1, 1)
    w[funs == "quadratic"] <- w[funs == "quadratic"] / 2
    edges <- data.frame(from = X, to = Y, fun = funs, weight = w, K = ifelse(funs == "affine", NA, K),
        n = ifelse(funs %in% c("affine", "quadratic", "relu"), NA, n))
    genes <- c(X, Y)
    noise <- setNames(c(ifelse(runif(pairs) < 0.5, "gaussian", "gamma"), rep("gaussian", pairs)), genes)
    types <- if (celltypes) matrix(runif(3 * pairs, -1, 1), 3, dimnames = list(c("T1", "T2", "T3"), X))
    grnModel(edges, genes = genes, intercept = setNames(c(b, rep(0, pairs)), genes), noise = noise,
        noise.scale = setNames(c(nsd, rep(0.3, pairs)), genes),
        context.sd = setNames(c(csd, rep(0.2, pairs)), genes), celltypes = types, ...)
}
