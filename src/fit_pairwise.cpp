// Glue for fitPairwise: a dense cells x genes matrix and 0-based pair
// indices in, per-pair columns and the spline contexts out.
#include "glue.h"

#include "bulkcausal/pairwise.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

// [[Rcpp::export(rng = false)]]
Rcpp::List fit_pairwise_cpp(Rcpp::NumericMatrix data, Rcpp::IntegerVector gene_id, Rcpp::IntegerVector regulator,
                            Rcpp::IntegerVector target, int k,
                            std::string method, int nboot, double level, double seed, int nthreads, bool verbose,
                            std::string test = "F", int test_draws = 399,
                            Rcpp::Nullable<Rcpp::NumericMatrix> target_data = R_NilValue,
                            Rcpp::Nullable<Rcpp::List> count_data = R_NilValue, double lambda_scale = 1.0) {
    if (gene_id.size() != data.ncol()) Rcpp::stop("gene_id must have one entry per column of data");
    bulkcausal::PairData d{data.begin(), static_cast<std::size_t>(data.nrow()), static_cast<std::size_t>(data.ncol()),
                           gene_id.begin()};
    Rcpp::NumericMatrix ydata;
    if (target_data.isNotNull()) {
        ydata = Rcpp::NumericMatrix(target_data);
        if (ydata.nrow() != data.nrow() || ydata.ncol() != data.ncol()) {
            Rcpp::stop("target_data must have the dimensions of data");
        }
        d.y = ydata.begin();
    }
    // Count data: list(counts, size, dispersion, prior.grid, prior.weight),
    // counts laid out like data, the priors G x genes.
    Rcpp::NumericMatrix craw, pgrid, pweight;
    Rcpp::NumericVector csize;
    if (count_data.isNotNull()) {
        const Rcpp::List cd(count_data);
        craw = Rcpp::NumericMatrix(cd["counts"]);
        csize = Rcpp::NumericVector(cd["size"]);
        pgrid = Rcpp::NumericMatrix(cd["prior.grid"]);
        pweight = Rcpp::NumericMatrix(cd["prior.weight"]);
        const double disp = Rcpp::as<double>(cd["dispersion"]);
        if (craw.nrow() != data.nrow() || craw.ncol() != data.ncol()) Rcpp::stop("counts must have the dimensions of data");
        const R_xlen_t nn = data.nrow();
        if (csize.size() != nn && csize.size() != nn * data.ncol()) {
            Rcpp::stop("size must have one entry per row of data, or one per entry");
        }
        d.size_stride = csize.size() == nn ? 0 : static_cast<std::size_t>(nn);
        if (pgrid.ncol() != data.ncol() || pweight.nrow() != pgrid.nrow() || pweight.ncol() != pgrid.ncol() ||
            pgrid.nrow() < 1) {
            Rcpp::stop("the rate priors must have one column per column of data");
        }
        if (!(disp >= 0.0) || !std::isfinite(disp)) Rcpp::stop("dispersion must be finite and >= 0");
        try {
            for (int g = 0; g < craw.ncol(); ++g) {
                bulkcausal::check_counts(craw.begin() + static_cast<std::size_t>(g) * craw.nrow(),
                                         csize.begin() + static_cast<std::size_t>(g) * d.size_stride,
                                         static_cast<std::size_t>(craw.nrow()));
            }
        } catch (const std::invalid_argument& e) {
            Rcpp::stop(e.what());
        }
        d.counts = craw.begin();
        d.size = csize.begin();
        d.dispersion = disp;
        d.prior_grid = pgrid.begin();
        d.prior_weight = pweight.begin();
        d.prior_size = static_cast<std::size_t>(pgrid.nrow());
    }
    bulkcausal::PairOptions opt;
    opt.k = k;
    opt.method = method == "GCV" ? bulkcausal::SmoothMethod::GCV : bulkcausal::SmoothMethod::REML;
    opt.nboot = nboot;
    opt.level = level;
    opt.seed = glue::as_seed(seed);
    opt.test = test == "wild" ? bulkcausal::NonlinearTest::Wild : bulkcausal::NonlinearTest::F;
    if (test_draws < 1) Rcpp::stop("test_draws must be positive");
    opt.test_draws = test_draws;
    if (!(lambda_scale > 0.0) || !std::isfinite(lambda_scale)) Rcpp::stop("lambda_scale must be positive and finite");
    opt.lambda_scale = lambda_scale;
    const std::vector<int> reg(regulator.begin(), regulator.end());
    const std::vector<int> tgt(target.begin(), target.end());
    bulkcausal::PairResults res =
        bulkcausal::fit_pairs(d, reg, tgt, opt, nthreads, glue::make_poll(verbose, "fitting pairs"));

    const R_xlen_t np = static_cast<R_xlen_t>(reg.size());
    Rcpp::IntegerVector n(np), status(np), context(np);
    Rcpp::NumericVector edf(np), lambda(np), r2l(np), r2s(np), nl(np), pnl(np), slope(np), icpt(np), sigma(np),
        lower(np), upper(np), mean_y(np);
    Rcpp::NumericMatrix coef(k, static_cast<int>(np)), dmat(k, static_cast<int>(np));
    std::fill(coef.begin(), coef.end(), NA_REAL);
    std::fill(dmat.begin(), dmat.end(), NA_REAL);
    auto na = [](double v) { return std::isnan(v) ? NA_REAL : v; };
    for (R_xlen_t i = 0; i < np; ++i) {
        const auto& f = res.fits[static_cast<std::size_t>(i)];
        n[i] = f.n;
        status[i] = static_cast<int>(f.status);
        context[i] = res.context[static_cast<std::size_t>(i)] < 0 ? NA_INTEGER : res.context[static_cast<std::size_t>(i)] + 1;
        edf[i] = na(f.edf);
        lambda[i] = na(f.lambda);
        r2l[i] = na(f.r2_linear);
        r2s[i] = na(f.r2_spline);
        nl[i] = na(f.nl);
        pnl[i] = na(f.p_nonlinear);
        slope[i] = na(f.slope);
        icpt[i] = na(f.intercept);
        sigma[i] = na(f.sigma);
        lower[i] = na(f.nl_lower);
        upper[i] = na(f.nl_upper);
        mean_y[i] = na(f.mean_y);
        if (!f.coef.empty()) {
            std::copy(f.coef.begin(), f.coef.end(), coef.begin() + i * k);
            std::copy(f.d.begin(), f.d.end(), dmat.begin() + i * k);
        }
    }
    const int nctx = static_cast<int>(res.contexts.size());
    Rcpp::NumericVector t0(nctx), dx(nctx), lo(nctx), hi(nctx);
    Rcpp::NumericVector V(Rcpp::no_init(static_cast<R_xlen_t>(k) * k * nctx));
    Rcpp::IntegerMatrix support(k - 3, nctx);
    for (int c = 0; c < nctx; ++c) {
        auto& r = res.contexts[static_cast<std::size_t>(c)];
        t0[c] = r->basis.t0;
        dx[c] = r->basis.dx;
        lo[c] = r->basis.lo;
        hi[c] = r->basis.hi;
        std::copy(r->V.data(), r->V.data() + k * k, V.begin() + static_cast<R_xlen_t>(c) * k * k);
        if (r->support.size() == static_cast<std::size_t>(k - 3)) {
            std::copy(r->support.begin(), r->support.end(), support.begin() + static_cast<R_xlen_t>(c) * (k - 3));
        }
        r.reset();  // copied: free it now rather than hold two copies to the end
#ifdef __GLIBC__
        // freed blocks stay with the process unless handed back: without
        // this the core's copies (thousands of pair contexts with missing
        // values) and R's would both be resident at the end of the loop
        if ((c + 1) % 512 == 0) malloc_trim(0);
#endif
    }
    V.attr("dim") = Rcpp::IntegerVector::create(k, k, nctx);
    return Rcpp::List::create(
        Rcpp::Named("n") = n, Rcpp::Named("status") = status, Rcpp::Named("edf") = edf,
        Rcpp::Named("lambda") = lambda, Rcpp::Named("r2.linear") = r2l, Rcpp::Named("r2.spline") = r2s,
        Rcpp::Named("nl") = nl, Rcpp::Named("p.nonlinear") = pnl, Rcpp::Named("slope") = slope,
        Rcpp::Named("intercept") = icpt, Rcpp::Named("sigma") = sigma, Rcpp::Named("nl.lower") = lower,
        Rcpp::Named("nl.upper") = upper, Rcpp::Named("mean.y") = mean_y, Rcpp::Named("context") = context,
        Rcpp::Named("coef") = coef, Rcpp::Named("d") = dmat,
        Rcpp::Named("contexts") = Rcpp::List::create(Rcpp::Named("t0") = t0, Rcpp::Named("dx") = dx,
                                                     Rcpp::Named("lo") = lo, Rcpp::Named("hi") = hi,
                                                     Rcpp::Named("V") = V, Rcpp::Named("count") = support));
}

// The k cubic B-spline basis values at x (rows) for knots t0 + j dx.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix pspline_basis_cpp(Rcpp::NumericVector x, double t0, double dx, int k) {
    bulkcausal::PsBasis b;
    b.k = k;
    b.t0 = t0;
    b.dx = dx;
    Rcpp::NumericMatrix out(static_cast<int>(x.size()), k);
    double v[4];
    for (R_xlen_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i])) {
            for (int j = 0; j < k; ++j) out(static_cast<int>(i), j) = NA_REAL;
            continue;
        }
        const int j0 = b.eval(x[i], v);
        for (int a = 0; a < 4; ++a) out(static_cast<int>(i), j0 + a) = v[a];
    }
    return out;
}
