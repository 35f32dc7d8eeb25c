// Aggregation of cells into bulk samples (the bulk level of the model).
//
// One Accumulator serves every caller: aggregateCells on dense and sparse
// matrices, poolCells, and simulateBulk, which feeds it simulated cells as
// they are made.  Values equal to zero may be left implicit (sparse input):
// every statistic below is defined so that an implicit zero and an explicit
// one give bit-identical results.
#ifndef BULKCAUSAL_AGGREGATE_HPP
#define BULKCAUSAL_AGGREGATE_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "bulkcausal/parallel.hpp"
#include "bulkcausal/rng.hpp"
#include "bulkcausal/sampling.hpp"

namespace bulkcausal {

enum class AggFun { Sum, Mean, Geomean, Median, Max, Log1pSum, Cpm };

struct AggSpec {
    AggFun fun = AggFun::Sum;
    double pseudo = 1.0;  // geomean: p * expm1(mean(log1p(x / p)))
    bool na_rm = false;   // skip NA/NaN values instead of failing
    // Cpm: divide by the group totals at the end.  false leaves the checked
    // sums, for a caller that sees only some of the features at a time and
    // normalises once it has them all.
    bool normalise = true;
    // Sum, Mean, Log1pSum and Cpm add value * scale and undo the factor at
    // the end.  1 (exact) except in the rescue of sums beyond the double
    // range (see rescue_overflow()), which uses a power of two.
    double scale = 1.0;
};

inline bool is_linear(AggFun f) { return f == AggFun::Sum || f == AggFun::Mean; }

// A value the aggregation cannot take.  `row` is the feature, `col` the
// cell (both 0-based; col is -1 until the caller fills it in).
struct ValueError : std::invalid_argument {
    long row;
    long col;
    double value;
    ValueError(const std::string& what, long r, long c, double v)
        : std::invalid_argument(what), row(r), col(c), value(v) {}
};

// log1p of a sum formed as sum * scale: log1p(a) when scale is 1, else
// (the rescue of sums beyond the double range, where log1p(x) = log(x) to
// double precision) log(a) - log(scale).
inline double scaled_log1p(double a, double scale) {
    return scale == 1.0 ? std::log1p(a) : std::log(a) - std::log(scale);
}

class Accumulator {
public:
    Accumulator(std::size_t p, const AggSpec& spec) : p_(p), spec_(spec) { reset(); }

    void reset() {
        ncells_ = 0;
        const double init = spec_.fun == AggFun::Max ? -std::numeric_limits<double>::infinity() : 0.0;
        acc_.assign(p_, init);
        if (spec_.na_rm) nnan_.assign(p_, 0);
        if (spec_.fun == AggFun::Max) nexp_.assign(p_, 0);
        if (spec_.fun == AggFun::Median) {
            vals_.resize(p_);
            for (auto& v : vals_) v.clear();
        }
    }

    // A cell given as all p values.
    void add_dense(const double* x) {
        ++ncells_;
        for (std::size_t r = 0; r < p_; ++r) add_value(r, x[r]);
    }

    // A cell given as its non-zero entries (rows 0-based, any order).
    void add_sparse(const int* rows, const double* x, std::size_t nnz) {
        ++ncells_;
        if (spec_.fun == AggFun::Sum || spec_.fun == AggFun::Mean || spec_.fun == AggFun::Cpm) {
            if (!spec_.na_rm) {
                // The hot path of aggregateCells: one pass over the non-zeros.
                for (std::size_t j = 0; j < nnz; ++j) {
                    const double v = x[j];
                    if (!std::isfinite(v) || (spec_.fun == AggFun::Cpm && v < 0.0)) {
                        add_value(static_cast<std::size_t>(rows[j]), v);  // raises the error
                    }
                    acc_[static_cast<std::size_t>(rows[j])] += v * spec_.scale;
                }
                return;
            }
        }
        for (std::size_t j = 0; j < nnz; ++j) add_value(static_cast<std::size_t>(rows[j]), x[j]);
    }

    std::size_t ncells() const { return ncells_; }

