// The non-parametric "spline" conditional-independence test: X and Y are
// each regressed on the conditioning set S with penalised splines (one
// smooth per conditioning variable, additive and fitted by backfitting when
// |S| > 1, each smoothing parameter chosen by REML), and the two residuals
// are tested for independence with HSIC.  Under an additive-noise model
// (X = f(S) + e, Y = g(S) + u with e, u independent of S) X _||_ Y | S is
// the independence of e and u.
#ifndef BULKCAUSAL_SPLINECI_HPP
#define BULKCAUSAL_SPLINECI_HPP

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "bulkcausal/hsic.hpp"
#include "bulkcausal/parallel.hpp"
#include "bulkcausal/pspline.hpp"
#include "bulkcausal/rng.hpp"
#include "bulkcausal/sampling.hpp"

namespace bulkcausal {

// A smoother of values over one conditioning variable: a penalised spline
// when the variable has at least 4 distinct values (k reduced to their
// number when fewer than k), otherwise the mean per distinct value (which is
// then the exact conditional mean).
class Smoother {
public:
    Smoother(const double* z, std::size_t n, int k, SmoothMethod method) : n_(n), method_(method) {
        std::vector<int> rows(n);
        for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<int>(i);
        const std::size_t distinct = count_distinct(z, rows);
        const int keff = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(k), distinct));
        if (keff >= 4 && n > static_cast<std::size_t>(keff)) {
            reg_ = prepare_regulator(z, std::move(rows), keff);
            return;
        }
        std::vector<double> sorted(z, z + n);
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        group_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            group_[i] = static_cast<int>(std::lower_bound(sorted.begin(), sorted.end(), z[i]) - sorted.begin());
        }
        count_.assign(sorted.size(), 0.0);
        for (int g : group_) count_[static_cast<std::size_t>(g)] += 1.0;
    }

    // Centred fitted values of r (length n) into `fitted`.
    void smooth(const std::vector<double>& r, std::vector<double>& fitted) const {
        double rbar = 0.0;
        for (double v : r) rbar += v;
        rbar /= static_cast<double>(n_);
        fitted.assign(n_, 0.0);
        if (reg_) {
            double tss = 0.0;
            for (double v : r) tss += (v - rbar) * (v - rbar);
            if (!(tss > 0.0)) return;
            const Eigen::VectorXd w =
                reg_->V.transpose() * project_values(*reg_, [&](std::size_t i) { return r[i] - rbar; });
            const SplineSolution sol = solve_spline(*reg_, w, tss, method_);
            const Eigen::VectorXd c = reg_->V * sol.a;
            for (std::size_t i = 0; i < n_; ++i) fitted[i] = spline_at(*reg_, c, i);
            return;
        }
        std::vector<double> sum(count_.size(), 0.0);
        for (std::size_t i = 0; i < n_; ++i) sum[static_cast<std::size_t>(group_[i])] += r[i] - rbar;
        for (std::size_t i = 0; i < n_; ++i) {
            const auto g = static_cast<std::size_t>(group_[i]);
            fitted[i] = sum[g] / count_[g];
        }
    }

private:
    std::size_t n_;
    SmoothMethod method_;
    std::unique_ptr<RegulatorFit> reg_;
    std::vector<int> group_;
    std::vector<double> count_;
};

struct SplineCIOptions {
    int k = 10;
    SmoothMethod method = SmoothMethod::REML;
    std::size_t max_n = 2000;  // observations the HSIC step uses at most
    int nperm = 0;             // 0: gamma approximation
    std::uint64_t seed = 1;
    int max_iter = 100;        // backfitting sweeps
    double tol = 1e-8;         // backfitting: largest change relative to sd(y)
    // The variables' ids in a statement's random stream (empty: their
    // columns), so that a subset of the columns tests a statement with the
    // draws the whole data would use.
    std::vector<int> key_id;
};

