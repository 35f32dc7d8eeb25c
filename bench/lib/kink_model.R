# The kink design of issue 11, item 3 (sourced by bench_ci_kink.R and
# bench_fit_kink.R): chain X -> Y -> Z, affine then hill_act (weight 3, K
# 0.5, n 1: a kink at Y = 0, where max(y, 0) starts), X Gamma(1) + 1, noise
# X 1, Y 0.5, Z 0.1, no intercept of Y or Z.
kink_model <- function() {
    edges <- data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = c("affine", "hill_act"), weight = c(1, 3),
        K = c(0, 0.5), n = c(1, 1))
    grnModel(edges, noise = c(X = "gamma", Y = "gaussian", Z = "gaussian"), noise.shape = c(X = 1),
        noise.scale = c(X = 1, Y = 0.5, Z = 0.1), intercept = c(X = 1, Y = 0, Z = 0))
}
