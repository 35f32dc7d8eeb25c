#include <catch2/catch.hpp>

#include <Eigen/Dense>

#include <cmath>
#include <vector>

#include "bulkcausal/distributions.hpp"
#include "bulkcausal/pairwise.hpp"
#include "bulkcausal/rng.hpp"

using namespace bulkcausal;

namespace {

// Cox-de Boor recursion: B-spline j of order `ord` on `t` at x.
double cox_de_boor(const std::vector<double>& t, int j, int ord, double x) {
    if (ord == 1) return (t[j] <= x && x < t[j + 1]) ? 1.0 : 0.0;
    double a = 0.0, b = 0.0;
    if (t[j + ord - 1] > t[j]) a = (x - t[j]) / (t[j + ord - 1] - t[j]) * cox_de_boor(t, j, ord - 1, x);
    if (t[j + ord] > t[j + 1]) b = (t[j + ord] - x) / (t[j + ord] - t[j + 1]) * cox_de_boor(t, j + 1, ord - 1, x);
    return a + b;
}

// The dense basis of a regulator over all its rows.
Eigen::MatrixXd dense_basis(const PsBasis& b, const std::vector<double>& x) {
    Eigen::MatrixXd B = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(x.size()), b.k);
    double v[4];
    for (std::size_t i = 0; i < x.size(); ++i) {
        const int j0 = b.eval(x[i], v);
        for (int a = 0; a < 4; ++a) B(static_cast<Eigen::Index>(i), j0 + a) = v[a];
    }
    return B;
}

std::vector<int> all_rows(std::size_t n) {
    std::vector<int> r(n);
    for (std::size_t i = 0; i < n; ++i) r[i] = static_cast<int>(i);
    return r;
}

// Profiled REML of the penalised fit at lambda, from dense matrices.
double naive_reml(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::VectorXd& y, double lambda) {
    const double n = static_cast<double>(y.size());
    const int k = static_cast<int>(B.cols());
    const Eigen::MatrixXd A = B.transpose() * B + lambda * S;
    const Eigen::VectorXd c = A.ldlt().solve(B.transpose() * y);
    const double D = (y - B * c).squaredNorm() + lambda * c.dot(S * c);
    return (n - 2) * std::log(D) + std::log(A.determinant()) - (k - 2) * std::log(lambda);
}

}  // namespace

TEST_CASE("the basis equals the Cox-de Boor recursion on mgcv's knots and sums to one", "[pspline]") {
    const PsBasis b = PsBasis::for_range(-1.3, 2.9, 9);
    std::vector<double> t(13);
    for (int j = 0; j < 13; ++j) t[static_cast<std::size_t>(j)] = b.t0 + j * b.dx;
    // mgcv's placement: the range widened by 0.1% each side is [t_3, t_k]
    CHECK(t[3] == Approx(-1.3 - 0.0042).epsilon(1e-12));
    CHECK(t[9] == Approx(2.9 + 0.0042).epsilon(1e-12));
    Rng rng(1);
    for (int rep = 0; rep < 200; ++rep) {
        const double x = -1.3 + 4.2 * rng.uniform();
        double v[4];
        const int j0 = b.eval(x, v);
        double total = 0.0;
        for (int j = 0; j < 9; ++j) {
            const double want = cox_de_boor(t, j, 4, x);
            const double got = (j >= j0 && j < j0 + 4) ? v[j - j0] : 0.0;
            CHECK(got == Approx(want).margin(1e-12));
            total += got;
        }
        CHECK(total == Approx(1.0).epsilon(1e-12));
    }
}

TEST_CASE("the penalty is the second-difference penalty scaled to unit column sum", "[pspline]") {
    const Eigen::MatrixXd S = difference_penalty(7);
    CHECK(S.cwiseAbs().colwise().sum().maxCoeff() == Approx(1.0));
    // constants and lines are not penalised
    Eigen::VectorXd one = Eigen::VectorXd::Ones(7), line(7);
    for (int j = 0; j < 7; ++j) line[j] = j;
    CHECK((S * one).norm() == Approx(0.0).margin(1e-12));
    CHECK((S * line).norm() == Approx(0.0).margin(1e-12));
    CHECK(S(3, 3) == Approx(6.0 / 16.0));
}

