# Count data: size of p.nonlinear and bias of the slope and nl against the
# rate-scale truth, for the count-aware fit (fitPairwise(counts = TRUE)) and
# the naive one (normalised counts, the F test) in the same run.  The
# count-aware p.nonlinear is the rate-scale moment test; its curve (and nl)
# is deconvolved from the regulator's noise.
#
# Affine rate relation lambda_Y = 0.3 mu + 0.5 lambda_X, both genes counted:
# lambda_X log-normal or Gamma (mean mu, CV 0.6); library sizes log-normal
# (sdlog 0.3); Poisson or NB (size 2, 10) counts; mu = 0.5, 2, 10, 100 counts
# per cell; n = 300 and 2,000 cells.  Each grid point is BENCH_COUNTS_REPS
# independent pairs (default 1,000) fitted in one call.  NB counts are fitted
# with the true technical dispersion (1 / size) and, to show what a wrong
# value does, with dispersion 0.  A Hill design (lambda_Y = 4 l^2 / (1 + l^2)
# with lambda_X ~ Gamma(2), scaled to mean mu) reports nl against the truth:
# nl of the same fit on the noise-free rates.
#   Rscript bench/bench_counts.R                # full grid (about 30 min on 2 cores)
#   BENCH_COUNTS_REPS=200 Rscript bench/bench_counts.R
suppressPackageStartupMessages(library(bulkcausal))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
reps <- as.integer(Sys.getenv("BENCH_COUNTS_REPS", "1000"))
threads <- as.integer(Sys.getenv("BENCH_THREADS", "2"))
set.seed(20261125)

rates_x <- function(dist, npairs, n, mu, cv = 0.6) {
    if (dist == "lognormal") {
        sdlog <- sqrt(log(1 + cv^2))
        matrix(mu * exp(rnorm(npairs * n, -sdlog^2 / 2, sdlog)), npairs, n)
    } else {
        matrix(rgamma(npairs * n, shape = 1 / cv^2, rate = 1 / (cv^2 * mu)), npairs, n)
    }
}
draw_counts <- function(lambda, s, nb) {
    mm <- sweep(lambda, 2, s, `*`)
    v <- if (is.finite(nb)) rnbinom(length(mm), mu = mm, size = nb) else rpois(length(mm), mm)
    matrix(as.numeric(v), nrow(lambda))
}
named <- function(cx, cy) {
    m <- rbind(cx, cy)
    k <- nrow(cx)
    rownames(m) <- c(paste0("X", seq_len(k)), paste0("Y", seq_len(k)))
    m
}
pairs_of <- function(k) data.frame(paste0("X", seq_len(k)), paste0("Y", seq_len(k)))

grid <- expand.grid(mu = c(0.5, 2, 10, 100), n = c(300, 2000), counts = c("poisson", "nb10", "nb2"),
    rates = c("lognormal", "gamma"), stringsAsFactors = FALSE)