    // Writes the p aggregated values.  For Cpm this is the sum; the caller
    // normalises with normalise_cpm once all groups are done.
    void finish(double* out) const {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        for (std::size_t r = 0; r < p_; ++r) {
            const std::size_t n = ncells_ - (spec_.na_rm ? nnan_[r] : 0);
            const double a = acc_[r];
            switch (spec_.fun) {
                case AggFun::Sum: out[r] = a / spec_.scale; break;
                case AggFun::Cpm: out[r] = a; break;  // scaled sums; normalising removes the factor
                case AggFun::Log1pSum: out[r] = scaled_log1p(a, spec_.scale); break;
                case AggFun::Mean: out[r] = n > 0 ? a / static_cast<double>(n) / spec_.scale : nan; break;
                case AggFun::Geomean:
                    out[r] = n > 0 ? spec_.pseudo * std::expm1(a / static_cast<double>(n)) : nan;
                    break;
                case AggFun::Max:
                    if (n == 0) {
                        out[r] = nan;
                    } else {
                        out[r] = nexp_[r] < n ? std::max(a, 0.0) : a;
                    }
                    break;
                case AggFun::Median: out[r] = median_with_zeros(vals_[r], n); break;
            }
        }
    }

private:
    void add_value(std::size_t r, double v) {
        if (!std::isfinite(v)) {
            if (std::isnan(v) && spec_.na_rm) {
                ++nnan_[r];
                return;
            }
            throw ValueError(std::isnan(v) ? "NA/NaN value" : "infinite value", static_cast<long>(r), -1, v);
        }
        switch (spec_.fun) {
            case AggFun::Sum:
            case AggFun::Mean: acc_[r] += v * spec_.scale; break;
            case AggFun::Log1pSum:
            case AggFun::Cpm:
                if (v < 0.0) throw ValueError("negative value", static_cast<long>(r), -1, v);
                acc_[r] += v * spec_.scale;
                break;
            case AggFun::Geomean: {
                const double t = v / spec_.pseudo;
                if (!(t > -1.0)) throw ValueError("value not above -pseudo", static_cast<long>(r), -1, v);
                acc_[r] += std::log1p(t);
                break;
            }
            case AggFun::Max:
                ++nexp_[r];
                if (v > acc_[r]) acc_[r] = v;
                break;
            case AggFun::Median:
                if (v != 0.0) vals_[r].push_back(v);
                break;
        }
    }

    // Median of the stored non-zero values together with n - size() zeros.
    static double median_with_zeros(std::vector<double> v, std::size_t n) {
        if (n == 0) return std::numeric_limits<double>::quiet_NaN();
        std::sort(v.begin(), v.end());
        const std::size_t nz = n - v.size();
        const std::size_t nneg = static_cast<std::size_t>(std::lower_bound(v.begin(), v.end(), 0.0) - v.begin());
        auto kth = [&](std::size_t m) {
            if (m < nneg) return v[m];
            if (m < nneg + nz) return 0.0;
            return v[m - nz];
        };
        if (n % 2 == 1) return kth(n / 2);
        const double lo = kth(n / 2 - 1), hi = kth(n / 2), mid = 0.5 * (lo + hi);
        return std::isfinite(mid) ? mid : 0.5 * lo + 0.5 * hi;  // two values near the double maximum
    }

