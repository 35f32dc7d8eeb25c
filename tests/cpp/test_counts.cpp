#include <catch2/catch.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "bulkcausal/counts.hpp"
#include "bulkcausal/distributions.hpp"
#include "bulkcausal/pairwise.hpp"
#include "bulkcausal/rng.hpp"
#include "helpers.hpp"

using namespace bulkcausal;

namespace {

// Full log probability mass functions, constants included.
double log_pois(double c, double mu) {
    if (mu == 0.0) return c == 0.0 ? 0.0 : -INFINITY;
    return c * std::log(mu) - mu - std::lgamma(c + 1.0);
}
double log_nb(double c, double mu, double disp) {
    const double r = 1.0 / disp;
    if (mu == 0.0) return c == 0.0 ? 0.0 : -INFINITY;
    return std::lgamma(c + r) - std::lgamma(r) - std::lgamma(c + 1.0) + r * std::log(r / (r + mu)) +
           c * std::log(mu / (r + mu));
}

}  // namespace

TEST_CASE("posterior means equal Bayes' rule with the full Poisson and NB mass functions", "[counts]") {
    RatePrior prior;
    prior.grid = {0.0, 0.3, 1.1, 2.5, 7.0};
    prior.weight = {0.1, 0.2, 0.3, 0.25, 0.15};
    const std::vector<double> c = {0, 1, 2, 5, 12, 0, 3};
    const std::vector<double> s = {1.0, 0.4, 2.2, 1.3, 3.0, 0.1, 0.9};
    for (double disp : {0.0, 0.5}) {
        std::vector<double> pm(c.size());
        posterior_mean(prior, c.data(), s.data(), c.size(), disp, pm.data());
        for (std::size_t i = 0; i < c.size(); ++i) {
            double num = 0.0, den = 0.0;
            for (std::size_t g = 0; g < prior.grid.size(); ++g) {
                const double mu = s[i] * prior.grid[g];
                const double p = prior.weight[g] * std::exp(disp > 0.0 ? log_nb(c[i], mu, disp) : log_pois(c[i], mu));
                num += p * prior.grid[g];
                den += p;
            }
            CHECK(pm[i] == Approx(num / den).epsilon(1e-12));
        }
    }
}

TEST_CASE("the grid prior recovers the Gamma-Poisson posterior mean and EM never lowers the likelihood", "[counts]") {
    // Rates ~ Gamma(shape 3, rate 2), Poisson counts with size 1: the
    // posterior mean is (3 + c) / (2 + 1).
    Rng rng(11);
    const std::size_t n = 20000;
    std::vector<double> c(n), s(n, 1.0);
    for (std::size_t i = 0; i < n; ++i) c[i] = static_cast<double>(rng.poisson(rng.gamma(3.0) / 2.0));
    CountModel cm;
    const RatePrior prior = fit_rate_prior(c.data(), s.data(), n, cm);
    double total = 0.0;
    for (double w : prior.weight) total += w;
    CHECK(total == Approx(1.0).epsilon(1e-10));
    for (double cc : {0.0, 1.0, 2.0, 3.0, 5.0}) {
        double pm;
        posterior_mean(prior, &cc, s.data(), 1, 0.0, &pm);
        CHECK(pm == Approx((3.0 + cc) / 3.0).epsilon(0.04));
    }
    // One EM step at a time (free weights): the mean log-likelihood does
    // not fall.
    CountModel step = cm;
    step.df = 0;
    double last = -INFINITY;
    for (int it = 1; it <= 6; ++it) {
        step.max_iter = it;
        step.tol = -1.0;
        const RatePrior p = fit_rate_prior(c.data(), s.data(), 2000, step);
        CHECK(p.loglik >= last - 1e-12);
        last = p.loglik;
    }
}

