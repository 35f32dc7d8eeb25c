// Rates behind counts: empirical-Bayes posterior means and reliability.
//
// A gene's count in observation i is Poisson, or negative binomial with
// variance mu + dispersion * mu^2, with mean mu = s_i * lambda_i: s_i the
// observation's size factor, lambda_i its rate.  The rates of one gene are
// given a prior on a grid of rates (0 and log-spaced positive rates), and
// each observation's rate is estimated by its posterior mean
// E[lambda_i | count_i, s_i].
//
// The prior is a log-spline density (Efron's g-modelling): the weight of
// rate 0 free, the log weights of the positive rates a cubic B-spline of the
// log rate with CountModel::df coefficients, fitted by penalised maximum
// likelihood over all observations (damped Newton steps).  The alternative,
// the non-parametric maximum likelihood estimate of Kiefer and Wolfowitz
// (EM on free weights, df = 0), puts the weight on a few isolated atoms.
// Posterior means hardly differ, but a count-aware curve rests on the
// prior's shape (its design is the posterior mean basis): between the atoms
// the curve is left free, and with noisy counts (negative binomial at
// reliability 0.5) it oscillates there.
//
// Why the posterior mean: when a target's expected value is affine in the
// regulator's rate, E[y | count] = a + b E[lambda | count], so regressing the
// target on the regulator's posterior mean keeps an affine relation affine
// (slope b, no attenuation) however noisy the counts.  Naive normalised
// counts do not: their regression is attenuated by the reliability and bent
// wherever the rate distribution is not Gamma.
#ifndef BULKCAUSAL_COUNTS_HPP
#define BULKCAUSAL_COUNTS_HPP

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

namespace bulkcausal {

struct CountModel {
    double dispersion = 0.0;  // technical overdispersion given the rate: 0 is Poisson
    int grid_size = 64;       // support points of the prior (one of them 0)
    int max_iter = 100;       // EM or Newton iterations at most
    double tol = 1e-8;        // stop when the mean log-likelihood gains less than this
    int df = 7;               // B-spline coefficients of the log prior (0: free weights by EM)
    double penalty = 0.01;    // ridge penalty on the log prior's coefficients (identifies them)
};

// A discrete prior: rates `grid` with probabilities `weight`.
struct RatePrior {
    std::vector<double> grid;
    std::vector<double> weight;
    double loglik = -std::numeric_limits<double>::infinity();  // mean log-likelihood per observation
    int iterations = 0;
};

namespace detail {

// log p(c | mean mu) up to terms free of mu (the same terms for every mu,
// including mu = 0).
inline double count_loglik(double c, double mu, double dispersion) {
    if (mu <= 0.0) return c > 0.0 ? -std::numeric_limits<double>::infinity() : 0.0;
    if (dispersion <= 0.0) return c * std::log(mu) - mu;
    // r log(r / (r + mu)) + c log(mu / (r + mu)): 0 at mu = 0 for c = 0,
    // as the rate-0 branch above.
    const double r = 1.0 / dispersion;
    return c * std::log(mu / (r + mu)) - r * std::log1p(mu / r);
}

// The observations' likelihoods on the grid, each row scaled to a maximum
// of one (n x G, row-major).
inline std::vector<double> grid_likelihood(const double* counts, const double* size, std::size_t n,
                                           const std::vector<double>& grid, double dispersion) {
    const std::size_t G = grid.size();
    std::vector<double> L(n * G);
    for (std::size_t i = 0; i < n; ++i) {
        double* row = &L[i * G];
        double mx = -std::numeric_limits<double>::infinity();
        for (std::size_t g = 0; g < G; ++g) {
            row[g] = count_loglik(counts[i], size[i] * grid[g], dispersion);
            mx = std::max(mx, row[g]);
        }
        for (std::size_t g = 0; g < G; ++g) row[g] = std::exp(row[g] - mx);
    }
    return L;
}

}  // namespace detail

// Checks counts and size factors: counts whole and non-negative, size
// factors finite and positive.  Throws std::invalid_argument naming the
// first offending observation (1-based).
inline void check_counts(const double* counts, const double* size, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const double c = counts[i];
        if (!std::isfinite(c) || c < 0.0 || c != std::floor(c)) {
            throw std::invalid_argument("count " + std::to_string(c) + " of observation " + std::to_string(i + 1) +
                                        " is not a non-negative whole number");
        }
        if (!std::isfinite(size[i]) || !(size[i] > 0.0)) {
            throw std::invalid_argument("size factor " + std::to_string(size[i]) + " of observation " +
                                        std::to_string(i + 1) + " is not finite and positive");
        }
    }
}

