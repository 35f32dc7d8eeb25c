// The penalised regression spline smoother: a cubic P-spline basis, its
// difference penalty, and the fit of y = f(x) + e with the smoothing
// parameter chosen by REML or GCV.  Kept apart from the batched pairwise
// fitting (pairwise.hpp) because the spline conditional-independence test
// (splineci.hpp) uses the smoother alone.
//
// The model is mgcv's s(x, bs = "ps", k = k) with an intercept: a cubic
// B-spline basis of dimension k on equally spaced knots (mgcv's placement:
// the data range widened by 0.1% on each side, k - 3 intervals inside it,
// three more on each side), a second-order difference penalty scaled as mgcv
// scales it (divided by its largest absolute column sum, the basis rows
// summing to one), and the smoothing parameter chosen by REML or GCV.
// mgcv's sum-to-zero constraint plus intercept spans the same functions with
// the same penalty as the unconstrained basis (the basis rows sum to one and
// the penalty ignores constants), so the unconstrained form is fitted here.
//
// For each regulator the basis B (n x k) and the generalised eigenproblem
// tau S v = s (B'B + tau S) v are solved once; V' B' M V = diag(1 - s) and
// V' tau S V = diag(s).  A target then costs one projection w = V' B' y (four
// non-zeros per row of B) and O(k) per candidate smoothing parameter:
// with d_j = 1 - s_j + l s_j (l = lambda / tau),
//   fitted coefficients  c = V (w / d),
//   RSS + lambda c'Sc    = |y_c|^2 - sum w_j^2 / d_j,
//   edf                  = sum (1 - s_j) / d_j,
//   log|B'B + lambda S|  = const + sum log d_j.
#ifndef BULKCAUSAL_PSPLINE_HPP
#define BULKCAUSAL_PSPLINE_HPP

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "bulkcausal/counts.hpp"
#include "bulkcausal/numeric.hpp"

namespace bulkcausal {

enum class SmoothMethod { REML, GCV };

// Cubic B-splines on the knots t_j = t0 + j dx, j = 0..k+3.
struct PsBasis {
    int k = 10;
    double t0 = 0.0;
    double dx = 1.0;
    double lo = 0.0;  // data range the knots were placed for
    double hi = 0.0;

    // mgcv's knots for data on [xmin, xmax] (xmin < xmax).
    static PsBasis for_range(double xmin, double xmax, int k) {
        if (k < 4) throw std::invalid_argument("k must be at least 4");
        if (!(xmax > xmin)) throw std::invalid_argument("the regulator range is empty");
        PsBasis b;
        b.k = k;
        b.lo = xmin;
        b.hi = xmax;
        const double r = xmax - xmin;
        const double xl = xmin - 0.001 * r;
        const double xu = xmax + 0.001 * r;
        b.dx = (xu - xl) / static_cast<double>(k - 3);
        b.t0 = xl - 3.0 * b.dx;
        return b;
    }