// Residuals of y (length n) on the additive model sum_j f_j(z_j) + c.
inline std::vector<double> additive_residuals(const double* y, std::size_t n, const std::vector<const Smoother*>& sm,
                                              const SplineCIOptions& opt) {
    std::vector<double> res(y, y + n);
    double ybar = 0.0;
    for (double v : res) ybar += v;
    ybar /= static_cast<double>(n);
    double tss = 0.0;
    for (double& v : res) {
        v -= ybar;
        tss += v * v;
    }
    if (sm.empty() || !(tss > 0.0)) return res;
    const double tol = opt.tol * std::sqrt(tss / static_cast<double>(n));
    std::vector<std::vector<double>> f(sm.size(), std::vector<double>(n, 0.0));
    std::vector<double> partial(n), fnew;
    const int sweeps = sm.size() == 1 ? 1 : opt.max_iter;
    for (int it = 0; it < sweeps; ++it) {
        double change = 0.0;
        for (std::size_t j = 0; j < sm.size(); ++j) {
            for (std::size_t i = 0; i < n; ++i) partial[i] = res[i] + f[j][i];
            sm[j]->smooth(partial, fnew);
            for (std::size_t i = 0; i < n; ++i) {
                change = std::max(change, std::fabs(fnew[i] - f[j][i]));
                res[i] = partial[i] - fnew[i];
            }
            f[j].swap(fnew);
        }
        if (change <= tol) break;
    }
    return res;
}

struct CIQuery {
    int x;
    int y;
    std::vector<int> z;
};

struct SplineCIResult {
    double statistic = NAN;  // HSIC statistic of the residuals, tr(K H L H) / n
    double p_value = NAN;
    std::size_t n_test = 0;  // observations the HSIC step used
};

// A data matrix (n x p, column-major, no missing values) for the spline
// test, with smoothers built once per conditioning variable.
class SplineCIData {
public:
    SplineCIData(const double* data, std::size_t n, std::size_t p, const SplineCIOptions& opt)
        : data_(data), n_(n), p_(p), opt_(opt), smoothers_(p) {
        if (n < 6) throw std::invalid_argument("the spline CI test needs at least 6 observations");
        if (!opt.key_id.empty() && opt.key_id.size() != p) {
            throw std::invalid_argument("key_id must give one id per variable");
        }
    }

    // Builds the smoothers of the given variables (before tests run on
    // several threads, which then only read them).
    void prepare(const std::vector<int>& vars, int nthreads) {
        std::vector<int> todo;
        for (int v : vars) {
            check(v);
            if (!smoothers_[static_cast<std::size_t>(v)]) todo.push_back(v);
        }
        std::sort(todo.begin(), todo.end());
        todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
        run_tasks(todo.size(), nthreads, [&](std::size_t i, int) {
            const auto v = static_cast<std::size_t>(todo[i]);
            smoothers_[v] = std::make_unique<Smoother>(data_ + v * n_, n_, opt_.k, opt_.method);
        });
    }

