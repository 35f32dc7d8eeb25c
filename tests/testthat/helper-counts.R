# Naive references for count data, shared by the count tests.

# The empirical-Bayes posterior mean rates of one gene (counts `cnt`, size
# factors `s`): the grid of the package (0, then 63 log-spaced rates from a
# tenth of the smallest positive cnt / s to 1.5 times the largest), EM on the
# grid weights from uniform until the mean log-likelihood gains < 1e-8 (at
# most 100 steps), Poisson or NB (variance mu + disp mu^2) given the rate.
ref_posterior_rates <- function(cnt, s, disp = 0, G = 64, tol = 1e-8, max.iter = 100) {
    r <- cnt / s
    if (all(cnt == 0)) return(rep(0, length(cnt)))
    lo <- log(min(r[cnt > 0]) / 10)
    hi <- log(max(r) * 1.5)
    grid <- c(0, exp(lo + (hi - lo) * (0:(G - 2)) / (G - 2)))
    mu <- outer(s, grid)
    L <- if (disp > 0) {
        matrix(dnbinom(rep(cnt, G), mu = as.vector(mu), size = 1 / disp, log = TRUE), length(cnt))
    } else {
        matrix(dpois(rep(cnt, G), as.vector(mu), log = TRUE), length(cnt))
    }
    L <- exp(L - apply(L, 1, max))
    w <- rep(1 / G, G)
    last <- -Inf
    for (it in seq_len(max.iter)) {
        den <- drop(L %*% w)
        ll <- mean(log(den))
        w <- w * colMeans(L / den)
        if (ll - last < tol) break
        last <- ll
    }
    P <- sweep(L, 2, w, `*`)
    drop(P %*% grid) / rowSums(P)
}

# Moment reliability: 1 - mean(noise variance) / var(x), x = cnt / s.
ref_reliability <- function(cnt, s, disp = 0) {
    x <- cnt / s
    noise <- x / s + disp * (x^2 - x / s) / (1 + disp)
    min(max(1 - mean(noise) / var(x), 0), 1)
}

# Genes in rows: pairs (X_i, Y_i) of count genes with an affine rate
# relation Y = a + b X, X's rates log-normal with mean `mu` and CV `cv`,
# library sizes log-normal (sdlog 0.3, mean 1); Poisson or NB counts.
sim_count_pairs <- function(npairs, n, mu, slope = 0.5, cv = 0.6, nb.size = Inf) {
    s <- exp(rnorm(n, 0, 0.3) - 0.045)
    sdlog <- sqrt(log(1 + cv^2))
    lx <- matrix(mu * exp(rnorm(npairs * n, -sdlog^2 / 2, sdlog)), npairs, n)
    ly <- 0.3 * mu + slope * lx
    draw <- function(m) {
        mm <- sweep(m, 2, s, `*`)
        v <- if (is.finite(nb.size)) rnbinom(length(mm), mu = mm, size = nb.size) else rpois(length(mm), mm)
        matrix(as.numeric(v), nrow(m))
    }
    cnt <- rbind(draw(lx), draw(ly))
    rownames(cnt) <- c(paste0("X", seq_len(npairs)), paste0("Y", seq_len(npairs)))
    list(counts = cnt, size = s, pairs = data.frame(paste0("X", seq_len(npairs)), paste0("Y", seq_len(npairs))))
}