TEST_CASE("reliability matches Var(rate) / Var(normalised counts) for Gamma rates", "[counts]") {
    // Rates Gamma(shape 2, rate 1): Var = 2, mean 2; size 0.5: noise var
    // E[lambda / s] = 4; reliability 2 / 6.  NB with dispersion 0.25 adds
    // 0.25 E[lambda^2] = 0.25 * 6 = 1.5: reliability 2 / 7.5.
    Rng rng(5);
    const std::size_t n = 200000;
    std::vector<double> cp(n), cn(n), s(n, 0.5);
    for (std::size_t i = 0; i < n; ++i) {
        const double lam = rng.gamma(2.0);
        cp[i] = static_cast<double>(rng.poisson(0.5 * lam));
        cn[i] = static_cast<double>(rng.negbin(0.5 * lam, 4.0));
    }
    CHECK(reliability(cp.data(), s.data(), n, 0.0) == Approx(2.0 / 6.0).margin(0.01));
    CHECK(reliability(cn.data(), s.data(), n, 0.25) == Approx(2.0 / 7.5).margin(0.01));
    std::vector<double> flat(10, 3.0), s10(10, 1.0);
    CHECK(std::isnan(reliability(flat.data(), s10.data(), 10, 0.0)));
}

TEST_CASE("count checks name the offending observation", "[counts]") {
    std::vector<double> c = {1, 2, 0.5}, s = {1, 1, 1};
    CHECK_THROWS_WITH(check_counts(c.data(), s.data(), 3), Catch::Contains("observation 3"));
    c = {1, -1, 0};
    CHECK_THROWS_AS(check_counts(c.data(), s.data(), 3), std::invalid_argument);
    c = {1, 1, 0};
    s = {1, 0, 1};
    CHECK_THROWS_WITH(check_counts(c.data(), s.data(), 3), Catch::Contains("size factor"));
    // A gene without counts: every rate 0.
    std::vector<double> z(5, 0.0), s5(5, 1.0), pm(5);
    const RatePrior p = fit_rate_prior(z.data(), s5.data(), 5, CountModel());
    posterior_mean(p, z.data(), s5.data(), 5, 0.0, pm.data());
    for (double v : pm) CHECK(v == 0.0);
}

TEST_CASE("the wild bootstrap p-value equals a dense refit of every signed draw", "[pspline][wild]") {
    // Heteroscedastic, skewed data; the reference redraws the same signs and
    // refits the affine model and the unpenalised spline by least squares.
    Rng rng(3);
    const std::size_t n = 150;
    std::vector<double> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = std::exp(0.6 * rng.normal());
        y[i] = 1.0 + 0.5 * x[i] + 0.15 * std::sin(4.0 * x[i]) + std::sqrt(x[i]) * rng.normal();
    }
    std::vector<int> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<int>(i);
    const auto reg = prepare_regulator(x.data(), rows, 8);
    PairOptions opt;
    opt.k = 8;
    opt.test = NonlinearTest::Wild;
    opt.test_draws = 99;
    opt.test_hits = 1000;  // no early stop: every draw is compared
    opt.tail_check = -1;
    Eigen::MatrixXd B(n, 8), A(n, 2);
    B.setZero();
    double v[4];
    for (std::size_t i = 0; i < n; ++i) {
        const int j0 = reg->basis.eval(x[i], v);
        for (int a = 0; a < 4; ++a) B(static_cast<Eigen::Index>(i), j0 + a) = v[a];
        A(static_cast<Eigen::Index>(i), 0) = 1.0;
        A(static_cast<Eigen::Index>(i), 1) = x[i];
    }
    auto rss = [](const Eigen::MatrixXd& X, const Eigen::VectorXd& t) {
        const Eigen::VectorXd c = X.colPivHouseholderQr().solve(t);
        return (t - X * c).squaredNorm();
    };
    Eigen::VectorXd yv = Eigen::Map<Eigen::VectorXd>(y.data(), static_cast<Eigen::Index>(n));
    const double df1 = reg->rank - 2, df2 = static_cast<double>(n) - reg->rank;
    auto Fstat = [&](const Eigen::VectorXd& t) {
        const double rl = rss(A, t), rf = rss(B, t);
        return (rl - rf) / df1 / (rf / df2);
    };
    const double F0 = Fstat(yv);
    const Eigen::VectorXd res = yv - A * A.colPivHouseholderQr().solve(yv);
    std::vector<double> resid(res.data(), res.data() + n);
    Rng r1(99), r2(99);
    const double p = wild_f_pvalue(*reg, resid, F0, df1, df2, opt, r1);
    double xbar = 0.0, sxx = 0.0;
    for (double xi : x) xbar += xi / static_cast<double>(n);
    for (double xi : x) sxx += (xi - xbar) * (xi - xbar);
    // Signs go to the observations in order of their first basis column
    // (ties in data order), the order the core's loop reads them in.
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return reg->first[a] < reg->first[b]; });
    int hits = 0;
    for (int b = 0; b < opt.test_draws; ++b) {
        Eigen::VectorXd t(n);
        std::uint64_t bits = 0;
        for (std::size_t pos = 0; pos < n; ++pos) {
            if (pos % 64 == 0) bits = r2.next();
            const double sg = (bits & 1u) ? -1.0 : 1.0;
            bits >>= 1;
            const std::size_t i = order[pos];
            const double h = 1.0 / static_cast<double>(n) + (x[i] - xbar) * (x[i] - xbar) / sxx;
            t[static_cast<Eigen::Index>(i)] = sg * resid[i] / std::sqrt(1.0 - h);
        }
        if (Fstat(t) >= F0) ++hits;
    }
    if (hits > 0) {
        CHECK(p == Approx((hits + 1.0) / (opt.test_draws + 1.0)).epsilon(1e-12));
    } else {
        CHECK(p <= 1.0 / (opt.test_draws + 1.0));
    }
}

