// Pairwise regulatory functions y = f(x) + e by penalised regression splines,
// batched over many targets per regulator: one pair's fit, its
// non-linearity NL with a bootstrap interval, the test that f is affine
// (F test or wild bootstrap), and fit_pairs(), which groups the pairs by
// regulator so that the regulator's basis and eigen-decomposition
// (pspline.hpp) are built once and each target costs one projection.
#ifndef BULKCAUSAL_PAIRWISE_HPP
#define BULKCAUSAL_PAIRWISE_HPP

#include <Eigen/Dense>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "bulkcausal/counts.hpp"
#include "bulkcausal/distributions.hpp"
#include "bulkcausal/numeric.hpp"
#include "bulkcausal/parallel.hpp"
#include "bulkcausal/pspline.hpp"
#include "bulkcausal/rng.hpp"
#include "bulkcausal/sequential.hpp"

namespace bulkcausal {

// The test of "f is affine": the F test (exact under Gaussian noise of
// constant variance) or a wild bootstrap of the same F statistic (valid when
// the noise variance changes with the regulator: counts, skewed noise).
enum class NonlinearTest { F, Wild };

// Why a pair has no fit (Ok: it has one).
enum class PairStatus : int {
    Ok = 0,
    SameGene = 1,           // regulator is the target
    ConstantRegulator = 2,  // fewer than two distinct regulator values
    FewDistinct = 3,        // fewer distinct regulator values than k
    FewObservations = 4,    // n <= k after dropping NA
    ConstantTarget = 5,     // target constant over the observations used
    FlatFit = 6             // the fitted function is exactly constant: nl undefined
};

struct PairOptions {
    int k = 10;
    SmoothMethod method = SmoothMethod::REML;
    int nboot = 0;
    std::uint64_t seed = 1;
    double level = 0.95;
    NonlinearTest test = NonlinearTest::F;
    int test_draws = 399;  // wild bootstrap draws at most
    int test_hits = 5;     // stop once this many draws reach the observed F
    int tail_check = 49;   // ... or after this many draws without a hit
    double tail_p = 1e-3;  // when the matched chi-square tail is below this
    // The chosen smoothing parameter times this (1: as chosen; < 1
    // undersmooths, for curves whose bias matters more than their variance).
    double lambda_scale = 1.0;
    // Raised (see run_tasks) when the caller cancels: the bootstrap stops
    // between replicates and the fit is discarded.  fit_pairs sets it.
    const std::atomic<bool>* stop = nullptr;
};

// One pair's fit.  Fields are NaN when status != Ok.
struct PairFit {
    PairStatus status = PairStatus::Ok;
    int n = 0;
    double edf = NAN;        // of the smooth, as mgcv reports it (total minus the intercept)
    double lambda = NAN;     // smoothing parameter on mgcv's scale
    double r2_linear = NAN;
    double r2_spline = NAN;
    double nl = NAN;
    double p_nonlinear = NAN;
    double slope = NAN;
    double intercept = NAN;  // of the affine fit
    double sigma = NAN;      // residual sd of the spline fit, sqrt(RSS / (n - edf_total))
    double nl_lower = NAN;
    double nl_upper = NAN;
    double mean_y = NAN;     // the fitted curve is mean_y + B(x) coef
    std::vector<double> coef;  // k spline coefficients (B-spline basis)
    std::vector<double> d;     // 1 - s_j + l s_j at the chosen lambda (for the covariance)
};

// NL = |f - P f|^2 / |f - mean f|^2 for the fitted values f of coefficients
// a (V basis); NaN when the fit is exactly flat.
inline double nonlinearity(const RegulatorFit& reg, const Eigen::VectorXd& a) {
    if (!reg.rate_grid.empty()) {
        // Over the rate distribution: weighted moments of f and the rate.
        const Eigen::VectorXd c = reg.V * a;
        double sw = 0.0, mf = 0.0, mx = 0.0;
        std::vector<double> fg(reg.rate_grid.size());
        double v[4];
        for (std::size_t g = 0; g < reg.rate_grid.size(); ++g) {
            const double w = reg.rate_weight[g];
            const double xg = std::min(std::max(reg.rate_grid[g], reg.basis.lo), reg.basis.hi);
            const int j0 = reg.basis.eval(xg, v);
            fg[g] = v[0] * c[j0] + v[1] * c[j0 + 1] + v[2] * c[j0 + 2] + v[3] * c[j0 + 3];
            sw += w;
            mf += w * fg[g];
            mx += w * reg.rate_grid[g];
        }
        mf /= sw;
        mx /= sw;
        double vf = 0.0, vx = 0.0, cv = 0.0;
        for (std::size_t g = 0; g < reg.rate_grid.size(); ++g) {
            const double w = reg.rate_weight[g] / sw, df = fg[g] - mf, dx = reg.rate_grid[g] - mx;
            vf += w * df * df;
            vx += w * dx * dx;
            cv += w * df * dx;
        }
        if (!(vf > 1e-300) || !(vx > 0.0)) return NAN;
        return std::min(std::max(1.0 - cv * cv / (vf * vx), 0.0), 1.0);
    }
    double ff = 0.0;
    for (int j = 0; j < a.size(); ++j) ff += (1.0 - reg.s[j]) * a[j] * a[j];
    const double fbar = reg.vb.dot(a);
    const double var = ff - fbar * fbar / static_cast<double>(reg.n());
    if (!(var > 0.0)) return NAN;
    const double cov = reg.vg.dot(a);
    const double nl = 1.0 - cov * cov / (reg.sxx * var);
    return std::min(std::max(nl, 0.0), 1.0);
}

// The wild bootstrap p-value of the F statistic F0 (on df1 and df2 degrees
// of freedom) of the affine fit against the unpenalised spline.  Draws are
// y* = e_i v_i with the affine fit's residuals e_i scaled by 1 / sqrt(1 - h_i)
// (h_i its leverage) and Rademacher signs v_i: the noise keeps each
// observation's own variance, so the null distribution follows whatever
// heteroscedasticity the data have (the F statistic is unchanged by adding
// the affine fit back).  Sequential (SequentialPValue): at most test_draws
// draws, stopping after test_hits reach F0, or after tail_check draws
// without one when the matched chi-square tail is below tail_p.
//
// With `affine_null` false the null is a constant instead of an affine fit
// (resid: y minus its mean; F0 the F of the constant against the spline).
inline double wild_f_pvalue(const RegulatorFit& reg, const std::vector<double>& resid, double F0, double df1,
                            double df2, const PairOptions& opt, Rng& rng, bool affine_null = true) {
    const std::size_t n = reg.n();
    const int k = reg.basis.k;
    const double nn = static_cast<double>(n);
    // Observations grouped by their first basis column (a counting sort), six
    // values each: the four basis values times e_i, e_i and e_i x_i.  A draw
    // then accumulates each group in registers instead of scattering into u.
    const int ngroups = k - 3;
    std::vector<int> start(static_cast<std::size_t>(ngroups) + 1, 0);
    for (std::size_t i = 0; i < n; ++i) ++start[static_cast<std::size_t>(reg.first[i]) + 1];
    for (int g = 0; g < ngroups; ++g) start[static_cast<std::size_t>(g) + 1] += start[static_cast<std::size_t>(g)];
    std::vector<int> fill(start.begin(), start.end() - 1);
    std::vector<double> rec(6 * n);
    double ss = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double h = 1.0 / nn + (affine_null ? reg.xc[i] * reg.xc[i] / reg.sxx : 0.0);
        const double e = resid[i] / std::sqrt(std::max(1.0 - h, 1e-12));
        ss += e * e;
        const auto t = static_cast<std::size_t>(fill[static_cast<std::size_t>(reg.first[i])]++);
        double* r = &rec[6 * t];
        for (std::size_t a = 0; a < 4; ++a) r[a] = reg.vals[4 * i + a] * e;
        r[4] = e;
        r[5] = e * reg.xc[i];
    }
    Eigen::VectorXd inv(k);
    for (int j = 0; j < k; ++j) inv[j] = 1.0 - reg.s[j] > 1e-10 ? 1.0 / (1.0 - reg.s[j]) : 0.0;
    const Eigen::MatrixXd Vt = reg.V.transpose();
    Eigen::VectorXd u(k), w(k);
    std::vector<std::uint64_t> bits((n + 63) / 64);
    SequentialPValue seq(F0, opt.test_draws, opt.test_hits, opt.tail_check, opt.tail_p);
    while (seq.more()) {
        // The observation in sorted position t gets bit t % 64 of word t / 64
        // (1: minus): i.i.d. signs either way, read in the order of the loop.
        for (auto& b : bits) b = rng.next();
        u.setZero();
        double s1 = 0.0, sx = 0.0;
        for (int g = 0; g < ngroups; ++g) {
            double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0;
            for (int t = start[static_cast<std::size_t>(g)]; t < start[static_cast<std::size_t>(g) + 1]; ++t) {
                const auto tu = static_cast<std::size_t>(t);
                const double sg = 1.0 - 2.0 * static_cast<double>((bits[tu >> 6] >> (tu & 63u)) & 1u);
                const double* r = &rec[6 * tu];
                a0 += sg * r[0];
                a1 += sg * r[1];
                a2 += sg * r[2];
                a3 += sg * r[3];
                a4 += sg * r[4];
                a5 += sg * r[5];
            }
            u[g] += a0;
            u[g + 1] += a1;
            u[g + 2] += a2;
            u[g + 3] += a3;
            s1 += a4;
            sx += a5;
        }
        const double ybar = s1 / nn;
        const double tss = ss - s1 * s1 / nn;
        const double rss_lin = affine_null ? std::max(tss - sx * sx / reg.sxx, 0.0) : tss;
        w.noalias() = Vt * u;
        w -= ybar * reg.vb;
        double rss_full = tss;
        for (int j = 0; j < k; ++j) rss_full -= w[j] * w[j] * inv[j];
        rss_full = std::max(rss_full, 0.0);
        if (!(rss_full > 0.0)) {
            seq.skip();
            continue;
        }
        const double F = std::max(rss_lin - rss_full, 0.0) / df1 / (rss_full / df2);
        if (!seq.add(F)) break;
    }
    return seq.p_value();
}