    std::size_t p_;
    AggSpec spec_;
    std::size_t ncells_ = 0;
    std::vector<double> acc_;
    std::vector<std::size_t> nnan_;
    std::vector<std::size_t> nexp_;
    std::vector<std::vector<double>> vals_;
};

// Divides each group's sums (column g of the p x ngroups matrix) by the
// group's total over features and multiplies by `scale` (1e6: counts per
// million).  A group whose total is 0 gets NaN.
inline void normalise_cpm(double* out, std::size_t p, std::size_t ngroups, double scale = 1e6) {
    for (std::size_t g = 0; g < ngroups; ++g) {
        double* col = out + g * p;
        double total = 0.0;
        for (std::size_t r = 0; r < p; ++r) total += col[r];
        const double f = total > 0.0 ? scale / total : std::numeric_limits<double>::quiet_NaN();
        for (std::size_t r = 0; r < p; ++r) col[r] *= f;
    }
}

// The columns (cells) that make up each group, 0-based, in the order they
// are added.  A column may belong to several groups (pools drawn with
// replacement) or to none.
using Groups = std::vector<std::vector<int>>;

// A compressed-sparse-column view (the layout of a dgCMatrix).
struct SparseView {
    std::size_t nrow = 0;
    std::size_t ncol = 0;
    const int* colptr = nullptr;  // ncol + 1
    const int* rowidx = nullptr;
    const double* values = nullptr;
};

// The structure of a CSC matrix whose slots hold ncolptr column pointers,
// nrowidx row indices and nvalues values: throws std::invalid_argument
// unless colptr has ncol + 1 entries from 0, never decreasing, ending
// within the row indices, and there are as many values as row indices.
// O(ncol); the row indices themselves are checked by the passes that read
// them (aggregate_sparse()).
inline void check_sparse_structure(const SparseView& x, std::size_t ncolptr, std::size_t nrowidx, std::size_t nvalues) {
    if (ncolptr != x.ncol + 1) throw std::invalid_argument("the 'p' slot must have ncol + 1 entries");
    if (nvalues != nrowidx) throw std::invalid_argument("the 'i' and 'x' slots differ in length");
    if (x.colptr[0] != 0) throw std::invalid_argument("the 'p' slot must start at 0");
    for (std::size_t c = 0; c < x.ncol; ++c) {
        if (x.colptr[c + 1] < x.colptr[c]) throw std::invalid_argument("the 'p' slot decreases");
    }
    if (static_cast<std::size_t>(x.colptr[x.ncol]) > nrowidx) {
        throw std::invalid_argument("the 'p' slot points beyond the 'i' slot");
    }
}

namespace detail {

template <class AddColumn>
void aggregate_groups(std::size_t p, const Groups& groups, const AggSpec& spec, double* out, int nthreads,
                      const PollFn& poll, AddColumn&& add_column) {
    std::vector<Accumulator> acc;
    for (int w = 0; w < std::max(nthreads, 1); ++w) acc.emplace_back(p, spec);
    run_tasks(groups.size(), nthreads, [&](std::size_t g, int w) {
        Accumulator& a = acc[static_cast<std::size_t>(w)];
        a.reset();
        for (int c : groups[g]) {
            try {
                add_column(a, c);
            } catch (ValueError& e) {
                e.col = c;
                throw;
            }
        }
        a.finish(out + g * p);
    }, poll);
    if (spec.fun == AggFun::Cpm && spec.normalise) normalise_cpm(out, p, groups.size());
}

// Means, log1p sums and counts per million of finite values whose sums
// left the double range (beyond about 1.8e308) would come out infinite or
// NaN although the result itself is representable.  The groups with a
// non-finite result are aggregated again by run(groups, spec, buffer) with
// the values scaled by 2^-64, and their non-finite entries (for counts per
// million, whole columns) replaced.  Results that were finite are not
// touched, so ordinary data give the same numbers with or without this.
template <class Run>
void rescue_overflow(std::size_t p, const Groups& groups, const AggSpec& spec, double* out, Run&& run) {
    const bool cpm = spec.fun == AggFun::Cpm && spec.normalise;
    if (spec.scale != 1.0 || !(spec.fun == AggFun::Mean || spec.fun == AggFun::Log1pSum || cpm)) return;
    std::vector<std::size_t> redo;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const double* col = out + g * p;
        if (!std::all_of(col, col + p, [](double v) { return std::isfinite(v); })) redo.push_back(g);
    }
    if (redo.empty()) return;
    Groups sub;
    for (std::size_t g : redo) sub.push_back(groups[g]);
    AggSpec scaled = spec;
    scaled.scale = std::ldexp(1.0, -64);
    std::vector<double> again(p * sub.size());
    run(sub, scaled, again.data());
    for (std::size_t k = 0; k < redo.size(); ++k) {
        double* col = out + redo[k] * p;
        const double* fresh = again.data() + k * p;
        for (std::size_t r = 0; r < p; ++r) {
            if (cpm || !std::isfinite(col[r])) col[r] = fresh[r];
        }
    }
}

}  // namespace detail

