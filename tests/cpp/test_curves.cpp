#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bulkcausal/curves.hpp"
#include "bulkcausal/rng.hpp"

using namespace bulkcausal;

TEST_CASE("quantile7 is R's default quantile", "[curves]") {
    // quantile(c(1, 2, 4, 8, 16), c(0, 0.05, 0.3, 0.95, 1)) in R:
    // 1.0, 1.2, 2.4, 14.4, 16.0
    const std::vector<double> v = {1, 2, 4, 8, 16};
    CHECK(quantile7(v, 0.0) == Approx(1.0));
    CHECK(quantile7(v, 0.05) == Approx(1.2));
    CHECK(quantile7(v, 0.3) == Approx(2.4));
    CHECK(quantile7(v, 0.95) == Approx(14.4));
    CHECK(quantile7(v, 1.0) == Approx(16.0));
}

TEST_CASE("curve_value is the spline sum inside the basis range and NaN outside", "[curves]") {
    const PsBasis b = PsBasis::for_range(-1.0, 3.0, 8);
    std::vector<double> coef(8);
    for (int j = 0; j < 8; ++j) coef[static_cast<std::size_t>(j)] = 0.5 * j - 1.0;
    for (double x : {-1.0, -0.3, 0.0, 1.7, 3.0}) {
        double v[4];
        const int j0 = b.eval(x, v);
        double ref = 2.0;
        for (int a = 0; a < 4; ++a) ref += coef[static_cast<std::size_t>(j0 + a)] * v[a];
        CHECK(curve_value(b, coef.data(), 2.0, x) == Approx(ref));
    }
    CHECK(std::isnan(curve_value(b, coef.data(), 2.0, -1.01)));
    CHECK(std::isnan(curve_value(b, coef.data(), 2.0, 3.01)));
    CHECK(std::isnan(curve_value(b, coef.data(), 2.0, NAN)));
}

TEST_CASE("curve_distance is the RMS of the centred gap over the central range, in sd(y)", "[curves]") {
    Rng rng(3);
    const std::size_t n = 101;
    std::vector<double> x(n), y(n), g(n), h(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = rng.normal();
        y[i] = 2.0 * rng.normal();
        g[i] = x[i] * x[i];
        h[i] = i % 17 == 0 ? NAN : 0.5 * x[i];
    }
    // brute force: quantiles of x where h is finite, then the gap
    std::vector<double> xs;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(h[i])) xs.push_back(x[i]);
    }
    std::sort(xs.begin(), xs.end());
    const double lo = quantile7(xs, 0.05), hi = quantile7(xs, 0.95);
    std::vector<double> d;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(h[i]) && x[i] >= lo && x[i] <= hi) d.push_back(g[i] - h[i]);
    }
    double m = 0.0;
    for (double v : d) m += v;
    m /= static_cast<double>(d.size());
    double ss = 0.0;
    for (double v : d) ss += (v - m) * (v - m);
    double ym = 0.0;
    for (double v : y) ym += v;
    ym /= static_cast<double>(n);
    double yss = 0.0;
    for (double v : y) yss += (v - ym) * (v - ym);
    const double ref = std::sqrt(ss / static_cast<double>(d.size())) / std::sqrt(yss / static_cast<double>(n - 1));
    CHECK(curve_distance(g.data(), x.data(), y.data(), h.data(), n, 0.05, 0.95) == Approx(ref).epsilon(1e-12));
    // a constant shift is no distance
    std::vector<double> g2(n);
    for (std::size_t i = 0; i < n; ++i) g2[i] = std::isfinite(h[i]) ? h[i] + 3.0 : 0.0;
    CHECK(curve_distance(g2.data(), x.data(), y.data(), h.data(), n, 0.05, 0.95) == Approx(0.0).margin(1e-12));
    // nothing to compare
    std::vector<double> none(n, NAN);
    CHECK(std::isnan(curve_distance(g.data(), x.data(), y.data(), none.data(), n, 0.05, 0.95)));
}

TEST_CASE("gap_ftest is the F test of the gap against a constant with a dense least-squares fit", "[curves]") {
    Rng rng(23);
    const std::size_t n = 90;
    const int k = 8;
    std::vector<double> x(n), r(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = 4.0 * rng.uniform() - 2.0;
        r[i] = 0.3 * std::sin(2.0 * x[i]) + 0.5 * rng.normal();
    }
    r[5] = NAN;  // left out
    // dense reference: QR least squares of r on the B-spline basis
    std::vector<int> rows;
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(r[i])) continue;
        rows.push_back(static_cast<int>(i));
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    const PsBasis b = PsBasis::for_range(lo, hi, k);
    const auto m = static_cast<Eigen::Index>(rows.size());
    Eigen::MatrixXd Z = Eigen::MatrixXd::Zero(m, k);
    Eigen::VectorXd y(m);
    for (Eigen::Index i = 0; i < m; ++i) {
        double v[4];
        const int j0 = b.eval(x[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])], v);
        for (int a = 0; a < 4; ++a) Z(i, j0 + a) = v[a];
        y[i] = r[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])];
    }
    const Eigen::VectorXd beta = Z.colPivHouseholderQr().solve(y);
    const double rss1 = (y - Z * beta).squaredNorm();
    const double rss0 = (y.array() - y.mean()).matrix().squaredNorm();
    const double df1 = k - 1, df2 = static_cast<double>(m) - k;
    const double p = f_upper((rss0 - rss1) / df1 / (rss1 / df2), df1, df2);
    CHECK(gap_ftest(x.data(), r.data(), n, k) == Approx(p).epsilon(1e-8));
    // three distinct x values: nothing to test
    std::vector<double> x3(n);
    for (std::size_t i = 0; i < n; ++i) x3[i] = static_cast<double>(i % 3);
    CHECK(std::isnan(gap_ftest(x3.data(), r.data(), n, k)));
    // an exact fit: NaN
    std::vector<double> flat(n, 1.0);
    CHECK(std::isnan(gap_ftest(x.data(), flat.data(), n, k)));
}

TEST_CASE("gap_ftest's wild p-value holds its size where the F distribution does not", "[curves]") {
    // The gap is pure noise (a true null) whose spread grows with |x|: the F
    // test's constant-variance null is wrong, the wild bootstrap follows it.
    Rng data(31);
    const int reps = 300;
    const std::size_t n = 200;
    int rej_f = 0, rej_w = 0;
    std::vector<double> x(n), r(n);
    for (int rep = 0; rep < reps; ++rep) {
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = 2.0 * data.uniform() - 1.0;
            r[i] = (0.05 + 2.0 * x[i] * x[i] * x[i] * x[i]) * data.normal();
        }
        Rng rng(1000 + static_cast<std::uint64_t>(rep));
        if (gap_ftest(x.data(), r.data(), n, 8) < 0.05) ++rej_f;
        if (gap_ftest(x.data(), r.data(), n, 8, &rng) < 0.05) ++rej_w;
    }
    const double se = std::sqrt(0.05 * 0.95 / reps);
    CHECK(static_cast<double>(rej_f) / reps > 0.05 + 4.0 * se);
    CHECK(std::fabs(static_cast<double>(rej_w) / reps - 0.05) < 3.5 * se);
    // same stream, same p-value
    Rng a(5), b(5);
    CHECK(gap_ftest(x.data(), r.data(), n, 8, &a) == gap_ftest(x.data(), r.data(), n, 8, &b));
}
