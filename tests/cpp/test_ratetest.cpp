#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bulkcausal/ratetest.hpp"
#include "bulkcausal/rng.hpp"
#include "helpers.hpp"

using namespace bulkcausal;

namespace {

double pmf(double c, double mu, double disp) {
    if (disp <= 0.0) return std::exp(c * std::log(mu) - mu - std::lgamma(c + 1.0));
    const double r = 1.0 / disp;
    return std::exp(std::lgamma(c + r) - std::lgamma(r) - std::lgamma(c + 1.0) + r * std::log(r / (r + mu)) +
                    c * std::log(mu / (r + mu)));
}

}  // namespace

TEST_CASE("Stein's identity: E[T_h(c) / s] = lambda E[h(c)] for Poisson and NB counts", "[ratetest]") {
    // Every count 0..cmax once with one size factor, so that all rows share
    // a basis; then the expectations are sums over the mass function.
    const std::size_t cmax = 3000;
    for (double s : {0.7, 2.5}) {
        std::vector<double> c(cmax + 1), size(cmax + 1, s);
        for (std::size_t i = 0; i <= cmax; ++i) c[i] = static_cast<double>(i);
        for (double disp : {0.0, 0.1, 0.5, 2.0}) {
            RateTestOptions opt;
            opt.dispersion = disp;
            opt.upper = 0.05;  // basis on counts 0..20: the range the mass functions below put weight on
            const RateMoments m = rate_moments(c.data(), size.data(), c.size(), opt);
            REQUIRE(m.ok);
            const auto K = static_cast<std::size_t>(m.k);
            for (double lambda : {0.4, 3.0, 9.0}) {
                std::vector<double> eh(K, 0.0), ew(K, 0.0);
                double total = 0.0;
                for (std::size_t i = 0; i <= cmax; ++i) {
                    const double p = pmf(c[i], s * lambda, disp);
                    total += p;
                    for (std::size_t j = 0; j < K; ++j) {
                        eh[j] += p * m.H[i * K + j];
                        ew[j] += p * m.W[i * K + j];
                    }
                }
                REQUIRE(total == Approx(1.0).epsilon(1e-9));
                for (std::size_t j = 0; j < K; ++j) CHECK(ew[j] == Approx(lambda * eh[j]).margin(1e-9));
            }
        }
    }
}

TEST_CASE("NB moment functions approach the Poisson ones as the dispersion vanishes", "[ratetest]") {
    std::vector<double> c = {0, 1, 2, 3, 7, 12, 4, 0, 1, 5}, s = {1.0, 0.5, 2.0, 1.2, 0.8, 1.5, 1.0, 0.3, 0.9, 1.1};
    RateTestOptions pois, nb;
    nb.dispersion = 1e-7;
    const RateMoments a = rate_moments(c.data(), s.data(), c.size(), pois);
    const RateMoments b = rate_moments(c.data(), s.data(), c.size(), nb);
    REQUIRE(a.W.size() == b.W.size());
    for (std::size_t i = 0; i < a.W.size(); ++i) CHECK(b.W[i] == Approx(a.W[i]).margin(1e-5));
    for (std::size_t i = 0; i < a.H.size(); ++i) CHECK(b.H[i] == a.H[i]);
}

TEST_CASE("the rate test holds its size on Poisson counts and finds a saturating relation", "[ratetest]") {
    // Affine and Hill relations between Gamma rates, Poisson counts at about
    // 5 per cell; 300 pairs of 400 cells each: the rejection rate at 0.05
    // under the null is within 3 standard errors (0.038) of 0.05.
    Rng data(17);
    const std::size_t n = 400, npairs = 300;
    std::vector<double> s(n);
    for (auto& v : s) v = std::exp(0.3 * data.normal());
    std::vector<double> counts(n * 2 * npairs), y(n * 2 * npairs);
    std::vector<int> reg, tgt;
    for (std::size_t p = 0; p < npairs; ++p) {
        const bool hill = p >= npairs / 2;
        for (std::size_t i = 0; i < n; ++i) {
            const double u = data.gamma(2.0);
            const double lx = 2.5 * u;
            const double ly = hill ? 10.0 * u * u / (1.0 + u * u) : 1.0 + 0.5 * lx;
            counts[2 * p * n + i] = static_cast<double>(data.poisson(s[i] * lx));
            counts[(2 * p + 1) * n + i] = static_cast<double>(data.poisson(s[i] * ly));
        }
        reg.push_back(static_cast<int>(2 * p));
        tgt.push_back(static_cast<int>(2 * p + 1));
    }
    for (std::size_t i = 0; i < counts.size(); ++i) y[i] = counts[i] / s[i % n];
    RateTestOptions opt;
    const RatePairs one = rate_test_pairs(counts.data(), y.data(), s.data(), 0, n, 2 * npairs, nullptr, reg, tgt, opt, 1);
    const RatePairs two = rate_test_pairs(counts.data(), y.data(), s.data(), 0, n, 2 * npairs, nullptr, reg, tgt, opt, 2);
    int rej_null = 0, rej_hill = 0;
    for (std::size_t p = 0; p < npairs; ++p) {
        CHECK(one.res[p].p == two.res[p].p);
        REQUIRE(std::isfinite(one.res[p].p));
        CHECK(one.res[p].p > 0.0);
        CHECK(one.res[p].p <= 1.0);
        if (one.res[p].p < 0.05) ++(p < npairs / 2 ? rej_null : rej_hill);
    }
    CHECK(std::abs(rej_null / 150.0 - 0.05) < 3.0 * std::sqrt(0.05 * 0.95 / 150.0));
    CHECK(rej_hill / 150.0 > 0.8);
}

