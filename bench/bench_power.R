# Size and power of fitPairwise's p.nonlinear (the F test) against departure from
# linearity: y = x + delta * (x - 1.5)^2 + e, x ~ U(0, 3), e ~ N(0, 1) or
# centred Exp(1), 1,000 replicates per point (one regulator, 1,000 targets,
# one batched call).  Prints the rejection rates at alpha = 0.05 and saves
# bench/pairwise_power.png.
#   Rscript bench/bench_power.R
suppressPackageStartupMessages(library(bulkcausal))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
set.seed(1)
deltas <- c(0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1)
grid <- expand.grid(delta = deltas, n = c(100, 500, 2000), noise = c("gaussian", "exponential"),
                    stringsAsFactors = FALSE)
grid$power <- NA_real_
for (i in seq_len(nrow(grid))) {
    n <- grid$n[i]
    x <- runif(n, 0, 3)
    f <- x + grid$delta[i] * (x - 1.5)^2
    e <- if (grid$noise[i] == "gaussian") rnorm(1000 * n) else rexp(1000 * n) - 1
    m <- rbind(X = x, matrix(f, 1000, n, byrow = TRUE) + matrix(e, 1000, n))
    rownames(m) <- c("X", paste0("T", 1:1000))
    fit <- fitPairwise(m, pairs = data.frame("X", paste0("T", 1:1000)), test = "F", verbose = FALSE)
    grid$power[i] <- mean(fit$p.nonlinear < 0.05)
}
print(reshape(grid, idvar = c("n", "noise"), timevar = "delta", direction = "wide"), row.names = FALSE)
png(file.path(here, "pairwise_power.png"), width = 900, height = 420, res = 110)
op <- par(mfrow = c(1, 2), mar = c(4.2, 4.2, 2, 1))
for (nz in c("gaussian", "exponential")) {
    plot(NA, xlim = range(deltas), ylim = c(0, 1), xlab = "delta (curvature)", ylab = "rejection rate",
         main = sprintf("%s noise", nz))
    abline(h = 0.05, lty = 3)
    for (j in seq_along(c(100, 500, 2000))) {
        s <- grid[grid$noise == nz & grid$n == c(100, 500, 2000)[j], ]
        lines(s$delta, s$power, type = "b", pch = 19, col = j)
    }
    legend("bottomright", legend = paste("n =", c(100, 500, 2000)), col = 1:3, pch = 19, bty = "n")
}
par(op)
invisible(dev.off())
