// Glue for the count-aware fits: per gene (column) of a counts matrix, the
// empirical-Bayes posterior mean rates and the reliability.
#include "glue.h"

#include "bulkcausal/counts.hpp"

// [[Rcpp::export(rng = false)]]
Rcpp::List count_rates_cpp(Rcpp::NumericMatrix counts, Rcpp::NumericVector size, double dispersion, int grid_size,
                           int nthreads, bool verbose) {
    const auto n = static_cast<std::size_t>(counts.nrow());
    const auto ngenes = static_cast<std::size_t>(counts.ncol());
    if (static_cast<std::size_t>(size.size()) != n) Rcpp::stop("size must have one entry per row of counts");
    if (!(dispersion >= 0.0) || !std::isfinite(dispersion)) Rcpp::stop("dispersion must be finite and >= 0");
    if (grid_size < 2) Rcpp::stop("grid_size must be at least 2");
    Rcpp::NumericMatrix rate(Rcpp::no_init(static_cast<int>(n), static_cast<int>(ngenes)));
    Rcpp::NumericVector rel(static_cast<R_xlen_t>(ngenes));
    Rcpp::IntegerVector iters(static_cast<R_xlen_t>(ngenes));
    bulkcausal::CountModel cm;
    cm.dispersion = dispersion;
    cm.grid_size = grid_size;
    const double* cx = counts.begin();
    const double* s = size.begin();
    try {
        for (std::size_t g = 0; g < ngenes; ++g) bulkcausal::check_counts(cx + g * n, s, n);
    } catch (const std::invalid_argument& e) {
        Rcpp::stop(e.what());
    }
    double* out = rate.begin();
    double* relp = rel.begin();
    int* itp = iters.begin();
    bulkcausal::run_tasks(ngenes, nthreads, [&](std::size_t g, int) {
        const double* c = cx + g * n;
        const bulkcausal::RatePrior prior = bulkcausal::fit_rate_prior(c, s, n, cm);
        bulkcausal::posterior_mean(prior, c, s, n, dispersion, out + g * n);
        relp[g] = bulkcausal::reliability(c, s, n, dispersion);
        itp[g] = prior.iterations;
    }, glue::make_poll(verbose, "estimating rates"));
    for (R_xlen_t g = 0; g < rel.size(); ++g) {
        if (std::isnan(rel[g])) rel[g] = NA_REAL;
    }
    return Rcpp::List::create(Rcpp::Named("rate") = rate, Rcpp::Named("reliability") = rel,
                              Rcpp::Named("iterations") = iters);
}
