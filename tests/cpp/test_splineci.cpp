#include <catch2/catch.hpp>

#include <Eigen/Dense>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "bulkcausal/distributions.hpp"
#include "bulkcausal/hsic.hpp"
#include "bulkcausal/pairwise.hpp"
#include "bulkcausal/rng.hpp"
#include "bulkcausal/sampling.hpp"
#include "bulkcausal/splineci.hpp"

using namespace bulkcausal;

namespace {

// Dense reference: tr(K H L H) / n with Gaussian kernels of bandwidth the
// median pairwise distance, and the Gretton et al. null moments.
struct DenseHsic {
    double stat, mean0, var0;
};

double brute_median_distance(const std::vector<double>& v) {
    std::vector<double> d;
    for (std::size_t i = 0; i < v.size(); ++i) {
        for (std::size_t j = i + 1; j < v.size(); ++j) d.push_back(std::fabs(v[i] - v[j]));
    }
    std::sort(d.begin(), d.end());
    return d[(d.size() + 1) / 2 - 1];
}

Eigen::MatrixXd gram(const std::vector<double>& v) {
    const double s = brute_median_distance(v);
    const auto n = static_cast<Eigen::Index>(v.size());
    Eigen::MatrixXd K(n, n);
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < n; ++j) {
            const double d = v[static_cast<std::size_t>(i)] - v[static_cast<std::size_t>(j)];
            // the kernel in single precision, as hsic_test computes it
            K(i, j) = static_cast<double>(std::exp(static_cast<float>(-d * d / (2.0 * s * s))));
        }
    }
    return K;
}

DenseHsic dense_hsic(const Eigen::MatrixXd& K, const Eigen::MatrixXd& L) {
    const auto n = K.rows();
    const double nn = static_cast<double>(n);
    const Eigen::MatrixXd H = Eigen::MatrixXd::Identity(n, n) - Eigen::MatrixXd::Constant(n, n, 1.0 / nn);
    const Eigen::MatrixXd Kc = H * K * H, Lc = H * L * H;
    DenseHsic out;
    out.stat = (Kc.cwiseProduct(Lc)).sum() / nn;
    const double mux = (K.sum() - K.trace()) / (nn * (nn - 1.0));
    const double muy = (L.sum() - L.trace()) / (nn * (nn - 1.0));
    out.mean0 = 1.0 + mux * muy - mux - muy;
    Eigen::MatrixXd B = Kc.cwiseProduct(Lc) / 6.0;
    B = B.cwiseProduct(B);
    const double vh = (B.sum() - B.trace()) / (nn * (nn - 1.0)) * 72.0 * (nn - 4.0) * (nn - 5.0) /
                      (nn * (nn - 1.0) * (nn - 2.0) * (nn - 3.0));
    out.var0 = nn * nn * vh;  // of n * HSIC_b
    return out;
}

std::vector<double> normals(Rng& rng, std::size_t n) {
    std::vector<double> v(n);
    for (auto& x : v) x = rng.normal();
    return v;
}

}  // namespace

TEST_CASE("gamma_q equals R's pgamma(lower.tail = FALSE)", "[hsic]") {
    const double ref[][3] = {{0.5, 0.1, 0.65472084601857694},    {1, 1, 0.36787944117144233},
                             {2.5, 3, 0.30621891841327842},      {7, 10, 0.13014142088248298},
                             {30, 45, 0.0073371992977965062},    {200, 260, 4.7500124443008757e-05}};
    for (const auto& r : ref) CHECK(gamma_q(r[0], r[1]) == Approx(r[2]).epsilon(1e-10));
    CHECK(gamma_q(3, 0) == 1.0);
    CHECK_THROWS(gamma_q(0, 1));
}

TEST_CASE("single-precision kernel values are within 1e-7 of double precision", "[hsic]") {
    double worst = 0.0;
    for (double a = -40.0; a <= 0.0; a += 1e-3) {
        const double e = std::exp(a);
        worst = std::max(worst, std::fabs(static_cast<double>(std::exp(static_cast<float>(a))) - e) / e);
    }
    CHECK(worst < 1e-7 * 40.0);  // float rounds its argument: relative error |a| * 2^-24 at most
}

TEST_CASE("median_pairwise_distance equals the brute-force median", "[hsic]") {
    Rng rng(3);
    for (std::size_t n : {2u, 3u, 10u, 57u, 200u}) {
        std::vector<double> v = normals(rng, n);
        CHECK(median_pairwise_distance(v) == Approx(brute_median_distance(v)).epsilon(1e-9));
        // with ties
        for (auto& x : v) x = std::round(x * 2.0);
        CHECK(median_pairwise_distance(v) == Approx(brute_median_distance(v)).margin(1e-9));
    }
}