TEST_CASE("a fit at the chosen lambda equals the dense penalised least squares solution", "[pspline]") {
    Rng rng(2);
    const std::size_t n = 300;
    std::vector<double> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = 3.0 * rng.uniform();
        y[i] = std::sin(2.0 * x[i]) + 0.3 * rng.normal();
    }
    const auto reg = prepare_regulator(x.data(), all_rows(n), 10);
    PairOptions opt;
    Rng unused(3);
    const PairFit fit = fit_target(*reg, y.data(), opt, unused);
    REQUIRE(fit.status == PairStatus::Ok);

    const Eigen::MatrixXd B = dense_basis(reg->basis, x);
    const Eigen::MatrixXd S = difference_penalty(10);
    Eigen::VectorXd yv(static_cast<Eigen::Index>(n));
    for (std::size_t i = 0; i < n; ++i) yv[static_cast<Eigen::Index>(i)] = y[i];
    const double lambda = fit.lambda;
    const Eigen::MatrixXd A = B.transpose() * B + lambda * S;
    const Eigen::VectorXd c = A.ldlt().solve(B.transpose() * yv);
    const Eigen::VectorXd fitted = B * c;
    for (std::size_t i = 0; i < n; ++i) {
        double v[4];
        const int j0 = reg->basis.eval(x[i], v);
        double f = fit.mean_y;
        for (int a = 0; a < 4; ++a) f += v[a] * fit.coef[static_cast<std::size_t>(j0 + a)];
        CHECK(f == Approx(fitted[static_cast<Eigen::Index>(i)]).margin(1e-9));
    }
    // edf = trace of the influence matrix, minus the intercept
    const double edf = (A.ldlt().solve(B.transpose() * B)).trace() - 1.0;
    CHECK(fit.edf == Approx(edf).epsilon(1e-9));
    const double rss = (yv - fitted).squaredNorm();
    const double tss = (yv.array() - yv.mean()).matrix().squaredNorm();
    CHECK(fit.r2_spline == Approx(1.0 - rss / tss).epsilon(1e-9));
    // lambda minimises the naive REML: no better value nearby or on a coarse grid
    const double at = naive_reml(B, S, yv, lambda);
    CHECK(at <= naive_reml(B, S, yv, lambda * 1.01) + 1e-9);
    CHECK(at <= naive_reml(B, S, yv, lambda / 1.01) + 1e-9);
    for (double l = 1e-4; l < 1e6; l *= 3) CHECK(at <= naive_reml(B, S, yv, l) + 1e-9);
    // nl from the definition: |f - P f|^2 / |f - mean f|^2
    Eigen::MatrixXd X(static_cast<Eigen::Index>(n), 2);
    for (std::size_t i = 0; i < n; ++i) {
        X(static_cast<Eigen::Index>(i), 0) = 1.0;
        X(static_cast<Eigen::Index>(i), 1) = x[i];
    }
    const Eigen::VectorXd proj = X * (X.transpose() * X).ldlt().solve(X.transpose() * fitted);
    const double nl = (fitted - proj).squaredNorm() / (fitted.array() - fitted.mean()).matrix().squaredNorm();
    CHECK(fit.nl == Approx(nl).epsilon(1e-8));
}

TEST_CASE("pairs give the same fits on any number of threads", "[pspline]") {
    Rng rng(4);
    const std::size_t n = 120, g = 6;
    std::vector<double> data(n * g);
    for (auto& v : data) v = rng.exponential();
    data[5] = NAN;  // gene 0 misses one value
    data[n * 2 + 7] = NAN;
    std::vector<int> reg, tgt;
    for (int a = 0; a < static_cast<int>(g); ++a) {
        for (int b = 0; b < static_cast<int>(g); ++b) {
            reg.push_back(a);
            tgt.push_back(b);
        }
    }
    PairData d{data.data(), n, g, nullptr};
    PairOptions opt;
    opt.nboot = 10;
    const auto one = fit_pairs(d, reg, tgt, opt, 1);
    const auto two = fit_pairs(d, reg, tgt, opt, 2);
    REQUIRE(one.fits.size() == 36);
    for (std::size_t i = 0; i < 36; ++i) {
        const PairFit& a = one.fits[i];
        const PairFit& b = two.fits[i];
        CHECK(a.status == b.status);
        CHECK(a.coef == b.coef);
        if (a.status == PairStatus::Ok) {
            CHECK(a.nl == b.nl);
            CHECK(a.nl_lower == b.nl_lower);
            CHECK(a.lambda == b.lambda);
        }
        if (reg[i] == tgt[i]) CHECK(a.status == PairStatus::SameGene);
    }
    // missing values: gene 0 uses n - 1 rows, with gene 2 n - 2 rows
    CHECK(one.fits[1].n == static_cast<int>(n - 1));
    CHECK(one.fits[2].n == static_cast<int>(n - 2));
    CHECK(one.fits[2 * 6 + 1].n == static_cast<int>(n - 1));
    // each context's support counts its regulator's values per knot
    // interval, over the rows of the pair (or regulator) it serves
    for (std::size_t i = 0; i < 36; ++i) {
        if (one.context[i] < 0) continue;
        const auto& ctx = *one.contexts[static_cast<std::size_t>(one.context[i])];
        REQUIRE(ctx.support.size() == static_cast<std::size_t>(opt.k - 3));
        std::vector<int> ref(ctx.support.size(), 0);
        const double* x = &data[static_cast<std::size_t>(reg[i]) * n];
        const double* y = &data[static_cast<std::size_t>(tgt[i]) * n];
        for (std::size_t r = 0; r < n; ++r) {
            if (std::isnan(x[r]) || std::isnan(y[r])) continue;
            const double u = std::floor((x[r] - ctx.basis.t0) / ctx.basis.dx) - 3.0;
            ++ref[static_cast<std::size_t>(std::min(std::max(u, 0.0), static_cast<double>(opt.k - 4)))];
        }
        CHECK(ctx.support == ref);
    }
}

TEST_CASE("the F distribution's upper tail matches R's pf", "[distributions]") {
    // reference values from R 4.2.2: pf(f, d1, d2, lower.tail = FALSE)
    CHECK(f_upper(2.5, 3, 20) == Approx(0.088843751937689272).epsilon(1e-10));
    CHECK(f_upper(0.3, 8, 1990) == Approx(0.96613692660477546).epsilon(1e-10));
    CHECK(f_upper(40, 7, 100) == Approx(2.8182653314530763e-26).epsilon(1e-8));
    CHECK(beta_inc(2.5, 7.25, 0.3) == Approx(0.66048227358190736).epsilon(1e-10));
    // closed forms: I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b
    CHECK(beta_inc(3.5, 1, 0.4) == Approx(std::pow(0.4, 3.5)).epsilon(1e-12));
    CHECK(beta_inc(1, 4.5, 0.4) == Approx(1 - std::pow(0.6, 4.5)).epsilon(1e-12));
    CHECK(f_upper(0.0, 3, 5) == 1.0);
    CHECK(std::isnan(f_upper(NAN, 3, 5)));
}
