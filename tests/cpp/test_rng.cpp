#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "bulkcausal/rng.hpp"
#include "helpers.hpp"

using bulkcausal::Rng;

namespace {
template <class Draw>
std::vector<double> draws(std::size_t n, Draw d) {
    std::vector<double> x(n);
    for (auto& v : x) v = d();
    return x;
}
}  // namespace

TEST_CASE("streams are reproducible and distinct", "[rng]") {
    Rng a(42, 3, 7), b(42, 3, 7), c(42, 3, 8), d(42, 4, 7), e(43, 3, 7);
    bool differs_c = false, differs_d = false, differs_e = false;
    for (int i = 0; i < 100; ++i) {
        const auto va = a.next();
        REQUIRE(va == b.next());
        differs_c |= va != c.next();
        differs_d |= va != d.next();
        differs_e |= va != e.next();
    }
    CHECK(differs_c);
    CHECK(differs_d);
    CHECK(differs_e);
}

TEST_CASE("uniform draws have mean 1/2 and variance 1/12", "[rng]") {
    Rng r(1);
    const auto m = moments(draws(1000000, [&] { return r.uniform(); }));
    CHECK(std::fabs(m.mean - 0.5) < 5 * m.se_mean());
    CHECK(std::fabs(m.var - 1.0 / 12) < 5 * m.se_var());
}

TEST_CASE("below(n) is uniform on 0..n-1", "[rng]") {
    Rng r(2);
    const int n = 7, reps = 700000;
    std::vector<int> count(n, 0);
    for (int i = 0; i < reps; ++i) {
        const auto k = r.below(n);
        REQUIRE(k < static_cast<std::uint64_t>(n));
        ++count[k];
    }
    const double expect = static_cast<double>(reps) / n, sd = std::sqrt(expect * (1 - 1.0 / n));
    for (int k = 0; k < n; ++k) CHECK(std::fabs(count[k] - expect) < 5 * sd);
}

TEST_CASE("ziggurat normals match N(0, 1) moments and tails", "[rng]") {
    Rng r(3);
    const std::size_t n = 4000000;
    std::vector<double> x(n);
    std::size_t beyond_r = 0, beyond_1 = 0;
    for (auto& v : x) {
        v = r.normal();
        beyond_r += std::fabs(v) > 3.6541528853610088;
        beyond_1 += std::fabs(v) > 1.0;
    }
    const auto m = moments(x);
    CHECK(std::fabs(m.mean) < 5 * m.se_mean());
    CHECK(std::fabs(m.var - 1.0) < 5 * m.se_var());
    // kurtosis 3: the fourth moment of N(0,1) has variance 96
    CHECK(std::fabs(m.m4 - 3.0) < 5 * std::sqrt(96.0 / n));
    auto check_tail = [&](std::size_t count, double t) {
        const double p = std::erfc(t / std::sqrt(2.0));
        CHECK(std::fabs(static_cast<double>(count) / n - p) < 5 * std::sqrt(p * (1 - p) / n));
    };
    check_tail(beyond_r, 3.6541528853610088);  // the tail algorithm
    check_tail(beyond_1, 1.0);                 // the wedges
}

TEST_CASE("gamma draws have mean and variance equal to the shape", "[rng]") {
    for (double shape : {0.3, 1.0, 2.5, 20.0}) {
        Rng r(4);
        const auto m = moments(draws(1000000, [&] { return r.gamma(shape); }));
        INFO("shape " << shape);
        CHECK(std::fabs(m.mean - shape) < 5 * m.se_mean());
        CHECK(std::fabs(m.var - shape) < 5 * m.se_var());
    }
}

TEST_CASE("Poisson draws match mean, variance and point probabilities", "[rng]") {
    for (double mu : {0.2, 3.0, 9.99, 10.0, 37.5, 2000.0}) {
        Rng r(5);
        const std::size_t n = 1000000;
        const auto x = draws(n, [&] { return r.poisson(mu); });
        const auto m = moments(x);
        INFO("mean " << mu);
        CHECK(std::fabs(m.mean - mu) < 5 * m.se_mean());
        CHECK(std::fabs(m.var - mu) < 5 * m.se_var());
        // P(X = mode) against the closed form
        const double k = std::floor(mu);
        const double p = std::exp(-mu + k * std::log(mu) - std::lgamma(k + 1));
        double hits = 0;
        for (double v : x) hits += v == k;
        CHECK(std::fabs(hits / n - p) < 5 * std::sqrt(p * (1 - p) / n));
    }
}

TEST_CASE("negative binomial draws have variance mean + mean^2 / size", "[rng]") {
    Rng r(6);
    const double mu = 8.0, size = 2.0;
    const auto m = moments(draws(1000000, [&] { return r.negbin(mu, size); }));
    CHECK(std::fabs(m.mean - mu) < 5 * m.se_mean());
    CHECK(std::fabs(m.var - (mu + mu * mu / size)) < 5 * m.se_var());
}