// Aggregates the columns of a dense column-major p x n matrix into the
// p x groups.size() matrix `out`.
inline void aggregate_dense(const double* x, std::size_t p, std::size_t n, const Groups& groups, const AggSpec& spec,
                            double* out, int nthreads = 1, const PollFn& poll = PollFn()) {
    auto run = [&](const Groups& gr, const AggSpec& sp, double* o) {
        detail::aggregate_groups(p, gr, sp, o, nthreads, poll, [&](Accumulator& a, int c) {
            if (c < 0 || static_cast<std::size_t>(c) >= n) throw std::out_of_range("group column out of range");
            a.add_dense(x + static_cast<std::size_t>(c) * p);
        });
    };
    run(groups, spec, out);
    detail::rescue_overflow(p, groups, spec, out, run);
}

namespace detail {

// The aggregations that are a function of the per-group sums alone.
inline bool sum_like(const AggSpec& s) {
    return !s.na_rm && (s.fun == AggFun::Sum || s.fun == AggFun::Mean || s.fun == AggFun::Cpm ||
                        s.fun == AggFun::Log1pSum);
}

// owner[c] = the group of column c, or -1.  False when some column is in two
// groups or a group's columns do not strictly increase: then the one-pass
// path would add the values in another order than Accumulator does.
inline bool column_owners(const Groups& groups, std::size_t ncol, std::vector<int>& owner) {
    owner.assign(ncol, -1);
    for (std::size_t g = 0; g < groups.size(); ++g) {
        int last = -1;
        for (int c : groups[g]) {
            if (c < 0 || static_cast<std::size_t>(c) >= ncol) throw std::out_of_range("group column out of range");
            if (c <= last || owner[static_cast<std::size_t>(c)] != -1) return false;
            owner[static_cast<std::size_t>(c)] = static_cast<int>(g);
            last = c;
        }
    }
    return true;
}

// Sum-like aggregation of a CSC matrix in one ascending pass over its
// columns, each non-zero added straight into its group's column of `out`.
// Reading the matrix in storage order is what makes this path fast; every
// sum is still formed in ascending column order, as Accumulator forms it for
// groups whose columns increase, so both paths give the same numbers.
// Thread t takes the groups g with g % nthreads == t, so each sum is formed
// by one thread and the result does not depend on the number of threads.
inline void aggregate_sparse_one_pass(const SparseView& x, const Groups& groups, const std::vector<int>& owner,
                                      const AggSpec& spec, double* out, int nthreads, const PollFn& poll) {
    const std::size_t p = x.nrow;
    const std::size_t ng = groups.size();
    std::fill(out, out + p * ng, 0.0);
    const bool nonneg = spec.fun == AggFun::Cpm || spec.fun == AggFun::Log1pSum;
    const int nparts = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(ng, static_cast<std::size_t>(std::max(nthreads, 1)))));
    run_tasks(static_cast<std::size_t>(nparts), nthreads, [&](std::size_t part, int) {
        for (std::size_t c = 0; c < x.ncol; ++c) {
            const int g = owner[c];
            if (g < 0 || g % nparts != static_cast<int>(part)) continue;
            const int start = x.colptr[c];
            const int* rows = x.rowidx + start;
            const double* v = x.values + start;
            double* col = out + static_cast<std::size_t>(g) * p;
            const std::size_t n = static_cast<std::size_t>(x.colptr[c + 1] - start);
            for (std::size_t j = 0; j < n; ++j) {
                const double a = v[j];
                if (!std::isfinite(a) || (nonneg && a < 0.0)) {
                    throw ValueError(std::isnan(a) ? "NA/NaN value" : !std::isfinite(a) ? "infinite value" : "negative value",
                                     static_cast<long>(rows[j]), static_cast<long>(c), a);
                }
                if (static_cast<unsigned>(rows[j]) >= p) throw std::invalid_argument("a row index of the 'i' slot is out of range");
                col[rows[j]] += a * spec.scale;
            }
        }
    }, poll);
    for (std::size_t g = 0; g < ng; ++g) {
        double* col = out + g * p;
        const std::size_t n = groups[g].size();
        switch (spec.fun) {
            case AggFun::Mean:
                for (std::size_t r = 0; r < p; ++r) {
                    col[r] = n > 0 ? col[r] / static_cast<double>(n) / spec.scale
                                   : std::numeric_limits<double>::quiet_NaN();
                }
                break;
            case AggFun::Log1pSum:
                for (std::size_t r = 0; r < p; ++r) col[r] = scaled_log1p(col[r], spec.scale);
                break;
            case AggFun::Sum:
                if (spec.scale != 1.0) {
                    for (std::size_t r = 0; r < p; ++r) col[r] /= spec.scale;
                }
                break;
            default: break;
        }
    }
    if (spec.fun == AggFun::Cpm && spec.normalise) normalise_cpm(out, p, ng);
}

