// Glue for ciTest: the Fisher z test of a partial correlation from a
// correlation matrix, the spline test from the data, and d-separation.
#include "glue.h"

#include "bulkcausal/citest.hpp"
#include "bulkcausal/splineci.hpp"

// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector fisher_test_cpp(Rcpp::NumericMatrix C, double n, int x, int y, Rcpp::IntegerVector z) {
    const Eigen::Map<const Eigen::MatrixXd> cm(C.begin(), C.nrow(), C.ncol());
    const std::vector<int> zz(z.begin(), z.end());
    const double r = bulkcausal::partial_correlation(cm, x, y, zz);
    double p = NA_REAL;
    try {
        p = bulkcausal::fisher_z_pvalue(r, static_cast<std::size_t>(n), zz.size());
    } catch (const std::invalid_argument&) {
        Rcpp::stop("the Fisher z test needs more observations than the conditioning set size + 3 (n = %.0f, |z| = %d)",
                   n, static_cast<int>(zz.size()));
    }
    return Rcpp::NumericVector::create(Rcpp::Named("r") = r, Rcpp::Named("p.value") = p);
}

// Fisher z p-values of many statements (0-based x, y and conditioning
// sets) from one correlation matrix.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector fisher_tests_cpp(Rcpp::NumericMatrix C, double n, Rcpp::IntegerVector x, Rcpp::IntegerVector y,
                                     Rcpp::List z) {
    const Eigen::Map<const Eigen::MatrixXd> cm(C.begin(), C.nrow(), C.ncol());
    Rcpp::NumericVector out(x.size());
    for (R_xlen_t i = 0; i < x.size(); ++i) {
        Rcpp::IntegerVector zi = z[i];
        const std::vector<int> zz(zi.begin(), zi.end());
        const double r = bulkcausal::partial_correlation(cm, x[i], y[i], zz);
        try {
            out[i] = bulkcausal::fisher_z_pvalue(r, static_cast<std::size_t>(n), zz.size());
        } catch (const std::invalid_argument&) {
            Rcpp::stop("the Fisher z test needs more observations than the conditioning set size + 3 (n = %.0f, |z| = %d)",
                       n, static_cast<int>(zz.size()));
        }
    }
    return out;
}

// Spline-test p-values of many statements (0-based x, y and conditioning
// sets) on the data (observations x variables).
// [[Rcpp::export(rng = false)]]
Rcpp::List spline_tests_cpp(Rcpp::NumericMatrix data, Rcpp::IntegerVector x, Rcpp::IntegerVector y, Rcpp::List z,
                            int k, double max_n, int nperm, double seed, int nthreads, bool verbose,
                            Rcpp::Nullable<Rcpp::IntegerVector> key_id = R_NilValue) {
    bulkcausal::SplineCIOptions opt;
    if (key_id.isNotNull()) {
        Rcpp::IntegerVector ids(key_id);
        opt.key_id.assign(ids.begin(), ids.end());
    }
    opt.k = k;
    opt.max_n = static_cast<std::size_t>(max_n);
    opt.nperm = nperm;
    opt.seed = glue::as_seed(seed);
    std::vector<bulkcausal::CIQuery> q(static_cast<std::size_t>(x.size()));
    for (R_xlen_t i = 0; i < x.size(); ++i) {
        Rcpp::IntegerVector zi = z[i];
        q[static_cast<std::size_t>(i)] = bulkcausal::CIQuery{x[i], y[i], std::vector<int>(zi.begin(), zi.end())};
    }
    // Kernel buffers kept between calls (one per thread: two triangles of
    // n(n - 1)/2 single-precision floats, n at most max_n, 16 MB at 2000), so
    // that the many single-statement calls pcalg::pc makes do not allocate
    // them afresh each time.
    static std::vector<bulkcausal::HsicScratch> scratch;
    const auto res = bulkcausal::spline_ci_tests(data.begin(), static_cast<std::size_t>(data.nrow()),
                                                 static_cast<std::size_t>(data.ncol()), q, opt, nthreads, scratch,
                                                 glue::make_poll(verbose, "spline CI tests"));
    Rcpp::NumericVector stat(x.size()), p(x.size()), ntest(x.size());
    for (R_xlen_t i = 0; i < x.size(); ++i) {
        const auto& r = res[static_cast<std::size_t>(i)];
        stat[i] = r.statistic;
        p[i] = r.p_value;
        ntest[i] = static_cast<double>(r.n_test);
    }
    return Rcpp::List::create(Rcpp::Named("statistic") = stat, Rcpp::Named("p.value") = p,
                              Rcpp::Named("n.test") = ntest);
}