TEST_CASE("the wild test holds its size where the F test does not: variance growing with the mean", "[pspline][wild]") {
    // y = 1 + x + noise with sd proportional to x, x log-normal: an affine
    // truth.  400 replicates; the F test is far above 0.05.
    const int reps = 400;
    const std::size_t n = 300;
    int rej_wild = 0, rej_f = 0;
    for (int r = 0; r < reps; ++r) {
        Rng rng(1000 + static_cast<std::uint64_t>(r));
        std::vector<double> x(n), y(n);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = std::exp(0.7 * rng.normal());
            y[i] = 1.0 + x[i] + 0.8 * x[i] * rng.normal();
        }
        std::vector<int> rows(n);
        for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<int>(i);
        const auto reg = prepare_regulator(x.data(), rows, 10);
        PairOptions opt;
        Rng unused(1);
        if (fit_target(*reg, y.data(), opt, unused).p_nonlinear < 0.05) ++rej_f;
        opt.test = NonlinearTest::Wild;
        Rng rr(7, static_cast<std::uint64_t>(r));
        if (fit_target(*reg, y.data(), opt, rr).p_nonlinear < 0.05) ++rej_wild;
    }
    const double se = std::sqrt(0.05 * 0.95 / reps);
    CHECK(static_cast<double>(rej_wild) / reps < 0.05 + 3.0 * se);
    CHECK(static_cast<double>(rej_wild) / reps > 0.05 - 3.0 * se);
    CHECK(static_cast<double>(rej_f) / reps > 0.10);
}

TEST_CASE("wild p-values and separate target data do not depend on the number of threads", "[pspline][wild]") {
    Rng rng(21);
    const std::size_t n = 400, p = 5;
    std::vector<double> xs(n * p), ys(n * p);
    for (std::size_t i = 0; i < n * p; ++i) {
        xs[i] = rng.uniform() * 3.0;
        ys[i] = xs[i] * xs[i] + rng.normal();
    }
    PairData d{xs.data(), n, p, nullptr};
    d.y = ys.data();
    std::vector<int> reg, tgt;
    for (int a = 0; a < 5; ++a)
        for (int b = 0; b < 5; ++b) {
            reg.push_back(a);
            tgt.push_back(b);
        }
    PairOptions opt;
    opt.test = NonlinearTest::Wild;
    const auto one = fit_pairs(d, reg, tgt, opt, 1);
    const auto two = fit_pairs(d, reg, tgt, opt, 2);
    for (std::size_t i = 0; i < reg.size(); ++i) {
        if (reg[i] == tgt[i]) continue;
        CHECK(one.fits[i].p_nonlinear == two.fits[i].p_nonlinear);
        CHECK(one.fits[i].slope == two.fits[i].slope);
    }
    // Targets come from d.y: pair (0, 1) equals a direct fit of y column 1
    // on x column 0.
    std::vector<int> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<int>(i);
    const auto r0 = prepare_regulator(xs.data(), rows, opt.k);
    Rng unused(1);
    PairOptions fopt;
    CHECK(fit_target(*r0, ys.data() + n, fopt, unused).slope == Approx(one.fits[1].slope).epsilon(1e-12));
    const std::size_t self = 2 * 5 + 2;
    CHECK(one.fits[self].status == PairStatus::SameGene);
}