    // The test of one statement; its random draws (subsample, permutations)
    // come from a stream named by the statement, so the result does not
    // depend on the order or the threads the statements run on.
    // `stop` (optional) ends a long permutation test early (see run_tasks).
    SplineCIResult test(const CIQuery& q, HsicScratch& scratch, const std::atomic<bool>* stop = nullptr) const {
        check(q.x);
        check(q.y);
        std::vector<const Smoother*> sm;
        for (int v : q.z) {
            check(v);
            if (v == q.x || v == q.y) throw std::invalid_argument("the conditioning set contains x or y");
            const Smoother* s = smoothers_[static_cast<std::size_t>(v)].get();
            if (!s) throw std::logic_error("smoother not prepared");
            sm.push_back(s);
        }
        std::vector<double> rx = additive_residuals(column(q.x), n_, sm, opt_);
        std::vector<double> ry = additive_residuals(column(q.y), n_, sm, opt_);
        Rng rng(opt_.seed, statement_key(q), 0x5C1);
        if (n_ > opt_.max_n) {
            // A random subset of max_n observations, kept in data order.
            // The permutations below go on drawing from the same stream.
            std::vector<std::size_t> idx(opt_.max_n), work;
            IndexSampler sampler(rng, IndexDraw::Scaled);
            resample(sampler, n_, opt_.max_n, false, true, work, idx.data());
            std::vector<double> sx(opt_.max_n), sy(opt_.max_n);
            for (std::size_t i = 0; i < opt_.max_n; ++i) {
                sx[i] = rx[idx[i]];
                sy[i] = ry[idx[i]];
            }
            rx.swap(sx);
            ry.swap(sy);
        }
        const HsicResult h = hsic_test(rx, ry, opt_.nperm, rng, scratch, stop);
        SplineCIResult out;
        out.statistic = h.statistic;
        out.p_value = h.p_value;
        out.n_test = rx.size();
        return out;
    }

private:
    const double* column(int v) const { return data_ + static_cast<std::size_t>(v) * n_; }
    void check(int v) const {
        if (v < 0 || static_cast<std::size_t>(v) >= p_) throw std::out_of_range("variable outside the data");
    }
    // x, y (unordered) and the sorted conditioning set, hashed.
    std::uint64_t statement_key(const CIQuery& q) const {
        const auto id = [this](int v) {
            return opt_.key_id.empty() ? v : opt_.key_id[static_cast<std::size_t>(v)];
        };
        std::uint64_t h = 0x9E3779B97F4A7C15ULL;
        auto mix = [&h](std::uint64_t v) {
            h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
            h = splitmix64(h);
        };
        mix(static_cast<std::uint64_t>(std::min(id(q.x), id(q.y))));
        mix(static_cast<std::uint64_t>(std::max(id(q.x), id(q.y))));
        std::vector<int> z;
        z.reserve(q.z.size());
        for (int v : q.z) z.push_back(id(v));
        std::sort(z.begin(), z.end());
        for (int v : z) mix(static_cast<std::uint64_t>(v) + 0x100000000ULL);
        return h;
    }

    const double* data_;
    std::size_t n_;
    std::size_t p_;
    SplineCIOptions opt_;
    std::vector<std::unique_ptr<Smoother>> smoothers_;
};

// Tests many statements on one data matrix, in parallel.  `scratch`, one
// per thread, may be kept by the caller between calls.
inline std::vector<SplineCIResult> spline_ci_tests(const double* data, std::size_t n, std::size_t p,
                                                   const std::vector<CIQuery>& queries, const SplineCIOptions& opt,
                                                   int nthreads, std::vector<HsicScratch>& scratch,
                                                   const PollFn& poll = PollFn()) {
    SplineCIData d(data, n, p, opt);
    std::vector<int> vars;
    for (const auto& q : queries) vars.insert(vars.end(), q.z.begin(), q.z.end());
    d.prepare(vars, nthreads);
    const auto workers = static_cast<std::size_t>(std::max(nthreads, 1));
    if (scratch.size() < workers) scratch.resize(workers);
    std::vector<SplineCIResult> out(queries.size());
    std::atomic<bool> stop{false};
    run_tasks(
        queries.size(), nthreads,
        [&](std::size_t i, int w) { out[i] = d.test(queries[i], scratch[static_cast<std::size_t>(w)], &stop); }, poll,
        &stop);
    return out;
}

inline std::vector<SplineCIResult> spline_ci_tests(const double* data, std::size_t n, std::size_t p,
                                                   const std::vector<CIQuery>& queries, const SplineCIOptions& opt,
                                                   int nthreads = 1) {
    std::vector<HsicScratch> scratch;
    return spline_ci_tests(data, n, p, queries, opt, nthreads, scratch);
}

}  // namespace bulkcausal

#endif
