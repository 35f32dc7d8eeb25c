// Glue for curves.hpp: many fitted curves evaluated at once, and the
// distances functional-form consistency needs, one call per batch.
#include "glue.h"

#include <cmath>
#include <cstddef>

#include "bulkcausal/curves.hpp"

// Column c of X (n x m) evaluated with fit which[c] (1-based) of a fit
// store: coef (k x fits), mean_y and context (1-based, NA for no curve) per
// fit; t0, dx, lo, hi per context.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix curve_values_cpp(Rcpp::NumericMatrix coef, Rcpp::NumericVector mean_y, Rcpp::IntegerVector context,
                                     Rcpp::NumericVector t0, Rcpp::NumericVector dx, Rcpp::NumericVector lo,
                                     Rcpp::NumericVector hi, Rcpp::IntegerVector which, Rcpp::NumericMatrix X) {
    const int k = coef.nrow();
    const R_xlen_t nfit = coef.ncol();
    if (k < 4) Rcpp::stop("coef must have at least 4 rows");
    if (mean_y.size() != nfit || context.size() != nfit) Rcpp::stop("mean_y and context need one value per fit");
    const R_xlen_t nctx = t0.size();
    if (dx.size() != nctx || lo.size() != nctx || hi.size() != nctx) Rcpp::stop("contexts differ in length");
    if (which.size() != X.ncol()) Rcpp::stop("which needs one fit per column of X");
    const int n = X.nrow();
    Rcpp::NumericMatrix out(n, X.ncol());
    for (int c = 0; c < X.ncol(); ++c) {
        glue::check_stop();
        const int f = which[c];
        if (f == NA_INTEGER || f < 1 || f > nfit) Rcpp::stop("which[%d] is not a fit", c + 1);
        const int ctx = context[f - 1];
        if (ctx != NA_INTEGER && (ctx < 1 || ctx > nctx)) Rcpp::stop("context of fit %d is out of range", f);
        bulkcausal::PsBasis b;
        if (ctx != NA_INTEGER) {
            b.k = k;
            b.t0 = t0[ctx - 1];
            b.dx = dx[ctx - 1];
            b.lo = lo[ctx - 1];
            b.hi = hi[ctx - 1];
        }
        const double* cf = &coef[static_cast<R_xlen_t>(f - 1) * k];
        for (int i = 0; i < n; ++i) {
            const double v = ctx == NA_INTEGER ? NAN : bulkcausal::curve_value(b, cf, mean_y[f - 1], X(i, c));
            out(i, c) = std::isnan(v) ? NA_REAL : v;
        }
    }
    return out;
}

// curve_distance() of each column of G against H, with regulator values X
// and target values Y (all n x m).
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector curve_distances_cpp(Rcpp::NumericMatrix G, Rcpp::NumericMatrix X, Rcpp::NumericMatrix Y,
                                        Rcpp::NumericMatrix H, double plo, double phi) {
    const int n = G.nrow(), m = G.ncol();
    if (X.nrow() != n || Y.nrow() != n || H.nrow() != n || X.ncol() != m || Y.ncol() != m || H.ncol() != m) {
        Rcpp::stop("G, X, Y and H must have the same dimensions");
    }
    if (!(plo >= 0.0 && plo <= phi && phi <= 1.0)) Rcpp::stop("need 0 <= plo <= phi <= 1");
    Rcpp::NumericVector out(m);
    for (int c = 0; c < m; ++c) {
        glue::check_stop();
        const auto off = static_cast<R_xlen_t>(c) * n;
        const double d = bulkcausal::curve_distance(&G[off], &X[off], &Y[off], &H[off], static_cast<std::size_t>(n),
                                                    plo, phi);
        out[c] = std::isnan(d) ? NA_REAL : d;
    }
    return out;
}

// gap_ftest() of each column of R (target minus reference curve) against
// the regulator values in the same column of X (both n x m), basis k; with
// `seeds` (one per column) the wild bootstrap p-value, column c drawing
// from its own stream of seeds[c].
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector gap_ftests_cpp(Rcpp::NumericMatrix X, Rcpp::NumericMatrix R, int k,
                                   Rcpp::Nullable<Rcpp::NumericVector> seeds = R_NilValue) {
    const int n = X.nrow(), m = X.ncol();
    if (R.nrow() != n || R.ncol() != m) Rcpp::stop("X and R must have the same dimensions");
    if (k < 4) Rcpp::stop("k must be at least 4");
    Rcpp::NumericVector sd;
    if (seeds.isNotNull()) {
        sd = Rcpp::NumericVector(seeds);
        if (sd.size() != m) Rcpp::stop("seeds needs one value per column");
    }
    const bulkcausal::PairOptions opt;
    Rcpp::NumericVector out(m);
    for (int c = 0; c < m; ++c) {
        glue::check_stop();
        const auto off = static_cast<R_xlen_t>(c) * n;
        double p = NAN;
        try {
            if (sd.size() > 0) {
                bulkcausal::Rng rng(glue::as_seed(sd[c]), 0x6A9Fu, 0);
                p = bulkcausal::gap_ftest(&X[off], &R[off], static_cast<std::size_t>(n), k, &rng, opt);
            } else {
                p = bulkcausal::gap_ftest(&X[off], &R[off], static_cast<std::size_t>(n), k);
            }
        } catch (const std::exception& e) {
            Rcpp::stop("column %d: %s", c + 1, e.what());
        }
        out[c] = std::isnan(p) ? NA_REAL : p;
    }
    return out;
}