    // The four non-zero basis values at x (inside the knot range used for
    // data) and the index of the first; returns that index.
    int eval(double x, double v[4]) const {
        const double u = (x - t0) / dx;
        int i = static_cast<int>(std::floor(u));
        i = std::min(std::max(i, 3), k - 1);
        cubic_bspline_values(u - i, v);
        return i - 3;
    }
};

// The second-order difference penalty D'D divided by its largest absolute
// column sum (mgcv's scaling for a basis whose rows sum to one).
inline Eigen::MatrixXd difference_penalty(int k) {
    Eigen::MatrixXd D = Eigen::MatrixXd::Zero(k - 2, k);
    for (int i = 0; i < k - 2; ++i) {
        D(i, i) = 1.0;
        D(i, i + 1) = -2.0;
        D(i, i + 2) = 1.0;
    }
    Eigen::MatrixXd S = D.transpose() * D;
    const double scale = S.cwiseAbs().colwise().sum().maxCoeff();
    return S / scale;
}

// Everything about one regulator (over the observations `rows`) that every
// target reuses.
struct RegulatorFit {
    PsBasis basis;
    std::vector<int> rows;      // observations used (indices into the data)
    std::vector<int> first;     // per used row: first non-zero basis column
    std::vector<double> vals;   // per used row: the four basis values
    std::vector<double> xc;     // centred regulator values
    double xbar = 0.0;
    double sxx = 0.0;
    Eigen::MatrixXd V;          // k x k
    Eigen::VectorXd s;          // generalised eigenvalues in [0, 1]
    double tau = 1.0;
    Eigen::VectorXd vb;         // V' B' 1
    Eigen::VectorXd vg;         // V' B' xc
    int rank = 0;               // rank of the unpenalised basis on the data
    std::vector<int> support;   // observations per knot interval (k - 3), by x
    // Count data (prepare_regulator_rates): row i of the design is the
    // posterior expectation of the basis at the regulator's rate (n x k,
    // row-major) instead of the basis at x, and nl is measured over the
    // rate distribution (grid rates `rate_grid` with weights `rate_weight`).
    std::vector<double> dense;
    std::vector<double> rate_grid, rate_weight;
    std::size_t n() const { return rows.size(); }
};

// Number of distinct values of x[rows].
inline std::size_t count_distinct(const double* x, const std::vector<int>& rows) {
    std::vector<double> v;
    v.reserve(rows.size());
    for (int r : rows) v.push_back(x[r]);
    std::sort(v.begin(), v.end());
    return static_cast<std::size_t>(std::unique(v.begin(), v.end()) - v.begin());
}

inline void finish_regulator(RegulatorFit& reg, const Eigen::MatrixXd& M, const Eigen::VectorXd& b,
                             const Eigen::VectorXd& g);

// Builds the regulator's basis and eigen-decomposition over `rows`, whose
// x values must be finite with at least k distinct values.
inline std::unique_ptr<RegulatorFit> prepare_regulator(const double* x, std::vector<int> rows, int k) {
    auto f = std::make_unique<RegulatorFit>();
    f->rows = std::move(rows);
    const std::size_t n = f->rows.size();
    double xmin = std::numeric_limits<double>::infinity();
    double xmax = -xmin;
    double xbar = 0.0;
    for (int r : f->rows) {
        xmin = std::min(xmin, x[r]);
        xmax = std::max(xmax, x[r]);
        xbar += x[r];
    }
    xbar /= static_cast<double>(n);
    f->xbar = xbar;
    f->basis = PsBasis::for_range(xmin, xmax, k);
    f->first.resize(n);
    f->support.assign(static_cast<std::size_t>(k - 3), 0);
    f->vals.resize(4 * n);
    f->xc.resize(n);
    Eigen::MatrixXd M = Eigen::MatrixXd::Zero(k, k);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
    Eigen::VectorXd g = Eigen::VectorXd::Zero(k);
    for (std::size_t i = 0; i < n; ++i) {
        const double xi = x[f->rows[i]];
        double* v = &f->vals[4 * i];
        const int j0 = f->basis.eval(xi, v);
        f->first[i] = j0;
        ++f->support[static_cast<std::size_t>(j0)];
        f->xc[i] = xi - xbar;
        f->sxx += f->xc[i] * f->xc[i];
        for (int a = 0; a < 4; ++a) {
            b[j0 + a] += v[a];
            g[j0 + a] += v[a] * f->xc[i];
            for (int c = 0; c < 4; ++c) M(j0 + a, j0 + c) += v[a] * v[c];
        }
    }
    finish_regulator(*f, M, b, g);
    return f;
}

// The penalised eigen-decomposition of a regulator whose cross-products
// are M = B'B, b = B'1 and g = B'xc.
inline void finish_regulator(RegulatorFit& reg, const Eigen::MatrixXd& M, const Eigen::VectorXd& b,
                             const Eigen::VectorXd& g) {
    RegulatorFit* f = &reg;
    const int k = f->basis.k;
    const Eigen::MatrixXd S = difference_penalty(k);
    f->tau = M.trace() / S.trace();
    const Eigen::MatrixXd A = f->tau * S;
    const Eigen::MatrixXd Bm = M + A;
    Eigen::GeneralizedSelfAdjointEigenSolver<Eigen::MatrixXd> es(A, Bm);
    if (es.info() != Eigen::Success) throw std::runtime_error("eigen-decomposition of the spline basis failed");
    f->V = es.eigenvectors();
    f->s = es.eigenvalues().cwiseMax(0.0).cwiseMin(1.0);
    // The penalty's null space (constant and linear) has s = 0 exactly.
    for (int j = 0; j < 2 && j < k; ++j) f->s[j] = 0.0;
    f->vb = f->V.transpose() * b;
    f->vg = f->V.transpose() * g;
    f->rank = 0;
    for (int j = 0; j < k; ++j) {
        if (1.0 - f->s[j] > 1e-10) ++f->rank;
    }
}

// The regulator of a count-aware fit: x holds the regulator's posterior
// mean rates, `post` (rows.size() x G, row-major) each used observation's
// posterior probabilities of the grid rates of `prior_grid` (weights
// `prior_weight`).  The spline is a curve f of the rate; since
// E[f(rate) | count] = E[B(rate) | count] c, the design row of observation
// i is its posterior mean basis sum_g post_ig B(grid_g): regressing the
// target on it estimates f itself, not f smoothed by the counts' noise.
// The basis covers the grid rates of weight above 1e-6 (others clamped;
// all rates of positive weight when fewer than two reach 1e-6).
inline std::unique_ptr<RegulatorFit> prepare_regulator_rates(const double* x, std::vector<int> rows, int k,
                                                             const std::vector<double>& post,
                                                             const std::vector<double>& prior_grid,
                                                             const std::vector<double>& prior_weight) {
    auto f = std::make_unique<RegulatorFit>();
    f->rows = std::move(rows);
    const std::size_t n = f->rows.size(), G = prior_grid.size();
    if (post.size() != n * G || prior_weight.size() != G) throw std::invalid_argument("posterior of the wrong size");
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double floor_w : {1e-6, 0.0}) {
        for (std::size_t g = 0; g < G; ++g) {
            if (prior_weight[g] > floor_w) {
                lo = std::min(lo, prior_grid[g]);
                hi = std::max(hi, prior_grid[g]);
            }
        }
        if (hi > lo) break;
    }
    if (!(hi > lo)) throw std::invalid_argument("the rate distribution has a single support point");
    f->basis = PsBasis::for_range(lo, hi, k);
    const auto K = static_cast<std::size_t>(k);
    // Basis at the grid rates (G x k).
    std::vector<double> bg(G * K, 0.0);
    double v[4];
    for (std::size_t g = 0; g < G; ++g) {
        const int j0 = f->basis.eval(std::min(std::max(prior_grid[g], lo), hi), v);
        for (int a = 0; a < 4; ++a) bg[g * K + static_cast<std::size_t>(j0 + a)] = v[a];
    }
    f->rate_grid = prior_grid;
    f->rate_weight = prior_weight;
    double xbar = 0.0;
    for (int r : f->rows) xbar += x[r];
    xbar /= static_cast<double>(n);
    f->xbar = xbar;
    f->xc.resize(n);
    f->support.assign(K - 3, 0);
    f->dense.assign(n * K, 0.0);
    Eigen::MatrixXd M = Eigen::MatrixXd::Zero(k, k);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k), gx = Eigen::VectorXd::Zero(k);
    for (std::size_t i = 0; i < n; ++i) {
        double* d = &f->dense[i * K];
        const double* p = &post[i * G];
        for (std::size_t g = 0; g < G; ++g) {
            if (p[g] == 0.0) continue;
            for (std::size_t j = 0; j < K; ++j) d[j] += p[g] * bg[g * K + j];
        }
        f->xc[i] = x[f->rows[i]] - xbar;
        f->sxx += f->xc[i] * f->xc[i];
        ++f->support[static_cast<std::size_t>(f->basis.eval(x[f->rows[i]], v))];
        const Eigen::Map<const Eigen::VectorXd> di(d, k);
        M.noalias() += di * di.transpose();
        b += di;
        gx += f->xc[i] * di;
    }
    finish_regulator(*f, M, b, gx);
    return f;
}