namespace detail {
inline void em_steps(RatePrior& prior, const double* counts, const double* size, std::size_t n,
                     const CountModel& cm);
inline bool spline_prior(RatePrior& prior, const double* counts, const double* size, std::size_t n,
                         const CountModel& cm);
}  // namespace detail

// Fits the grid prior of one gene by EM.  The grid is 0 plus grid_size - 1
// log-spaced rates from a tenth of the smallest positive count / size to
// 1.5 times the largest.  A gene without counts gets the prior "all rates 0".
inline RatePrior fit_rate_prior(const double* counts, const double* size, std::size_t n, const CountModel& cm) {
    if (cm.grid_size < 2) throw std::invalid_argument("the rate grid needs at least 2 points");
    RatePrior prior;
    double rmin = std::numeric_limits<double>::infinity(), rmax = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        if (counts[i] > 0.0) {
            const double r = counts[i] / size[i];
            rmin = std::min(rmin, r);
            rmax = std::max(rmax, r);
        }
    }
    if (!(rmax > 0.0)) {
        prior.grid = {0.0};
        prior.weight = {1.0};
        prior.loglik = 0.0;
        return prior;
    }
    const auto G = static_cast<std::size_t>(cm.grid_size);
    prior.grid.resize(G);
    prior.grid[0] = 0.0;
    const double lo = std::log(rmin / 10.0), hi = std::log(rmax * 1.5);
    for (std::size_t g = 1; g < G; ++g) {
        prior.grid[g] = std::exp(G > 2 ? lo + (hi - lo) * static_cast<double>(g - 1) / static_cast<double>(G - 2) : hi);
    }
    prior.weight.assign(G, 1.0 / static_cast<double>(G));
    if (!detail::spline_prior(prior, counts, size, n, cm)) detail::em_steps(prior, counts, size, n, cm);
    return prior;
}

namespace detail {

// At most cm.max_iter EM steps on prior.weight (grid fixed), stopping when
// the mean log-likelihood gains less than cm.tol.
inline void em_steps(RatePrior& prior, const double* counts, const double* size, std::size_t n,
                     const CountModel& cm) {
    const std::size_t G = prior.grid.size();
    const std::vector<double> L = detail::grid_likelihood(counts, size, n, prior.grid, cm.dispersion);
    std::vector<double> w = prior.weight, acc(G);
    double last = -std::numeric_limits<double>::infinity();
    prior.iterations = 0;
    for (int it = 0; it < cm.max_iter; ++it) {
        std::fill(acc.begin(), acc.end(), 0.0);
        double ll = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double* row = &L[i * G];
            double den = 0.0;
            for (std::size_t g = 0; g < G; ++g) den += row[g] * w[g];
            ll += std::log(den);
            const double inv = 1.0 / den;
            for (std::size_t g = 0; g < G; ++g) acc[g] += row[g] * inv;
        }
        for (std::size_t g = 0; g < G; ++g) w[g] *= acc[g] / static_cast<double>(n);
        ll /= static_cast<double>(n);
        prior.iterations = it + 1;
        const bool done = ll - last < cm.tol;
        last = ll;
        if (done) break;
    }
    prior.weight = std::move(w);
    prior.loglik = last;
}

}  // namespace detail

// The four non-zero uniform cubic B-splines at position s in [0, 1] of a
// knot interval (shared by the rate distributions here and the P-splines of
// pspline.hpp, which includes this header).
inline void cubic_bspline_values(double s, double v[4]) {
    const double s2 = s * s, s3 = s2 * s, om = 1.0 - s;
    v[0] = om * om * om / 6.0;
    v[1] = (3.0 * s3 - 6.0 * s2 + 4.0) / 6.0;
    v[2] = (-3.0 * s3 + 3.0 * s2 + 3.0 * s + 1.0) / 6.0;
    v[3] = s3 / 6.0;
}

