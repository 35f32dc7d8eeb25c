// Glue for the count-aware fits: per gene (column) of a counts matrix, the
// empirical-Bayes posterior mean rates and the reliability.
#include "glue.h"

#include "bulkcausal/counts.hpp"
#include "bulkcausal/ratetest.hpp"

// Size factors are one per observation (length n: stride 0) or one per
// observation and gene (n x ngenes: stride n).
static std::size_t glue_size_stride(const Rcpp::NumericVector& size, std::size_t n, std::size_t ngenes) {
    const auto len = static_cast<std::size_t>(size.size());
    if (len == n) return 0;
    if (len == n * ngenes) return n;
    Rcpp::stop("size must have one entry per row of counts, or one per entry");
}

// need: per gene, whether its rates are wanted (the regulators'); the
// others get their normalised counts, a prior of weight 0 and their
// reliability.  prior_grid, prior_weight (grid_size x genes): given priors,
// used instead of fitting them (e.g. a resample of data whose prior is
// known), or refined when refine > 0 (refine_rate_prior; refine: EM steps
// at most when df = 0).  df: B-spline coefficients of the log prior
// (CountModel::df; 0: free weights by EM).
// [[Rcpp::export(rng = false)]]
Rcpp::List count_rates_cpp(Rcpp::NumericMatrix counts, Rcpp::NumericVector size, double dispersion, int grid_size,
                           int nthreads, bool verbose, Rcpp::Nullable<Rcpp::LogicalVector> need = R_NilValue,
                           Rcpp::Nullable<Rcpp::NumericMatrix> prior_grid = R_NilValue,
                           Rcpp::Nullable<Rcpp::NumericMatrix> prior_weight = R_NilValue, int refine = 0,
                           int df = 7) {
    const auto n = static_cast<std::size_t>(counts.nrow());
    const auto ngenes = static_cast<std::size_t>(counts.ncol());
    const std::size_t stride = glue_size_stride(size, n, ngenes);
    if (!(dispersion >= 0.0) || !std::isfinite(dispersion)) Rcpp::stop("dispersion must be finite and >= 0");
    if (grid_size < 2) Rcpp::stop("grid_size must be at least 2");
    if (df != 0 && df < 4) Rcpp::stop("df must be 0 or at least 4");
    Rcpp::NumericMatrix rate(Rcpp::no_init(static_cast<int>(n), static_cast<int>(ngenes)));
    Rcpp::NumericVector rel(static_cast<R_xlen_t>(ngenes));
    Rcpp::IntegerVector iters(static_cast<R_xlen_t>(ngenes));
    Rcpp::NumericMatrix pgrid(grid_size, static_cast<int>(ngenes)), pweight(grid_size, static_cast<int>(ngenes));
    bulkcausal::CountModel cm;
    cm.dispersion = dispersion;
    cm.grid_size = grid_size;
    cm.df = df;
    const double* cx = counts.begin();
    const double* s = size.begin();
    try {
        for (std::size_t g = 0; g < ngenes; ++g) bulkcausal::check_counts(cx + g * n, s + g * stride, n);
    } catch (const std::invalid_argument& e) {
        Rcpp::stop(e.what());
    }
    std::vector<int> want(ngenes, 1);
    if (need.isNotNull()) {
        const Rcpp::LogicalVector nd(need);
        if (static_cast<std::size_t>(nd.size()) != ngenes) Rcpp::stop("need must have one entry per column");
        for (std::size_t g = 0; g < ngenes; ++g) want[g] = nd[static_cast<R_xlen_t>(g)] == TRUE;
    }
    Rcpp::NumericMatrix given_grid, given_weight;
    const bool given = prior_grid.isNotNull();
    if (given) {
        given_grid = Rcpp::NumericMatrix(prior_grid);
        given_weight = Rcpp::NumericMatrix(prior_weight);
        if (given_grid.nrow() != grid_size || given_grid.ncol() != static_cast<int>(ngenes) ||
            given_weight.nrow() != grid_size || given_weight.ncol() != static_cast<int>(ngenes)) {
            Rcpp::stop("given priors must be grid_size x genes");
        }
    }
    double* out = rate.begin();
    double* relp = rel.begin();
    int* itp = iters.begin();
    double* gridp = pgrid.begin();
    double* weightp = pweight.begin();
    bulkcausal::run_tasks(ngenes, nthreads, [&](std::size_t g, int) {
        const double* c = cx + g * n;
        const double* sg = s + g * stride;
        relp[g] = bulkcausal::reliability(c, sg, n, dispersion);
        if (!want[g]) {
            for (std::size_t i = 0; i < n; ++i) out[g * n + i] = c[i] / sg[i];
            std::fill(gridp + g * static_cast<std::size_t>(grid_size), gridp + (g + 1) * static_cast<std::size_t>(grid_size), 0.0);
            std::fill(weightp + g * static_cast<std::size_t>(grid_size),
                      weightp + (g + 1) * static_cast<std::size_t>(grid_size), 0.0);
            itp[g] = 0;
            return;
        }
        bulkcausal::RatePrior prior;
        if (given) {
            const std::size_t G = static_cast<std::size_t>(grid_size);
            prior.grid.assign(given_grid.begin() + g * G, given_grid.begin() + (g + 1) * G);
            prior.weight.assign(given_weight.begin() + g * G, given_weight.begin() + (g + 1) * G);
            if (refine > 0) {
                bulkcausal::CountModel rm = cm;
                rm.max_iter = refine;
                prior = bulkcausal::refine_rate_prior(prior, c, sg, n, rm);
            }
        } else {
            prior = bulkcausal::fit_rate_prior(c, sg, n, cm);
        }
        bulkcausal::posterior_mean(prior, c, sg, n, dispersion, out + g * n);
        itp[g] = prior.iterations;
        // The prior padded to grid_size points (a gene without counts has
        // one point, rate 0; padding has weight 0).
        for (std::size_t j = 0; j < static_cast<std::size_t>(grid_size); ++j) {
            const bool in = j < prior.grid.size();
            gridp[g * static_cast<std::size_t>(grid_size) + j] = in ? prior.grid[j] : 0.0;
            weightp[g * static_cast<std::size_t>(grid_size) + j] = in ? prior.weight[j] : 0.0;
        }
    }, glue::make_poll(verbose, "estimating rates"));
    for (R_xlen_t g = 0; g < rel.size(); ++g) {
        if (std::isnan(rel[g])) rel[g] = NA_REAL;
    }
    return Rcpp::List::create(Rcpp::Named("rate") = rate, Rcpp::Named("reliability") = rel,
                              Rcpp::Named("iterations") = iters, Rcpp::Named("prior.grid") = pgrid,
                              Rcpp::Named("prior.weight") = pweight);
}