namespace detail {

// The O(k) sums every smoothing parameter l = lambda / tau needs, for
// projections w (V' B' y_c): with d_j = 1 - s_j + l s_j and a_j = w_j / d_j,
// cross = sum w_j a_j (= y'f), fit2 = sum (1 - s_j) a_j^2 (= |f|^2),
// edf = sum (1 - s_j) / d_j and logdet = sum log d_j.
struct SplineSums {
    double cross = 0.0;
    double fit2 = 0.0;
    double edf = 0.0;
    double logdet = 0.0;
    double rss(double tss) const { return std::max(tss - 2.0 * cross + fit2, 0.0); }
};

inline SplineSums spline_sums(const Eigen::VectorXd& s, const Eigen::VectorXd& w, double l) {
    SplineSums t;
    for (Eigen::Index j = 0; j < s.size(); ++j) {
        const double dj = 1.0 - s[j] + l * s[j];
        const double a = w[j] / dj;
        t.cross += w[j] * a;
        t.logdet += std::log(dj);
        t.edf += (1.0 - s[j]) / dj;
        t.fit2 += (1.0 - s[j]) * a * a;
    }
    return t;
}

// The criterion for the smoothing parameter at rho = log(lambda / tau).
struct Criterion {
    const Eigen::VectorXd& s;
    const Eigen::VectorXd& w;  // V' B' y_c
    double tss;
    double n;
    int k;
    SmoothMethod method;