TEST_CASE("the count-aware design reduces to the B-spline fit when every posterior is a point mass", "[counts][pspline]") {
    // Posterior of observation i all on its own value x_i, prior = the
    // empirical distribution of x: the posterior mean basis is B(x_i), and
    // nl over the prior equals nl over the observations.
    Rng rng(8);
    const std::size_t n = 300;
    std::vector<double> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = std::round(40.0 * rng.gamma(2.0)) / 10.0;  // ties: several observations per grid rate
        y[i] = 4.0 * x[i] * x[i] / (1.0 + x[i] * x[i]) + 0.3 * rng.normal();
    }
    std::vector<double> grid(x);
    std::sort(grid.begin(), grid.end());
    grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
    const std::size_t G = grid.size();
    std::vector<double> weight(G, 0.0), post(n * G, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const auto g = static_cast<std::size_t>(std::lower_bound(grid.begin(), grid.end(), x[i]) - grid.begin());
        weight[g] += 1.0 / static_cast<double>(n);
        post[i * G + g] = 1.0;
    }
    std::vector<int> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<int>(i);
    const auto plain = prepare_regulator(x.data(), rows, 10);
    const auto rates = prepare_regulator_rates(x.data(), rows, 10, post, grid, weight);
    PairOptions opt;
    Rng r1(1), r2(1);
    const PairFit a = fit_target(*plain, y.data(), opt, r1);
    const PairFit b = fit_target(*rates, y.data(), opt, r2);
    CHECK(b.lambda == Approx(a.lambda).epsilon(1e-6));
    CHECK(b.edf == Approx(a.edf).epsilon(1e-6));
    CHECK(b.nl == Approx(a.nl).epsilon(1e-6));
    CHECK(b.slope == Approx(a.slope).epsilon(1e-12));
    CHECK(b.p_nonlinear == Approx(a.p_nonlinear).epsilon(1e-6));
    for (std::size_t j = 0; j < a.coef.size(); ++j) CHECK(b.coef[j] == Approx(a.coef[j]).margin(1e-8));
}

TEST_CASE("refining a prior from a fitted one keeps its grid and does not lower the likelihood", "[counts]") {
    Rng rng(21);
    const std::size_t n = 3000;
    std::vector<double> c(n), s(n, 1.0);
    for (std::size_t i = 0; i < n; ++i) c[i] = static_cast<double>(rng.poisson(rng.gamma(2.0)));
    CountModel cm;
    const RatePrior full = fit_rate_prior(c.data(), s.data(), n, cm);
    // a resample of the counts, refined by 10 steps from the full prior
    std::vector<double> r(n);
    for (std::size_t i = 0; i < n; ++i) r[i] = c[rng.below(n)];
    CountModel ten = cm;
    ten.max_iter = 10;
    ten.tol = -1.0;
    ten.df = 0;  // EM steps from the start's weights
    const RatePrior refined = refine_rate_prior(full, r.data(), s.data(), n, ten);
    CHECK(refined.grid == full.grid);
    CHECK(refined.iterations == 10);
    double total = 0.0;
    for (double w : refined.weight) total += w;
    CHECK(total == Approx(1.0).epsilon(1e-10));
    CountModel one = ten;
    one.max_iter = 1;
    const RatePrior first = refine_rate_prior(full, r.data(), s.data(), n, one);
    CHECK(refined.loglik >= first.loglik - 1e-12);
    // posterior means under the refined prior stay close to the full one's
    std::vector<double> a(5), b(5), cc = {0, 1, 2, 4, 8}, s5(5, 1.0);
    posterior_mean(full, cc.data(), s5.data(), 5, 0.0, a.data());
    posterior_mean(refined, cc.data(), s5.data(), 5, 0.0, b.data());
    for (std::size_t i = 0; i < 5; ++i) CHECK(b[i] == Approx(a[i]).epsilon(0.1));
}