TEST_CASE("hsic_test equals the dense formulas", "[hsic]") {
    Rng rng(11);
    for (std::size_t n : {6u, 40u, 150u}) {
        const std::vector<double> x = normals(rng, n);
        std::vector<double> y = normals(rng, n);
        for (std::size_t i = 0; i < n; ++i) y[i] += 0.5 * x[i] * x[i];
        Rng r0(1);
        const HsicResult h = hsic_test(x, y, 0, r0);
        const DenseHsic d = dense_hsic(gram(x), gram(y));
        CHECK(h.statistic == Approx(d.stat).epsilon(1e-10));
        CHECK(h.mean0 == Approx(d.mean0).epsilon(1e-10));
        if (n > 6) CHECK(h.var0 == Approx(d.var0).epsilon(1e-9));
        const double shape = d.mean0 * d.mean0 / d.var0, scale = d.var0 / d.mean0;
        if (n > 6) CHECK(h.p_value == Approx(gamma_q(shape, d.stat / scale)).epsilon(1e-9));
    }
}

TEST_CASE("the permutation p-value counts dense permuted statistics", "[hsic]") {
    Rng rng(5);
    const std::size_t n = 30;
    const std::vector<double> x = normals(rng, n);
    std::vector<double> y = normals(rng, n);
    for (std::size_t i = 0; i < n; ++i) y[i] += 0.3 * x[i];
    const int nperm = 99;
    Rng r1(42);
    const HsicResult h = hsic_test(x, y, nperm, r1);
    const Eigen::MatrixXd K = gram(x), L = gram(y);
    const double tobs = dense_hsic(K, L).stat;
    Rng r2(42);
    IndexSampler sampler(r2, IndexDraw::Scaled);
    std::vector<std::size_t> perm(n);
    int exceed = 0;
    for (int b = 0; b < nperm; ++b) {
        std::iota(perm.begin(), perm.end(), std::size_t{0});
        sampler.shuffle(perm.begin(), perm.end());
        Eigen::MatrixXd Lp(n, n);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
                Lp(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
                    L(static_cast<Eigen::Index>(perm[i]), static_cast<Eigen::Index>(perm[j]));
            }
        }
        if (dense_hsic(K, Lp).stat >= tobs - 1e-12 * std::fabs(tobs)) ++exceed;
    }
    CHECK(h.statistic == Approx(tobs).epsilon(1e-10));
    CHECK(h.p_value == Approx((1.0 + exceed) / (1.0 + nperm)));
    // a permutation is a permutation
    std::vector<std::size_t> sorted(perm);
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < n; ++i) CHECK(sorted[i] == i);
}

TEST_CASE("a raised stop flag ends the permutations at once; a lowered one changes nothing", "[hsic]") {
    Rng rng(6);
    const std::vector<double> x = normals(rng, 40), y = normals(rng, 40);
    HsicScratch scratch;
    std::atomic<bool> stop{false};
    Rng r1(3), r2(3);
    const HsicResult a = hsic_test(x, y, 199, r1, scratch);
    const HsicResult b = hsic_test(x, y, 199, r2, scratch, &stop);
    CHECK(a.p_value == b.p_value);
    CHECK(a.statistic == b.statistic);
    stop.store(true);
    Rng r3(3);
    // two billion permutations would take days; raised, the call returns now
    const HsicResult c = hsic_test(x, y, std::numeric_limits<int>::max(), r3, scratch, &stop);
    CHECK(c.statistic == a.statistic);
}