namespace detail {

// The value at u of the j-th of df cubic B-splines on equally spaced knots
// covering [lo, hi] (df - 3 intervals inside it; lo < hi, df >= 4), into
// row[0..df).
inline void bspline_row(double u, double lo, double hi, int df, double* row) {
    std::fill(row, row + df, 0.0);
    const double dx = (hi - lo) / static_cast<double>(df - 3);
    const double t = std::min(std::max((u - lo) / dx, 0.0), static_cast<double>(df - 3));
    const int i = std::min(static_cast<int>(std::floor(t)), df - 4);
    cubic_bspline_values(t - i, row + i);
}

// The log-spline prior on prior.grid (rate 0 first, then increasing
// positive rates): log weight of rate 0 a free coefficient a_0, of positive
// rate g the B-spline value sum_j a_j B_j(log g); the coefficients maximise
// sum_i log sum_g L_ig w_g - penalty / 2 |a|^2 by damped Newton steps (the
// observed information where it is positive definite, the complete-data
// information otherwise), from a = 0.  False, leaving the prior alone, when
// cm.df < 4 or the grid is not of that form with at least two positive
// rates.
inline bool spline_prior(RatePrior& prior, const double* counts, const double* size, std::size_t n,
                         const CountModel& cm) {
    const std::size_t G = prior.grid.size();
    if (cm.df < 4 || G < 3 || prior.grid[0] != 0.0 || !(prior.grid[1] > 0.0) || n == 0) return false;
    for (std::size_t g = 2; g < G; ++g) {
        if (!(prior.grid[g] > prior.grid[g - 1])) return false;
    }
    const int p = cm.df + 1;
    const double lo = std::log(prior.grid[1]), hi = std::log(prior.grid[G - 1]);
    Eigen::MatrixXd Q = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(G), p);
    Q(0, 0) = 1.0;
    std::vector<double> row(static_cast<std::size_t>(cm.df));
    for (std::size_t g = 1; g < G; ++g) {
        bspline_row(std::log(prior.grid[g]), lo, hi, cm.df, row.data());
        for (int j = 0; j < cm.df; ++j) Q(static_cast<Eigen::Index>(g), j + 1) = row[static_cast<std::size_t>(j)];
    }
    const std::vector<double> Lv = grid_likelihood(counts, size, n, prior.grid, cm.dispersion);
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> L(
        Lv.data(), static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(G));
    const double nn = static_cast<double>(n);
    auto weights = [&](const Eigen::VectorXd& a) {
        Eigen::VectorXd eta = Q * a;
        Eigen::VectorXd w = (eta.array() - eta.maxCoeff()).exp();
        return Eigen::VectorXd(w / w.sum());
    };
    // mean log-likelihood minus the penalty / n
    auto objective = [&](const Eigen::VectorXd& w, const Eigen::VectorXd& a) {
        const Eigen::VectorXd den = L * w;
        double ll = 0.0;
        for (Eigen::Index i = 0; i < den.size(); ++i) ll += std::log(den[i]);
        return (ll - 0.5 * cm.penalty * a.squaredNorm()) / nn;
    };
    Eigen::VectorXd a = Eigen::VectorXd::Zero(p);
    Eigen::VectorXd w = weights(a);
    double f = objective(w, a);
    prior.iterations = 0;
    for (int it = 0; it < cm.max_iter; ++it) {
        // posterior probabilities P (n x G) and their sums
        Eigen::MatrixXd P = L * w.asDiagonal();
        const Eigen::VectorXd den = P.rowwise().sum();
        P = den.cwiseInverse().asDiagonal() * P;
        const Eigen::VectorXd colsum = P.colwise().sum().transpose();
        const Eigen::VectorXd grad = Q.transpose() * (colsum - nn * w) - cm.penalty * a;
        const Eigen::MatrixXd PQ = P * Q;
        const Eigen::VectorXd qw = Q.transpose() * w;
        // complete-data information n Cov_w(Q) + penalty, and the observed
        // one (that minus sum_i Cov_{P_i}(Q))
        Eigen::MatrixXd info = nn * (Q.transpose() * w.asDiagonal() * Q - qw * qw.transpose());
        info.diagonal().array() += cm.penalty;
        const Eigen::MatrixXd obs = info - (Q.transpose() * colsum.asDiagonal() * Q - PQ.transpose() * PQ);
        Eigen::LDLT<Eigen::MatrixXd> ldlt(obs);
        const bool pd = ldlt.info() == Eigen::Success && ldlt.isPositive() && (ldlt.vectorD().array() > 0.0).all();
        Eigen::VectorXd step = pd ? Eigen::VectorXd(ldlt.solve(grad)) : Eigen::VectorXd(info.ldlt().solve(grad));
        double t = 1.0, fnew = f;
        Eigen::VectorXd anew = a, wnew = w;
        bool moved = false;
        for (int h = 0; h < 40; ++h, t *= 0.5) {
            anew = a + t * step;
            wnew = weights(anew);
            fnew = objective(wnew, anew);
            if (fnew >= f) {
                moved = true;
                break;
            }
        }
        prior.iterations = it + 1;
        if (!moved) break;
        const double gain = fnew - f;
        a = anew;
        w = wnew;
        f = fnew;
        if (gain < cm.tol) break;
    }
    prior.weight.assign(w.data(), w.data() + w.size());
    prior.loglik = f + 0.5 * cm.penalty * a.squaredNorm() / nn;
    return true;
}

}  // namespace detail