TEST_CASE("the rate test returns NaN without counts to place its basis on", "[ratetest]") {
    std::vector<double> c(50, 0.0), s(50, 1.0), y(50, 1.0);
    const RateMoments m = rate_moments(c.data(), s.data(), c.size(), RateTestOptions());
    CHECK_FALSE(m.ok);
    Rng rng(1);
    const RateTestResult r = rate_test(m, y.data(), RateTestOptions(), rng);
    CHECK(std::isnan(r.p));
}

TEST_CASE("the rate test's statistic is the weighted GMM misfit and its table draws match per-observation draws",
          "[ratetest]") {
    // Direct reference: contributions g_i(a, b) = (y_i - a) h_i - b w_i as a
    // dense n x K matrix; variances at the unweighted fit, weights 1 / var,
    // Q = n min_(a, b) g' A g.  Sample sizes around multiples of four check
    // the padding of the last block of the table.
    for (std::size_t n : {401u, 402u, 403u, 404u}) {
        Rng data(5 + n);
        std::vector<double> c(n), s(n), y(n);
        for (std::size_t i = 0; i < n; ++i) {
            s[i] = std::exp(0.3 * data.normal());
            const double u = data.gamma(2.0);
            c[i] = static_cast<double>(data.poisson(s[i] * 2.0 * u));
            y[i] = static_cast<double>(data.poisson(s[i] * (0.5 + 3.0 * u * u / (1.0 + u * u)))) / s[i];
        }
        for (double disp : {0.0, 0.3}) {
            RateTestOptions opt;
            opt.dispersion = disp;
            const RateMoments m = rate_moments(c.data(), s.data(), n, opt);
            REQUIRE(m.ok);
            const auto K = static_cast<Eigen::Index>(m.k);
            Eigen::MatrixXd H(n, K), W(n, K);
            for (std::size_t i = 0; i < n; ++i) {
                for (Eigen::Index j = 0; j < K; ++j) {
                    H(static_cast<Eigen::Index>(i), j) = m.H[i * static_cast<std::size_t>(m.k) + static_cast<std::size_t>(j)];
                    W(static_cast<Eigen::Index>(i), j) = m.W[i * static_cast<std::size_t>(m.k) + static_cast<std::size_t>(j)];
                }
            }
            const Eigen::Map<const Eigen::VectorXd> Y(y.data(), static_cast<Eigen::Index>(n));
            const double nn = static_cast<double>(n);
            Eigen::MatrixXd X(K, 2);
            X.col(0) = H.colwise().mean().transpose();
            X.col(1) = W.colwise().mean().transpose();
            const Eigen::VectorXd Yb = (H.transpose() * Y) / nn;
            auto fit = [&](const Eigen::VectorXd& a) -> Eigen::Vector2d {
                const Eigen::MatrixXd XA = X.transpose() * a.asDiagonal();
                return (XA * X).ldlt().solve(XA * Yb);
            };
            const Eigen::Vector2d th1 = fit(Eigen::VectorXd::Ones(K));
            const Eigen::MatrixXd G1 =
                (Y.array() - th1[0]).matrix().asDiagonal() * H - th1[1] * W;  // contributions at the first fit
            const Eigen::VectorXd a = (G1.array().square().colwise().mean()).inverse().transpose();
            const Eigen::Vector2d th = fit(a);
            const Eigen::VectorXd gbar = Yb - X * th;
            const double Q = nn * gbar.dot(a.asDiagonal() * gbar);
            Rng r1(9), r2(9);
            const RateTestResult tab = rate_test(m, y.data(), opt, r1);
            RateTestOptions plain = opt;
            plain.tabulate = false;
            const RateTestResult ref = rate_test(m, y.data(), plain, r2);
            CHECK(tab.statistic == Approx(Q).epsilon(1e-9));
            CHECK(tab.slope == Approx(th[1]).epsilon(1e-9));
            CHECK(tab.statistic == Approx(ref.statistic).epsilon(1e-12));
            CHECK(tab.draws == ref.draws);
            CHECK(tab.p == Approx(ref.p).epsilon(1e-12));
        }
    }
}

TEST_CASE("Mammen's bootstrap weights have mean 0, variance 1, third moment about 1 and fair frequencies",
          "[ratetest]") {
    const MammenWeights mw;
    const double p = static_cast<double>(mw.num) / 4096.0;
    CHECK(p * mw.low + (1.0 - p) * mw.high == Approx(0.0).margin(1e-12));
    CHECK(p * mw.low * mw.low + (1.0 - p) * mw.high * mw.high == Approx(1.0).epsilon(1e-12));
    // third moment: (2p - 1) / sqrt(p (1 - p)) for a two-point law of mean 0 and variance 1 with the negative
    // value at probability p, which is 1 at Mammen's p; p cut to 12 binary digits moves it by about 1.2e-3
    const double m3 = p * std::pow(mw.low, 3) + (1.0 - p) * std::pow(mw.high, 3);
    CHECK(m3 == Approx((2.0 * p - 1.0) / std::sqrt(p * (1.0 - p))).epsilon(1e-12));
    CHECK(std::abs(m3 - 1.0) < 2e-3);
    // the share of set bits over 2,000 words (128,000 bits; SE 0.00125)
    Rng rng(11);
    long ones = 0;
    for (int w = 0; w < 2000; ++w) {
        const std::uint64_t x = mw.word(rng);
        for (int b = 0; b < 64; ++b) ones += static_cast<long>((x >> b) & 1u);
    }
    CHECK(std::abs(static_cast<double>(ones) / 128000.0 - p) < 4.0 * std::sqrt(p * (1.0 - p) / 128000.0));
    CHECK(std::abs(p - (std::sqrt(5.0) + 1.0) / (2.0 * std::sqrt(5.0))) < 1.0 / 4096.0);
}