// Fits one target to a prepared regulator.  `y` is the target column of the
// data (indexed by row); its values at reg.rows must be finite.  `rng` is
// used only for the bootstraps: the nl interval draws from it, the wild test
// from a stream derived from it without consuming it.
inline PairFit fit_target(const RegulatorFit& reg, const double* y, const PairOptions& opt, Rng& rng) {
    PairFit out;
    const std::size_t n = reg.n();
    const int k = reg.basis.k;
    out.n = static_cast<int>(n);
    double ybar = 0.0;
    for (int r : reg.rows) ybar += y[r];
    ybar /= static_cast<double>(n);
    double tss = 0.0, sxy = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double yc = y[reg.rows[i]] - ybar;
        tss += yc * yc;
        sxy += reg.xc[i] * yc;
    }
    if (!(tss > 0.0)) {
        out.status = PairStatus::ConstantTarget;
        return out;
    }
    const Eigen::VectorXd p = project(reg, y, ybar);
    const Eigen::VectorXd w = reg.V.transpose() * p;
    const SplineSolution sol = solve_spline(reg, w, tss, opt.method, opt.lambda_scale);

    out.mean_y = ybar;
    out.slope = sxy / reg.sxx;
    out.intercept = ybar - out.slope * reg.xbar;
    const double rss_lin = std::max(tss - sxy * sxy / reg.sxx, 0.0);
    out.r2_linear = 1.0 - rss_lin / tss;
    out.r2_spline = 1.0 - sol.rss / tss;
    out.edf = sol.edf_total - 1.0;
    out.lambda = std::exp(sol.rho) * reg.tau;
    const double df_res = static_cast<double>(n) - sol.edf_total;
    out.sigma = df_res > 0.0 ? std::sqrt(sol.rss / df_res) : NAN;
    out.nl = nonlinearity(reg, sol.a);
    if (std::isnan(out.nl)) out.status = PairStatus::FlatFit;

    // F test of the affine fit against the unpenalised spline.
    double rss_full = tss;
    for (int j = 0; j < k; ++j) {
        if (1.0 - reg.s[j] > 1e-10) rss_full -= w[j] * w[j] / (1.0 - reg.s[j]);
    }
    rss_full = std::max(rss_full, 0.0);
    const double df1 = reg.rank - 2;
    const double df2 = static_cast<double>(n) - reg.rank;
    if (df1 > 0 && df2 > 0) {
        if (rss_full > 0.0) {
            const double F = std::max(rss_lin - rss_full, 0.0) / df1 / (rss_full / df2);
            if (opt.test == NonlinearTest::Wild && reg.dense.empty()) {
                std::vector<double> resid(n);
                for (std::size_t i = 0; i < n; ++i) resid[i] = (y[reg.rows[i]] - ybar) - out.slope * reg.xc[i];
                // The test's own stream, derived from the pair's without
                // consuming it (the nl bootstrap's draws stay as they were).
                Rng copy = rng;
                Rng trng(copy.next(), 0x7e57u, 0);
                out.p_nonlinear = wild_f_pvalue(reg, resid, F, df1, df2, opt, trng);
            } else {
                out.p_nonlinear = f_upper(F, df1, df2);
            }
        } else {
            out.p_nonlinear = rss_lin > 0.0 ? 0.0 : 1.0;
        }
    }

    const Eigen::VectorXd c = reg.V * sol.a;
    out.coef.assign(c.data(), c.data() + k);
    out.d.assign(sol.d.data(), sol.d.data() + k);

    if (opt.nboot > 0 && out.status == PairStatus::Ok) {
        // Wild bootstrap (Rademacher signs on the residuals), the smoothing
        // parameter chosen afresh for each replicate.
        std::vector<double> fitted(n), resid(n);
        for (std::size_t i = 0; i < n; ++i) {
            fitted[i] = spline_at(reg, c, i);
            resid[i] = (y[reg.rows[i]] - ybar) - fitted[i];
        }
        std::vector<double> ystar(n), nls;
        nls.reserve(static_cast<std::size_t>(std::min(opt.nboot, 1 << 16)));
        for (int b = 0; b < opt.nboot; ++b) {
            if (opt.stop && opt.stop->load(std::memory_order_relaxed)) break;
            double mean = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                ystar[i] = fitted[i] + ((rng.next() >> 63) ? resid[i] : -resid[i]);
                mean += ystar[i];
            }
            mean /= static_cast<double>(n);
            double tb = 0.0;
            for (std::size_t i = 0; i < n; ++i) tb += (ystar[i] - mean) * (ystar[i] - mean);
            if (!(tb > 0.0)) continue;
            const Eigen::VectorXd wb =
                reg.V.transpose() * project_values(reg, [&](std::size_t i) { return ystar[i] - mean; });
            const SplineSolution sb = solve_spline(reg, wb, tb, opt.method, opt.lambda_scale);
            const double nlb = nonlinearity(reg, sb.a);
            if (!std::isnan(nlb)) nls.push_back(nlb);
        }
        std::sort(nls.begin(), nls.end());
        const double alpha = 1.0 - opt.level;
        out.nl_lower = detail::quantile7(nls, 0.5 * alpha);
        out.nl_upper = detail::quantile7(nls, 1.0 - 0.5 * alpha);
    }
    return out;
}