// HSIC test of two samples (the residual-independence part of
// functionalConsistency).
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector hsic_test_cpp(Rcpp::NumericVector x, Rcpp::NumericVector y, int nperm, double seed) {
    bulkcausal::Rng rng(glue::as_seed(seed), 0x4851);
    const auto h = bulkcausal::hsic_test(std::vector<double>(x.begin(), x.end()),
                                         std::vector<double>(y.begin(), y.end()), nperm, rng);
    return Rcpp::NumericVector::create(Rcpp::Named("statistic") = h.statistic, Rcpp::Named("mean0") = h.mean0,
                                       Rcpp::Named("var0") = h.var0, Rcpp::Named("p.value") = h.p_value);
}

// HSIC of x and r against null draws (columns of `draws`), sequential
// p-value stopping at `hits` exceedances.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector hsic_draws_test_cpp(Rcpp::NumericVector x, Rcpp::NumericVector r, Rcpp::NumericMatrix draws,
                                        int hits) {
    if (draws.nrow() != x.size() || r.size() != x.size()) Rcpp::stop("x, r and the rows of draws differ in length");
    glue::check_stop();
    bulkcausal::HsicScratch scratch;
    bulkcausal::HsicResult h;
    try {
        h = bulkcausal::hsic_draws_test(std::vector<double>(x.begin(), x.end()), std::vector<double>(r.begin(), r.end()),
                                        draws.begin(), draws.ncol(), hits, scratch);
    } catch (const std::invalid_argument& e) {
        Rcpp::stop(e.what());
    }
    return Rcpp::NumericVector::create(Rcpp::Named("statistic") = h.statistic, Rcpp::Named("mean0") = h.mean0,
                                       Rcpp::Named("var0") = h.var0, Rcpp::Named("p.value") = h.p_value);
}

namespace {

// Parent lists of the DAG with 1-based edges from -> to.
bulkcausal::ParentLists parents_1based(int p, const Rcpp::IntegerVector& from, const Rcpp::IntegerVector& to) {
    std::vector<int> f(from.begin(), from.end()), t(to.begin(), to.end());
    for (auto& v : f) --v;
    for (auto& v : t) --v;
    return bulkcausal::parent_lists(p, f, t);
}

}  // namespace

// Every CI statement (x < y, |S| <= max_cond) of the DAG with edges
// from -> to (1-based), with its d-separation truth; 1-based out.
// [[Rcpp::export(rng = false)]]
Rcpp::List dsep_statements_cpp(int p, Rcpp::IntegerVector from, Rcpp::IntegerVector to, int max_cond, double limit) {
    const auto par = parents_1based(p, from, to);
    const double total = static_cast<double>(bulkcausal::count_statements(p, max_cond));
    if (total > limit) {
        Rcpp::stop("%d genes and conditioning sets up to size %d give %.0f statements, more than `limit` = %.0f; "
                   "raise `limit` or lower `max.cond`", p, max_cond, total, limit);
    }
    const auto st = bulkcausal::enumerate_statements(par, max_cond, static_cast<std::uint64_t>(limit));
    const auto n = static_cast<R_xlen_t>(st.size());
    Rcpp::IntegerVector x(n), y(n);
    Rcpp::LogicalVector sep(n);
    Rcpp::List z(n);
    for (R_xlen_t i = 0; i < n; ++i) {
        const auto& s = st[static_cast<std::size_t>(i)];
        x[i] = s.x + 1;
        y[i] = s.y + 1;
        sep[i] = s.separated;
        Rcpp::IntegerVector zi(s.z.begin(), s.z.end());
        for (auto& v : zi) ++v;
        z[i] = zi;
    }
    return Rcpp::List::create(Rcpp::Named("x") = x, Rcpp::Named("y") = y, Rcpp::Named("z") = z,
                              Rcpp::Named("separated") = sep);
}

// d-separation of single statements (1-based nodes).
// [[Rcpp::export(rng = false)]]
Rcpp::LogicalVector dsep_cpp(int p, Rcpp::IntegerVector from, Rcpp::IntegerVector to, Rcpp::IntegerVector x,
                             Rcpp::IntegerVector y, Rcpp::List z) {
    const auto par = parents_1based(p, from, to);
    Rcpp::LogicalVector out(x.size());
    for (R_xlen_t i = 0; i < x.size(); ++i) {
        Rcpp::IntegerVector zi = z[i];
        std::vector<int> zz(zi.begin(), zi.end());
        for (auto& v : zz) --v;
        out[i] = bulkcausal::d_separated(par, x[i] - 1, y[i] - 1, zz);
    }
    return out;
}