    double operator()(double rho) const {
        const SplineSums t = spline_sums(s, w, std::exp(rho));
        if (method == SmoothMethod::REML) {
            // RSS + lambda c'Sc = tss - sum w_j^2 / d_j
            const double D = std::max(tss - t.cross, 1e-300 * std::max(tss, 1.0));
            return (n - 2.0) * std::log(D) + t.logdet - (k - 2) * rho;
        }
        const double den = n - t.edf;
        return n * t.rss(tss) / (den * den);
    }
};

// The search range of rho: from where every penalised direction is barely
// penalised to where all are penalised away.
inline void rho_range(const Eigen::VectorXd& s, double& lo, double& hi) {
    double rmin = std::numeric_limits<double>::infinity(), rmax = 0.0;
    for (int j = 0; j < s.size(); ++j) {
        if (s[j] <= 0.0 || s[j] >= 1.0 - 1e-10) continue;
        const double r = s[j] / (1.0 - s[j]);
        rmin = std::min(rmin, r);
        rmax = std::max(rmax, r);
    }
    if (!(rmax > 0.0)) {
        lo = -10.0;
        hi = 10.0;
        return;
    }
    lo = -std::log(rmax) - 8.0;
    hi = -std::log(rmin) + 14.0;
}

// Chooses rho for the projections w: a grid, then Brent around the best
// grid point.
inline double choose_rho(const Criterion& crit, double lo, double hi) {
    const int ngrid = 48;
    double best = lo, fbest = std::numeric_limits<double>::infinity();
    int ibest = 0;
    for (int i = 0; i < ngrid; ++i) {
        const double rho = lo + (hi - lo) * i / (ngrid - 1);
        const double f = crit(rho);
        if (f < fbest) {
            fbest = f;
            best = rho;
            ibest = i;
        }
    }
    const double step = (hi - lo) / (ngrid - 1);
    if (ibest == 0 || ibest == ngrid - 1) return best;
    const double r = brent_min(crit, best - step, best + step, 1e-9);
    return crit(r) <= fbest ? r : best;
}

}  // namespace detail

// The spline part of a fit for the centred projections w and target sum of
// squares tss: chosen lambda, d, coefficients a = w / d in the V basis.
struct SplineSolution {
    double rho = 0.0;
    Eigen::VectorXd d;
    Eigen::VectorXd a;
    double rss = 0.0;
    double edf_total = 0.0;
};

inline SplineSolution solve_spline(const RegulatorFit& reg, const Eigen::VectorXd& w, double tss, SmoothMethod method,
                                   double lambda_scale = 1.0) {
    const int k = reg.basis.k;
    const double n = static_cast<double>(reg.n());
    detail::Criterion crit{reg.s, w, tss, n, k, method};
    double lo, hi;
    detail::rho_range(reg.s, lo, hi);
    SplineSolution sol;
    sol.rho = detail::choose_rho(crit, lo, hi) + std::log(lambda_scale);
    const double l = std::exp(sol.rho);
    sol.d = (Eigen::VectorXd::Ones(k) - reg.s) + l * reg.s;
    sol.a = w.cwiseQuotient(sol.d);
    const detail::SplineSums t = detail::spline_sums(reg.s, w, l);
    sol.edf_total = t.edf;
    sol.rss = t.rss(tss);
    return sol;
}

// B' v for values v(i) at the regulator's used rows i = 0..n-1 (four
// non-zeros per basis row).
template <class Value>
Eigen::VectorXd project_values(const RegulatorFit& reg, Value&& value) {
    Eigen::VectorXd p = Eigen::VectorXd::Zero(reg.basis.k);
    const std::size_t n = reg.n();
    if (!reg.dense.empty()) {
        const auto K = static_cast<std::size_t>(reg.basis.k);
        for (std::size_t i = 0; i < n; ++i) {
            const double vi = value(i);
            const double* d = &reg.dense[i * K];
            for (std::size_t j = 0; j < K; ++j) p[static_cast<Eigen::Index>(j)] += d[j] * vi;
        }
        return p;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const double vi = value(i);
        const double* v = &reg.vals[4 * i];
        const int j0 = reg.first[i];
        p[j0] += v[0] * vi;
        p[j0 + 1] += v[1] * vi;
        p[j0 + 2] += v[2] * vi;
        p[j0 + 3] += v[3] * vi;
    }
    return p;
}

// B' y_c for target values y (indexed like the data) with mean ybar.
inline Eigen::VectorXd project(const RegulatorFit& reg, const double* y, double ybar) {
    return project_values(reg, [&](std::size_t i) { return y[reg.rows[i]] - ybar; });
}

// The spline with coefficients c (B-spline basis) at used row i.
inline double spline_at(const RegulatorFit& reg, const Eigen::VectorXd& c, std::size_t i) {
    if (!reg.dense.empty()) {
        const int k = reg.basis.k;
        return Eigen::Map<const Eigen::VectorXd>(&reg.dense[i * static_cast<std::size_t>(k)], k).dot(c);
    }
    const double* v = &reg.vals[4 * i];
    const int j0 = reg.first[i];
    return v[0] * c[j0] + v[1] * c[j0 + 1] + v[2] * c[j0 + 2] + v[3] * c[j0 + 3];
}

}  // namespace bulkcausal

#endif