// A table of pairs over a data matrix with one column per gene.
struct PairData {
    const double* x = nullptr;  // n x ngenes, column-major; NaN = missing
    std::size_t n = 0;
    std::size_t ngenes = 0;
    // Stream id of each gene for the bootstrap (its row in the user's data,
    // say), so a pair's draws do not depend on which other genes are fitted;
    // null: the column index.
    const int* gene_id = nullptr;
    // Target values, laid out like x; null: x itself.  Count data fit the
    // target's normalised counts against the regulator's estimated rates.
    const double* y = nullptr;
    // Count data (optional): the raw counts (laid out like x, which then
    // holds the posterior mean rates), size factors, the dispersion, and
    // each gene's rate prior (prior_size grid rates and weights per gene,
    // gene after gene).  Regulators are then fitted by
    // prepare_regulator_rates.
    const double* counts = nullptr;
    const double* size = nullptr;
    std::size_t size_stride = 0;  // 0: one size factor per observation; n: per observation and gene
    double dispersion = 0.0;
    const double* prior_grid = nullptr;
    const double* prior_weight = nullptr;
    std::size_t prior_size = 0;
};

// Pairs (regulator[i], target[i]) grouped by regulator, in order of first
// appearance: gene[r] is the r-th regulator, pairs[r] its pairs' indices.
// Throws std::out_of_range for a gene outside 0..ngenes-1.
struct RegulatorGroups {
    std::vector<int> gene;
    std::vector<std::vector<std::size_t>> pairs;
};