TEST_CASE("the draws test: dense statistics, Besag-Clifford stopping, the full count otherwise", "[hsic]") {
    Rng rng(13);
    const std::size_t n = 25;
    const int ndraws = 60;
    const std::vector<double> x = normals(rng, n);
    std::vector<double> r = normals(rng, n);
    for (std::size_t i = 0; i < n; ++i) r[i] += 0.2 * x[i] * x[i];
    std::vector<double> draws(n * static_cast<std::size_t>(ndraws));
    for (auto& v : draws) v = rng.normal();
    const Eigen::MatrixXd K = gram(x);
    const double tobs = dense_hsic(K, gram(r)).stat;
    std::vector<double> tb(static_cast<std::size_t>(ndraws));
    for (int b = 0; b < ndraws; ++b) {
        const std::vector<double> v(draws.begin() + b * static_cast<std::ptrdiff_t>(n),
                                    draws.begin() + (b + 1) * static_cast<std::ptrdiff_t>(n));
        tb[static_cast<std::size_t>(b)] = dense_hsic(K, gram(v)).stat;
    }
    HsicScratch scratch;
    for (int hits : {1, 3, 1000}) {
        // reference: walk the draws until `hits` reach tobs
        int exceed = 0, used = 0;
        for (int b = 0; b < ndraws && exceed < hits; ++b) {
            ++used;
            if (tb[static_cast<std::size_t>(b)] >= tobs - 1e-9 * tobs) ++exceed;
        }
        const double want = exceed >= hits ? static_cast<double>(hits) / used : (1.0 + exceed) / (1.0 + ndraws);
        const HsicResult h = hsic_draws_test(x, r, draws.data(), ndraws, hits, scratch);
        CHECK(h.statistic == Approx(tobs).epsilon(1e-10));
        CHECK(h.p_value == Approx(want));
    }
    // the draws' mean and variance over all of them (hits never reached)
    const HsicResult all = hsic_draws_test(x, r, draws.data(), ndraws, 1000, scratch);
    double m = 0.0, v = 0.0;
    for (double t : tb) m += t;
    m /= ndraws;
    for (double t : tb) v += (t - m) * (t - m);
    CHECK(all.mean0 == Approx(m).epsilon(1e-9));
    CHECK(all.var0 == Approx(v / (ndraws - 1)).epsilon(1e-8));
    CHECK_THROWS_AS(hsic_draws_test(x, r, draws.data(), 0, 1, scratch), std::invalid_argument);
    CHECK_THROWS_AS(hsic_draws_test(x, std::vector<double>(n - 1), draws.data(), ndraws, 1, scratch),
                    std::invalid_argument);
}

TEST_CASE("HSIC p-values are uniform under independence and small under dependence", "[hsic]") {
    Rng rng(8);
    const int reps = 400;
    int rej = 0;
    for (int r = 0; r < reps; ++r) {
        const std::vector<double> x = normals(rng, 100);
        std::vector<double> y = normals(rng, 100);
        for (auto& v : y) v = v * v * v;  // non-Gaussian
        if (hsic_test(x, y, 0, rng).p_value < 0.05) ++rej;
    }
    const double rate = static_cast<double>(rej) / reps;
    CHECK(std::fabs(rate - 0.05) < 3.0 * std::sqrt(0.05 * 0.95 / reps) + 0.005);
    // y = x^2 + small noise: uncorrelated with x, but dependent
    const std::vector<double> x = normals(rng, 200);
    std::vector<double> y = normals(rng, 200);
    for (std::size_t i = 0; i < 200; ++i) y[i] = x[i] * x[i] + 0.1 * y[i];
    CHECK(hsic_test(x, y, 0, rng).p_value < 1e-6);
}

TEST_CASE("additive residuals: one smooth equals the pairwise fit, two recover an additive truth", "[splineci]") {
    Rng rng(21);
    const std::size_t n = 400;
    std::vector<double> z1(n), z2(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        z1[i] = 4.0 * rng.uniform() - 2.0;
        z2[i] = 4.0 * rng.uniform() - 2.0;
        y[i] = std::sin(2.0 * z1[i]) + z2[i] * z2[i] + 0.05 * rng.normal();
    }
    SplineCIOptions opt;
    const Smoother s1(z1.data(), n, 10, SmoothMethod::REML), s2(z2.data(), n, 10, SmoothMethod::REML);
    // one smoother: y - ybar - fitted of the pairwise spline fit
    std::vector<int> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<int>(i);
    const auto reg = prepare_regulator(z1.data(), rows, 10);
    Rng unused(1);
    const PairFit fit = fit_target(*reg, y.data(), PairOptions(), unused);
    const Eigen::Map<const Eigen::VectorXd> c(fit.coef.data(), 10);
    const std::vector<double> r1 = additive_residuals(y.data(), n, {&s1}, opt);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(r1[i] == Approx(y[i] - fit.mean_y - spline_at(*reg, c, i)).margin(1e-10));
    }
    // two smoothers: the residual sd is the noise sd
    const std::vector<double> r2 = additive_residuals(y.data(), n, {&s1, &s2}, opt);
    double ss = 0.0, mean = 0.0;
    for (double v : r2) {
        ss += v * v;
        mean += v;
    }
    CHECK(std::fabs(mean / n) < 1e-10);
    CHECK(std::sqrt(ss / n) == Approx(0.05).epsilon(0.2));
}

