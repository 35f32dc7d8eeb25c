# Naive references for count data, shared by the count tests (the spline
# basis and penalty they use, ref_ps_basis() and ref_penalty(), are in
# helper-references.R).

# The empirical-Bayes posterior mean rates of one gene (counts `cnt`, size
# factors `s`): the grid of the package (0, then 63 log-spaced rates from a
# tenth of the smallest positive cnt / s to 1.5 times the largest), the
# log-spline prior on it (below; ridge penalty 0.01) maximising the penalised likelihood by
# optim's BFGS (the package uses Newton steps), Poisson or NB (variance
# mu + disp mu^2) given the rate.
ref_posterior_rates <- function(cnt, s, disp = 0, G = 64, df = 7, full = FALSE) {
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
    # the log prior: a free value at rate 0, cubic B-splines (df, equally
    # spaced knots, df - 3 intervals) of the log rate over the positive grid
    dx <- (hi - lo) / (df - 3)
    Q <- rbind(c(1, rep(0, df)), cbind(0, splines::splineDesign(lo + dx * (-3:df), log(grid[-1]), ord = 4, outer.ok = TRUE)))
    weights <- function(a) {
        e <- exp(drop(Q %*% a) - max(Q %*% a))
        e / sum(e)
    }
    negll <- function(a) -sum(log(drop(L %*% weights(a)))) + 0.01 * sum(a^2) / 2
    grad <- function(a) {
        w <- weights(a)
        P <- sweep(L, 2, w, `*`)
        P <- P / rowSums(P)
        -drop(crossprod(Q, colSums(P) - nrow(L) * w)) + 0.01 * a
    }
    a <- optim(rep(0, df + 1), negll, grad, method = "BFGS", control = list(maxit = 2000, reltol = 1e-15))$par
    w <- weights(a)
    P <- sweep(L, 2, w, `*`)
    P <- P / rowSums(P)
    if (full) return(list(grid = grid, weight = w, post = P, mean = drop(P %*% grid)))
    drop(P %*% grid)
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

# The rate-scale moment test's statistic for one pair, from its definition:
# moment functions h_1..h_k = cubic B-splines (mgcv's knots for [0, q],
# q the 99% order statistic of cnt / s, values clamped to [0, q]) of
# cnt / s; T_h(c) = c h(c - 1) (Poisson) or the NB recursion; the moments
# g(a, b) = mean((y - a) h(cnt) - b T_h(cnt) / s); weights 1 / the variance
# of each moment's contributions at the unweighted fit; Q = n min g' A g.
ref_rate_statistic <- function(cnt, y, s, disp = 0, k = 8) {
    n <- length(cnt)
    v <- cnt / s
    q <- sort(v)[floor(0.99 * (n - 1)) + 1]
    if (q <= 0) q <- max(v)
    basis <- function(u) ref_ps_basis(u, 0, q, k)
    H <- basis(v)
    Tm <- matrix(0, n, k)
    for (i in which(cnt > 0)) {
        if (disp == 0) {
            Tm[i, ] <- cnt[i] * basis((cnt[i] - 1) / s[i])
        } else {
            r <- 1 / disp
            t <- numeric(k)
            for (j in seq_len(cnt[i])) t <- j / (j - 1 + r) * (t + r * basis((j - 1) / s[i])[1, ])
            Tm[i, ] <- t
        }
    }
    W <- Tm / s
    m <- colMeans(H * y)
    X <- cbind(colMeans(H), colMeans(W))
    fit <- function(A) solve(t(X) %*% A %*% X, t(X) %*% A %*% m)
    th <- fit(diag(k))
    G <- (y - th[1]) * H - th[2] * W
    s2 <- colMeans(G^2)
    A <- diag(ifelse(s2 > 1e-10 * max(s2), 1 / s2, 0))
    th <- fit(A)
    g <- m - X %*% th
    list(statistic = n * drop(t(g) %*% A %*% g), slope = th[2])
}