inline RegulatorGroups group_by_regulator(const std::vector<int>& regulator, const std::vector<int>& target,
                                          std::size_t ngenes) {
    if (regulator.size() != target.size()) throw std::invalid_argument("regulator and target differ in length");
    RegulatorGroups out;
    std::vector<int> reg_of_gene(ngenes, -1);
    for (std::size_t i = 0; i < regulator.size(); ++i) {
        const int g = regulator[i], t = target[i];
        if (g < 0 || static_cast<std::size_t>(g) >= ngenes || t < 0 || static_cast<std::size_t>(t) >= ngenes) {
            throw std::out_of_range("pair names a gene outside the data");
        }
        int& r = reg_of_gene[static_cast<std::size_t>(g)];
        if (r < 0) {
            r = static_cast<int>(out.gene.size());
            out.gene.push_back(g);
            out.pairs.emplace_back();
        }
        out.pairs[static_cast<std::size_t>(r)].push_back(i);
    }
    return out;
}

// The regulator context of gene g over `rows`: the B-spline basis at x, or
// with counts the posterior mean basis at the rates.
inline std::unique_ptr<RegulatorFit> prepare_for(const PairData& data, int g, std::vector<int> rows, int k) {
    const double* x = data.x + static_cast<std::size_t>(g) * data.n;
    if (!data.counts) return prepare_regulator(x, std::move(rows), k);
    const std::size_t G = data.prior_size;
    RatePrior prior;
    prior.grid.assign(data.prior_grid + static_cast<std::size_t>(g) * G, data.prior_grid + (static_cast<std::size_t>(g) + 1) * G);
    prior.weight.assign(data.prior_weight + static_cast<std::size_t>(g) * G,
                        data.prior_weight + (static_cast<std::size_t>(g) + 1) * G);
    const double* c = data.counts + static_cast<std::size_t>(g) * data.n;
    const double* sz = data.size + static_cast<std::size_t>(g) * data.size_stride;
    std::vector<double> post(rows.size() * G);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto r = static_cast<std::size_t>(rows[i]);
        if (!detail::posterior_row(prior, c[r], sz[r], data.dispersion, &post[i * G])) {
            throw std::invalid_argument("a count has probability 0 under its gene's rate prior");
        }
    }
    return prepare_regulator_rates(x, std::move(rows), k, post, prior.grid, prior.weight);
}