TEST_CASE("a conditioning variable with few values is smoothed by group means", "[splineci]") {
    Rng rng(4);
    const std::size_t n = 60;
    std::vector<double> z(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        z[i] = static_cast<double>(i % 3);
        y[i] = rng.normal() + z[i];
    }
    const Smoother s(z.data(), n, 10, SmoothMethod::REML);
    const std::vector<double> r = additive_residuals(y.data(), n, {&s}, SplineCIOptions());
    double m[3] = {0, 0, 0};
    for (std::size_t i = 0; i < n; ++i) m[i % 3] += y[i] / 20.0;
    for (std::size_t i = 0; i < n; ++i) CHECK(r[i] == Approx(y[i] - m[i % 3]).margin(1e-12));
}

TEST_CASE("spline_ci_tests: same results on any number of threads and in any order", "[splineci]") {
    Rng rng(9);
    const std::size_t n = 3000, p = 4;
    std::vector<double> data(n * p);
    for (std::size_t i = 0; i < n; ++i) {
        const double a = rng.normal();
        const double b = std::tanh(a) + 0.5 * rng.normal();
        data[i] = a;
        data[n + i] = b;
        data[2 * n + i] = b * b + 0.5 * rng.normal();
        data[3 * n + i] = rng.normal();
    }
    SplineCIOptions opt;
    opt.max_n = 500;  // subsampled: the draws must not depend on threads
    std::vector<CIQuery> q{{0, 2, {1}}, {0, 2, {}}, {0, 3, {1, 2}}, {1, 3, {0}}};
    const auto r1 = spline_ci_tests(data.data(), n, p, q, opt, 1);
    const auto r2 = spline_ci_tests(data.data(), n, p, q, opt, 2);
    std::vector<CIQuery> rev{q[3], {2, 0, {1}}};
    const auto r3 = spline_ci_tests(data.data(), n, p, rev, opt, 2);
    for (std::size_t i = 0; i < q.size(); ++i) {
        CHECK(r1[i].p_value == r2[i].p_value);
        CHECK(r1[i].statistic == r2[i].statistic);
        CHECK(r1[i].n_test == 500);
    }
    CHECK(r3[0].p_value == r1[3].p_value);
    CHECK(r3[1].p_value == Approx(r1[0].p_value).epsilon(1e-12));
    CHECK(r1[1].p_value < 1e-6);  // a and b^2: dependent
    CHECK_THROWS_AS(spline_ci_tests(data.data(), n, p, {{0, 1, {1}}}, opt, 1), std::invalid_argument);
}

TEST_CASE("spline_ci_tests on a subset of the columns with their ids gives the whole data's results", "[splineci]") {
    Rng rng(10);
    const std::size_t n = 800, p = 5;
    std::vector<double> data(n * p);
    for (std::size_t i = 0; i < n * p; ++i) data[i] = rng.normal();
    for (std::size_t i = 0; i < n; ++i) data[3 * n + i] += std::sin(2.0 * data[i]);
    SplineCIOptions opt;
    opt.max_n = 300;  // subsampled from each statement's stream
    const std::vector<CIQuery> whole_q{{0, 3, {}}, {3, 4, {0}}, {4, 0, {}}};
    const auto whole = spline_ci_tests(data.data(), n, p, whole_q, opt, 1);
    // columns 0, 3, 4 only, renumbered 0, 1, 2, with their ids in the whole data
    const std::vector<int> cols{0, 3, 4};
    std::vector<double> sub(n * cols.size());
    for (std::size_t j = 0; j < cols.size(); ++j) {
        std::copy(data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(cols[j]) * n),
                  data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(cols[j] + 1) * n),
                  sub.begin() + static_cast<std::ptrdiff_t>(j * n));
    }
    const std::vector<CIQuery> sub_q{{0, 1, {}}, {1, 2, {0}}, {2, 0, {}}};
    SplineCIOptions keyed = opt;
    keyed.key_id = cols;
    const auto part = spline_ci_tests(sub.data(), n, cols.size(), sub_q, keyed, 2);
    const auto plain = spline_ci_tests(sub.data(), n, cols.size(), sub_q, opt, 1);
    bool any_differs = false;
    for (std::size_t i = 0; i < whole_q.size(); ++i) {
        CHECK(part[i].p_value == whole[i].p_value);
        CHECK(part[i].statistic == whole[i].statistic);
        any_differs = any_differs || plain[i].statistic != whole[i].statistic;
    }
    CHECK(any_differs);  // without the ids the subsamples are other ones
    keyed.key_id = {0, 3};
    CHECK_THROWS_AS(spline_ci_tests(sub.data(), n, cols.size(), sub_q, keyed, 1), std::invalid_argument);
}