// A prior refitted to new counts (a resample, say) from `start`, on the
// same grid: the log-spline prior refitted in full (cm.df > 0; at least 100
// Newton steps allowed, it stops when converged), or (cm.df = 0, or a grid the spline cannot
// cover) EM from start's weights, mixed with 0.1% uniform weight so that
// every grid rate can take mass, for at most cm.max_iter steps.
inline RatePrior refine_rate_prior(const RatePrior& start, const double* counts, const double* size, std::size_t n,
                                   const CountModel& cm) {
    RatePrior prior = start;
    const std::size_t G = prior.grid.size();
    if (G < 2) return prior;
    CountModel full = cm;
    full.max_iter = std::max(cm.max_iter, 100);
    if (detail::spline_prior(prior, counts, size, n, full)) return prior;
    for (auto& w : prior.weight) w = 0.999 * w + 0.001 / static_cast<double>(G);
    detail::em_steps(prior, counts, size, n, cm);
    return prior;
}

namespace detail {

// The posterior probabilities of the grid rates for one observation (count
// c, size factor s) under `prior` into row[0..G); false when they are all
// zero (a count the prior cannot produce).
inline bool posterior_row(const RatePrior& prior, double c, double s, double dispersion, double* row) {
    const std::size_t G = prior.grid.size();
    double mx = -std::numeric_limits<double>::infinity();
    for (std::size_t g = 0; g < G; ++g) {
        row[g] = prior.weight[g] > 0.0 ? count_loglik(c, s * prior.grid[g], dispersion)
                                       : -std::numeric_limits<double>::infinity();
        mx = std::max(mx, row[g]);
    }
    double den = 0.0;
    for (std::size_t g = 0; g < G; ++g) {
        row[g] = prior.weight[g] > 0.0 && std::isfinite(mx) ? prior.weight[g] * std::exp(row[g] - mx) : 0.0;
        den += row[g];
    }
    if (!(den > 0.0)) return false;
    for (std::size_t g = 0; g < G; ++g) row[g] /= den;
    return true;
}

}  // namespace detail

// Posterior means E[lambda_i | counts_i, size_i] under `prior` into out[i].
inline void posterior_mean(const RatePrior& prior, const double* counts, const double* size, std::size_t n,
                           double dispersion, double* out) {
    const std::size_t G = prior.grid.size();
    std::vector<double> row(G);
    for (std::size_t i = 0; i < n; ++i) {
        if (!detail::posterior_row(prior, counts[i], size[i], dispersion, row.data())) {
            out[i] = counts[i] / size[i];
            continue;
        }
        double num = 0.0;
        for (std::size_t g = 0; g < G; ++g) num += row[g] * prior.grid[g];
        out[i] = num;
    }
}

// The share of the variance of the normalised counts x_i = counts_i / s_i
// that is not sampling noise, by moments: the noise variance of x_i is
// lambda_i / s_i + dispersion * lambda_i^2, estimated without bias from x_i
// by x_i / s_i + dispersion * (x_i^2 - x_i / s_i) / (1 + dispersion).
// Clamped to [0, 1]; NaN when the normalised counts do not vary.
inline double reliability(const double* counts, const double* size, std::size_t n, double dispersion) {
    if (n < 2) return std::numeric_limits<double>::quiet_NaN();
    double mean = 0.0;
    for (std::size_t i = 0; i < n; ++i) mean += counts[i] / size[i];
    mean /= static_cast<double>(n);
    double var = 0.0, noise = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double x = counts[i] / size[i];
        var += (x - mean) * (x - mean);
        const double pois = x / size[i];
        noise += pois + dispersion * (x * x - pois) / (1.0 + dispersion);
    }
    var /= static_cast<double>(n - 1);
    noise /= static_cast<double>(n);
    if (!(var > 0.0)) return std::numeric_limits<double>::quiet_NaN();
    return std::min(std::max(1.0 - noise / var, 0.0), 1.0);
}

}  // namespace bulkcausal

#endif