// What a fitted curve needs of its regulator context once the fits are
// done: the basis, the k x k matrix V (standard errors of the curve) and
// the observations per knot interval (where the curve is thin).
// The rest of a RegulatorFit (a row of the design per observation) is
// freed as soon as its pairs are fitted, so that memory does not grow with
// pairs x observations when targets have missing values.
struct ContextSummary {
    PsBasis basis;
    Eigen::MatrixXd V;
    std::vector<int> support;  // observations per knot interval
    explicit ContextSummary(const RegulatorFit& r) : basis(r.basis), V(r.V), support(r.support) {}
};

// The fits of all pairs (regulator[i], target[i]), genes given as 0-based
// columns.  Tasks are regulators.  `context` receives, per pair, the index
// of the regulator context its fit refers to (or -1), and `contexts` the
// contexts: one per regulator, plus one per pair whose target has missing
// values among the regulator's observations (fitted on its own rows).
struct PairResults {
    std::vector<PairFit> fits;
    std::vector<int> context;
    std::vector<std::unique_ptr<ContextSummary>> contexts;
};

inline PairResults fit_pairs(const PairData& data, const std::vector<int>& regulator, const std::vector<int>& target,
                             const PairOptions& opt, int nthreads = 1, const PollFn& poll = PollFn()) {
    if (regulator.size() != target.size()) throw std::invalid_argument("regulator and target differ in length");
    if (opt.k < 4) throw std::invalid_argument("k must be at least 4");
    const std::size_t npairs = regulator.size();
    PairResults res;
    res.fits.resize(npairs);
    res.context.assign(npairs, -1);
    const RegulatorGroups groups = group_by_regulator(regulator, target, data.ngenes);
    const std::vector<int>& reg_gene = groups.gene;
    const std::vector<std::vector<std::size_t>>& reg_pairs = groups.pairs;
    const std::size_t nreg = reg_gene.size();
    std::vector<std::unique_ptr<ContextSummary>> main_ctx(nreg);
    std::vector<std::unique_ptr<ContextSummary>> pair_ctx(npairs);
    const std::size_t n = data.n;
    std::atomic<bool> stop{false};
    PairOptions popt = opt;
    popt.stop = &stop;

    // Status of a regulator over rows, or Ok.
    auto regulator_status = [&](const double* x, const std::vector<int>& rows) {
        const std::size_t distinct = count_distinct(x, rows);
        if (distinct < 2) return PairStatus::ConstantRegulator;
        if (distinct < static_cast<std::size_t>(opt.k)) return PairStatus::FewDistinct;
        if (rows.size() <= static_cast<std::size_t>(opt.k)) return PairStatus::FewObservations;
        return PairStatus::Ok;
    };

    run_tasks(nreg, nthreads, [&](std::size_t r, int) {
        const int g = reg_gene[r];
        const double* x = data.x + static_cast<std::size_t>(g) * n;
        std::vector<int> rows;
        rows.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            if (!std::isnan(x[i])) rows.push_back(static_cast<int>(i));
        }
        const PairStatus rs = regulator_status(x, rows);
        std::unique_ptr<RegulatorFit> reg_fit;
        if (rs == PairStatus::Ok) reg_fit = prepare_for(data, g, rows, opt.k);
        for (std::size_t pi : reg_pairs[r]) {
            PairFit& out = res.fits[pi];
            const int t = target[pi];
            if (t == g) {
                out.status = PairStatus::SameGene;
                continue;
            }
            const double* y = (data.y ? data.y : data.x) + static_cast<std::size_t>(t) * n;
            bool complete = true;
            for (int row : rows) {
                if (std::isnan(y[row])) {
                    complete = false;
                    break;
                }
            }
            const int gid = data.gene_id ? data.gene_id[g] : g;
            const int tid = data.gene_id ? data.gene_id[t] : t;
            Rng rng(opt.seed, static_cast<std::uint64_t>(gid), static_cast<std::uint64_t>(tid));
            if (complete) {
                out.n = static_cast<int>(rows.size());
                if (rs != PairStatus::Ok) {
                    out.status = rs;
                    continue;
                }
                out = fit_target(*reg_fit, y, popt, rng);
            } else {
                std::vector<int> both;
                both.reserve(rows.size());
                for (int row : rows) {
                    if (!std::isnan(y[row])) both.push_back(row);
                }
                const PairStatus ps = regulator_status(x, both);
                if (ps != PairStatus::Ok) {
                    out.status = ps;
                    out.n = static_cast<int>(both.size());
                    continue;
                }
                const std::unique_ptr<RegulatorFit> own = prepare_for(data, g, both, opt.k);
                out = fit_target(*own, y, popt, rng);
                pair_ctx[pi] = std::make_unique<ContextSummary>(*own);
            }
        }
        if (reg_fit) main_ctx[r] = std::make_unique<ContextSummary>(*reg_fit);
    }, poll, &stop);

    // Contexts in a fixed order: regulators, then per-pair ones.
    for (std::size_t r = 0; r < nreg; ++r) {
        const int id = main_ctx[r] ? static_cast<int>(res.contexts.size()) : -1;
        if (main_ctx[r]) res.contexts.push_back(std::move(main_ctx[r]));
        for (std::size_t pi : reg_pairs[r]) {
            if (!pair_ctx[pi] && res.fits[pi].status != PairStatus::SameGene && !res.fits[pi].coef.empty()) {
                res.context[pi] = id;
            }
        }
    }
    for (std::size_t pi = 0; pi < npairs; ++pi) {
        if (pair_ctx[pi]) {
            res.context[pi] = static_cast<int>(res.contexts.size());
            res.contexts.push_back(std::move(pair_ctx[pi]));
        }
    }
    return res;
}

}  // namespace bulkcausal

#endif