inline void aggregate_sparse_once(const SparseView& x, const Groups& groups, const AggSpec& spec, double* out,
                                  int nthreads, const PollFn& poll) {
    std::vector<int> owner;
    if (sum_like(spec) && column_owners(groups, x.ncol, owner)) {
        aggregate_sparse_one_pass(x, groups, owner, spec, out, nthreads, poll);
        return;
    }
    aggregate_groups(x.nrow, groups, spec, out, nthreads, poll, [&](Accumulator& a, int c) {
        if (c < 0 || static_cast<std::size_t>(c) >= x.ncol) throw std::out_of_range("group column out of range");
        const int start = x.colptr[c];
        const int end = x.colptr[c + 1];
        for (int j = start; j < end; ++j) {
            if (static_cast<unsigned>(x.rowidx[j]) >= x.nrow) {
                throw std::invalid_argument("a row index of the 'i' slot is out of range");
            }
        }
        a.add_sparse(x.rowidx + start, x.values + start, static_cast<std::size_t>(end - start));
    });
}

}  // namespace detail

// Aggregates the columns of a CSC matrix (see SparseView) into the
// x.nrow x groups.size() matrix `out`: in one pass in storage order for the
// sum-like aggregations of groups that do not share columns, cell by cell
// otherwise.
inline void aggregate_sparse(const SparseView& x, const Groups& groups, const AggSpec& spec, double* out,
                             int nthreads = 1, const PollFn& poll = PollFn()) {
    auto run = [&](const Groups& gr, const AggSpec& sp, double* o) {
        detail::aggregate_sparse_once(x, gr, sp, o, nthreads, poll);
    };
    run(groups, spec, out);
    detail::rescue_overflow(x.nrow, groups, spec, out, run);
}

// Groups from integer ids (0-based; negative = left out).
inline Groups groups_from_ids(const std::vector<int>& ids, std::size_t ngroups) {
    Groups g(ngroups);
    for (std::size_t c = 0; c < ids.size(); ++c) {
        if (ids[c] >= 0) g[static_cast<std::size_t>(ids[c])].push_back(static_cast<int>(c));
    }
    return g;
}

// Random pools of `size` cells drawn from `cells` (a set of column indices).
// Without replacement the pools are disjoint (each cell used at most once);
// with replacement every pool is drawn afresh, its cells distinct within it.
inline Groups draw_pools(const std::vector<int>& cells, std::size_t size, std::size_t npools, bool replace, Rng& rng) {
    if (size > cells.size()) throw std::invalid_argument("pool size exceeds the number of cells");
    if (!replace && size * npools > cells.size()) {
        throw std::invalid_argument("disjoint pools need more cells than there are");
    }
    Groups pools(npools);
    IndexSampler sampler(rng, IndexDraw::Exact);
    std::vector<int> work(cells);
    std::size_t used = 0;
    for (std::size_t k = 0; k < npools; ++k) {
        if (replace) {
            work = cells;
            used = 0;
        }
        // Positions used..used+size-1 become the pool.
        sampler.sample_front(work.begin() + static_cast<long>(used), work.end(), size);
        pools[k].assign(work.begin() + static_cast<long>(used), work.begin() + static_cast<long>(used + size));
        std::sort(pools[k].begin(), pools[k].end());
        used += size;
    }
    return pools;
}

inline AggFun parse_aggfun(const std::string& name) {
    if (name == "sum") return AggFun::Sum;
    if (name == "mean") return AggFun::Mean;
    if (name == "geomean") return AggFun::Geomean;
    if (name == "median") return AggFun::Median;
    if (name == "max") return AggFun::Max;
    if (name == "log1p_sum") return AggFun::Log1pSum;
    if (name == "cpm") return AggFun::Cpm;
    throw std::invalid_argument("unknown aggregation '" + name + "'");
}

}  // namespace bulkcausal

#endif