// The rate-scale test of linearity (ratetest.hpp) for pairs of columns:
// regulators' counts in `counts`, targets' values in `y` (observations x
// genes, the same columns), 0-based pair indices.
// [[Rcpp::export(rng = false)]]
Rcpp::List rate_test_cpp(Rcpp::NumericMatrix counts, Rcpp::NumericMatrix y, Rcpp::NumericVector size,
                         Rcpp::IntegerVector gene_id, Rcpp::IntegerVector regulator, Rcpp::IntegerVector target,
                         double dispersion, int k, double seed, int nthreads, bool verbose) {
    const auto n = static_cast<std::size_t>(counts.nrow());
    const auto ngenes = static_cast<std::size_t>(counts.ncol());
    if (y.nrow() != counts.nrow() || y.ncol() != counts.ncol()) Rcpp::stop("y must have the dimensions of counts");
    const std::size_t stride = glue_size_stride(size, n, ngenes);
    if (static_cast<std::size_t>(gene_id.size()) != ngenes) Rcpp::stop("gene_id must have one entry per column");
    if (regulator.size() != target.size()) Rcpp::stop("regulator and target differ in length");
    if (!(dispersion >= 0.0) || !std::isfinite(dispersion)) Rcpp::stop("dispersion must be finite and >= 0");
    if (k < 4 || k > 100) Rcpp::stop("k must be from 4 to 100");
    try {
        for (std::size_t g = 0; g < ngenes; ++g) {
            bulkcausal::check_counts(counts.begin() + g * n, size.begin() + g * stride, n);
        }
    } catch (const std::invalid_argument& e) {
        Rcpp::stop(e.what());
    }
    bulkcausal::RateTestOptions opt;
    opt.k = k;
    opt.dispersion = dispersion;
    opt.seed = glue::as_seed(seed);
    const std::vector<int> reg(regulator.begin(), regulator.end());
    const std::vector<int> tgt(target.begin(), target.end());
    bulkcausal::RatePairs res;
    try {
        res = bulkcausal::rate_test_pairs(counts.begin(), y.begin(), size.begin(), stride, n, ngenes, gene_id.begin(),
                                          reg, tgt, opt, nthreads, glue::make_poll(verbose, "testing pairs on the rate scale"));
    } catch (const std::out_of_range& e) {
        Rcpp::stop(e.what());
    }
    const R_xlen_t np = regulator.size();
    Rcpp::NumericVector p(np), stat(np), slope(np);
    Rcpp::IntegerVector draws(np);
    auto na = [](double v) { return std::isnan(v) ? NA_REAL : v; };
    for (R_xlen_t i = 0; i < np; ++i) {
        const auto& r = res.res[static_cast<std::size_t>(i)];
        p[i] = na(r.p);
        stat[i] = na(r.statistic);
        slope[i] = na(r.slope);
        draws[i] = r.draws;
    }
    return Rcpp::List::create(Rcpp::Named("p") = p, Rcpp::Named("statistic") = stat, Rcpp::Named("slope") = slope,
                              Rcpp::Named("draws") = draws);
}