TEST_CASE("the log-spline prior is unimodal where free weights are spiky, and keeps the zeros' share and the mean", "[counts]") {
    // Log-normal rates (sdlog 0.5) with 20% exact zeros, NB counts (size 10)
    // at about 3 counts per cell.
    Rng rng(8);
    const std::size_t n = 8000;
    std::vector<double> c(n), s(n);
    double mean_rate = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = std::exp(0.3 * rng.normal());
        const double lam = rng.uniform() < 0.2 ? 0.0 : 4.0 * std::exp(0.5 * rng.normal() - 0.125);
        mean_rate += lam / static_cast<double>(n);
        c[i] = static_cast<double>(rng.negbin(s[i] * lam, 10.0));
    }
    CountModel cm;
    cm.dispersion = 0.1;
    REQUIRE(cm.df > 0);
    const RatePrior spline = fit_rate_prior(c.data(), s.data(), n, cm);
    CountModel free = cm;
    free.df = 0;
    free.max_iter = 2000;
    const RatePrior em = fit_rate_prior(c.data(), s.data(), n, free);
    REQUIRE(spline.grid == em.grid);
    // local maxima of the weights of rates >= 0.5 (the log-normal part;
    // below it the zeros' share can sit at rate 0 or at small rates)
    auto modes = [](const RatePrior& p) {
        int m = 0;
        double top = 0.0;
        for (std::size_t g = 1; g < p.weight.size(); ++g) top = std::max(top, p.weight[g]);
        for (std::size_t g = 2; g + 1 < p.weight.size(); ++g) {
            if (p.grid[g] >= 0.5 && p.weight[g] > 1e-3 * top && p.weight[g] > p.weight[g - 1] &&
                p.weight[g] >= p.weight[g + 1]) {
                ++m;
            }
        }
        return m;
    };
    CHECK(modes(spline) == 1);
    CHECK(modes(em) > 1);
    double total = 0.0, mean = 0.0;
    for (std::size_t g = 0; g < spline.grid.size(); ++g) {
        total += spline.weight[g];
        mean += spline.weight[g] * spline.grid[g];
    }
    CHECK(total == Approx(1.0).epsilon(1e-10));
    CHECK(mean == Approx(mean_rate).epsilon(0.03));
    // The zeros' share: rate 0 and rates below 0.1 (with size factors near 1
    // both give zero counts, so the split between them is not identified;
    // the log-normal part has no mass there).
    double low = 0.0;
    for (std::size_t g = 0; g < spline.grid.size() && spline.grid[g] < 0.1; ++g) low += spline.weight[g];
    CHECK(low == Approx(0.2).margin(0.03));
    // The free weights maximise the likelihood over all priors on the grid;
    // the smooth family gives up little of it: per observation well under
    // 0.005 (2 n times the gap is the likelihood ratio of the 55 extra free
    // weights, which fit noise).
    CHECK(spline.loglik <= em.loglik + 1e-9);
    CHECK(spline.loglik >= em.loglik - 5e-3);
    // A refinement of the spline prior is a refit on the same grid: for the
    // same counts it returns the same prior.
    const RatePrior again = refine_rate_prior(spline, c.data(), s.data(), n, cm);
    REQUIRE(again.weight.size() == spline.weight.size());
    for (std::size_t g = 0; g < spline.weight.size(); ++g) CHECK(again.weight[g] == Approx(spline.weight[g]).margin(1e-12));
    // B-spline rows sum to one over the range.
    double row[7];
    for (double u : {-2.0, -1.3, 0.0, 0.77, 1.5}) {
        detail::bspline_row(u, -2.0, 1.5, 7, row);
        double t = 0.0;
        for (double v : row) t += v;
        CHECK(t == Approx(1.0).epsilon(1e-12));
    }
}