nb_size <- c(poisson = Inf, nb10 = 10, nb2 = 2)
rows <- list()
t0 <- Sys.time()
for (i in seq_len(nrow(grid))) {
    g <- grid[i, ]
    nb <- nb_size[[g$counts]]
    s <- exp(rnorm(g$n, 0, 0.3) - 0.045)
    lx <- rates_x(g$rates, reps, g$n, g$mu)
    ly <- 0.3 * g$mu + 0.5 * lx
    cnt <- named(draw_counts(lx, s, nb), draw_counts(ly, s, nb))
    pr <- pairs_of(reps)
    disp <- if (is.finite(nb)) 1 / nb else 0
    aware <- fitPairwise(cnt, pairs = pr, counts = TRUE, size.factors = s, dispersion = disp, seed = i,
        num.threads = threads, verbose = FALSE)
    naive <- fitPairwise(t(t(cnt) / s), pairs = pr, test = "F", num.threads = threads, verbose = FALSE)
    wrong <- if (is.finite(nb)) {
        fitPairwise(cnt, pairs = pr, counts = TRUE, size.factors = s, dispersion = 0, seed = i,
            num.threads = threads, verbose = FALSE)
    }
    rate <- function(p) mean(p < 0.05, na.rm = TRUE)
    rows[[i]] <- data.frame(g, ok = mean(aware$status == "ok"),
        size.aware = rate(aware$p.nonlinear), size.naive = rate(naive$p.nonlinear),
        size.disp0 = if (is.null(wrong)) NA else rate(wrong$p.nonlinear),
        slope.aware = mean(aware$slope, na.rm = TRUE) / 0.5, slope.naive = mean(naive$slope, na.rm = TRUE) / 0.5,
        slope.disp0 = if (is.null(wrong)) NA else mean(wrong$slope, na.rm = TRUE) / 0.5,
        nl.aware = median(aware$nl, na.rm = TRUE), nl.naive = median(naive$nl, na.rm = TRUE),
        reliability = median(aware$reliability.regulator, na.rm = TRUE))
    message(sprintf("[%s] %d/%d %s n=%d %s mu=%g: size aware %.3f naive %.3f, slope/truth %.3f (naive %.3f)",
        format(Sys.time(), "%H:%M:%S"), i, nrow(grid), g$rates, g$n, g$counts, g$mu, rows[[i]]$size.aware,
        rows[[i]]$size.naive, rows[[i]]$slope.aware, rows[[i]]$slope.naive))
}
tab <- do.call(rbind, rows)
se <- sqrt(0.05 * 0.95 / reps)
cat(sprintf("\n## Size of p.nonlinear at alpha 0.05, affine rate relation (%d pairs per row; SE %.4f)\n\n",
    reps, se))
print(format(tab, digits = 3), row.names = FALSE)
cat(sprintf("\nCount-aware size within 0.05 +/- 0.02 in %d of %d rows (range %.3f-%.3f); naive F test %.3f-%.3f\n",
    sum(abs(tab$size.aware - 0.05) <= 0.02), nrow(tab), min(tab$size.aware), max(tab$size.aware),
    min(tab$size.naive), max(tab$size.naive)))
deep <- tab$mu >= 2
cat(sprintf("Count-aware slope / truth at >= 2 counts per cell: %.3f-%.3f (naive %.3f-%.3f)\n",
    min(tab$slope.aware[deep]), max(tab$slope.aware[deep]), min(tab$slope.naive[deep]), max(tab$slope.naive[deep])))

# nl against its rate-scale truth on a Hill relation.
hill <- list()
for (mu in c(0.5, 2, 10, 100)) for (n in c(300, 2000)) {
    k <- max(100, reps %/% 5)
    s <- exp(rnorm(n, 0, 0.3) - 0.045)
    u <- matrix(rgamma(k * n, 2, 1), k)
    lx <- u * mu / 2
    ly <- mu * u^2 / (1 + u^2)
    cnt <- named(draw_counts(lx, s, Inf), draw_counts(ly, s, Inf))
    pr <- pairs_of(k)
    aware <- fitPairwise(cnt, pairs = pr, counts = TRUE, size.factors = s, num.threads = threads, verbose = FALSE)
    naive <- fitPairwise(t(t(cnt) / s), pairs = pr, test = "F", num.threads = threads, verbose = FALSE)
    truth <- fitPairwise(named(lx, ly + matrix(rnorm(length(ly), sd = 1e-6 * mu), k)), pairs = pr,
        num.threads = threads, verbose = FALSE)
    hill[[length(hill) + 1L]] <- data.frame(mu = mu, n = n, nl.truth = median(truth$nl),
        nl.aware = median(aware$nl, na.rm = TRUE), nl.naive = median(naive$nl, na.rm = TRUE),
        power.aware = mean(aware$p.nonlinear < 0.05, na.rm = TRUE),
        power.naive.F = mean(naive$p.nonlinear < 0.05, na.rm = TRUE))
}
cat("\n## nl on a Hill rate relation: medians over pairs (truth: the fit on noise-free rates)\n\n")
print(format(do.call(rbind, hill), digits = 3), row.names = FALSE)
cat(sprintf("\nTotal time %.1f min (%s, %d threads)\n", as.numeric(difftime(Sys.time(), t0, units = "mins")),
    format(Sys.Date()), threads))
