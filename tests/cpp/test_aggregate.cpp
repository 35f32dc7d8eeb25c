#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "bulkcausal/aggregate.hpp"

using namespace bulkcausal;

namespace {

struct Data {
    std::size_t p, n;
    std::vector<double> dense;  // column-major
    std::vector<int> colptr, rowidx;
    std::vector<double> values;
};

// A matrix with many exact zeros, some negative values when `signed_values`.
Data make_data(std::size_t p, std::size_t n, bool signed_values, std::uint64_t seed) {
    Data d{p, n, std::vector<double>(p * n, 0.0), {0}, {}, {}};
    Rng rng(seed);
    for (std::size_t c = 0; c < n; ++c) {
        for (std::size_t r = 0; r < p; ++r) {
            if (rng.uniform() < 0.4) {
                double v = std::floor(rng.exponential() * 5) + 1;
                if (signed_values && rng.uniform() < 0.3) v = -v / 3;
                d.dense[c * p + r] = v;
                d.rowidx.push_back(static_cast<int>(r));
                d.values.push_back(v);
            }
        }
        d.colptr.push_back(static_cast<int>(d.values.size()));
    }
    return d;
}

SparseView view(const Data& d) { return SparseView{d.p, d.n, d.colptr.data(), d.rowidx.data(), d.values.data()}; }

// The naive definition of each aggregation of the values `x` of one feature
// in one group.
double naive(AggFun f, std::vector<double> x, double pseudo) {
    const double n = static_cast<double>(x.size());
    double s = 0;
    switch (f) {
        case AggFun::Sum:
        case AggFun::Cpm:
            for (double v : x) s += v;
            return s;
        case AggFun::Mean:
            for (double v : x) s += v;
            return s / n;
        case AggFun::Log1pSum:
            for (double v : x) s += v;
            return std::log(1 + s);
        case AggFun::Geomean:
            for (double v : x) s += std::log(v + pseudo);
            return std::exp(s / n) - pseudo;
        case AggFun::Max: return *std::max_element(x.begin(), x.end());
        case AggFun::Median: {
            std::sort(x.begin(), x.end());
            const std::size_t k = x.size();
            return k % 2 ? x[k / 2] : (x[k / 2 - 1] + x[k / 2]) / 2;
        }
    }
    return 0;
}

}  // namespace

TEST_CASE("every aggregation matches its naive definition, dense and sparse alike", "[aggregate]") {
    const auto d = make_data(30, 200, false, 1);
    const auto ds = make_data(30, 200, true, 2);
    // Uneven groups, columns out of order, one column in two groups.
    Groups groups{{5, 1, 7, 100}, {0}, {}, {}};
    for (int c = 8; c < 200; ++c) groups[2 + c % 2].push_back(c);
    groups[3].push_back(5);
    for (AggFun f : {AggFun::Sum, AggFun::Mean, AggFun::Geomean, AggFun::Median, AggFun::Max, AggFun::Log1pSum,
                     AggFun::Cpm}) {
        // Negative values only where the function takes them.
        const bool takes_negative = f == AggFun::Sum || f == AggFun::Mean || f == AggFun::Median || f == AggFun::Max;
        const Data& x = takes_negative ? ds : d;
        AggSpec spec;
        spec.fun = f;
        spec.pseudo = 0.5;
        std::vector<double> dense_out(x.p * groups.size()), sparse_out(x.p * groups.size());
        aggregate_dense(x.dense.data(), x.p, x.n, groups, spec, dense_out.data());
        aggregate_sparse(view(x), groups, spec, sparse_out.data());
        std::vector<double> totals(groups.size(), 0.0);
        for (std::size_t g = 0; g < groups.size(); ++g) {
            if (groups[g].empty()) continue;
            for (std::size_t r = 0; r < x.p; ++r) {
                std::vector<double> vals;
                for (int c : groups[g]) vals.push_back(x.dense[static_cast<std::size_t>(c) * x.p + r]);
                const double want = naive(f, vals, spec.pseudo);
                totals[g] += want;
                const double got = dense_out[g * x.p + r];
                INFO("fun " << static_cast<int>(f) << " group " << g << " row " << r);
                if (f == AggFun::Cpm) continue;
                CHECK(got == Approx(want).epsilon(1e-12).margin(1e-12));
            }
        }
        if (f == AggFun::Cpm) {
            for (std::size_t g = 0; g < groups.size(); ++g) {
                if (groups[g].empty()) continue;
                for (std::size_t r = 0; r < x.p; ++r) {
                    std::vector<double> vals;
                    for (int c : groups[g]) vals.push_back(x.dense[static_cast<std::size_t>(c) * x.p + r]);
                    CHECK(dense_out[g * x.p + r] == Approx(1e6 * naive(AggFun::Sum, vals, 0) / totals[g]).epsilon(1e-12));
                }
            }
        }
        // Implicit and explicit zeros give the same bits.
        for (std::size_t i = 0; i < dense_out.size(); ++i) {
            if (std::isnan(dense_out[i])) {
                CHECK(std::isnan(sparse_out[i]));
            } else {
                CHECK(dense_out[i] == sparse_out[i]);
            }
        }
    }
}

TEST_CASE("the one-pass sparse path gives the numbers of the per-group path", "[aggregate]") {
    // Disjoint groups of increasing columns take the one-pass path; the same
    // groups with one column moved to the front of its group (so not
    // increasing) take the per-group Accumulator path.
    const auto d = make_data(41, 500, false, 11);
    std::vector<int> ids(d.n);
    Rng rng(12);
    for (auto& id : ids) id = static_cast<int>(rng.below(9)) - 1;
    const auto groups = groups_from_ids(ids, 8);
    Groups shuffled = groups;
    for (auto& g : shuffled) {
        if (g.size() > 1) std::swap(g.front(), g.back());
    }
    for (AggFun f : {AggFun::Sum, AggFun::Mean, AggFun::Log1pSum, AggFun::Cpm}) {
        AggSpec spec;
        spec.fun = f;
        std::vector<double> dense(41 * 8), one_pass(41 * 8), per_group(41 * 8);
        aggregate_dense(d.dense.data(), d.p, d.n, groups, spec, dense.data());
        for (int threads : {1, 2, 3}) {
            aggregate_sparse(view(d), groups, spec, one_pass.data(), threads);
            CHECK(one_pass == dense);
        }
        aggregate_sparse(view(d), shuffled, spec, per_group.data());
        for (std::size_t i = 0; i < dense.size(); ++i) CHECK(per_group[i] == Approx(dense[i]).epsilon(1e-14));
        // the naive sum of one group and row
        double want = 0;
        for (int c : groups[3]) want += d.dense[static_cast<std::size_t>(c) * d.p + 7];
        if (f == AggFun::Sum) CHECK(dense[3 * 41 + 7] == want);
        if (f == AggFun::Mean) CHECK(dense[3 * 41 + 7] == want / static_cast<double>(groups[3].size()));
        if (f == AggFun::Log1pSum) CHECK(dense[3 * 41 + 7] == std::log1p(want));
    }
    // A bad value is located on the one-pass path too.
    auto bad = make_data(41, 500, false, 11);
    bad.values[100] = std::numeric_limits<double>::infinity();
    AggSpec spec;
    std::vector<double> out(41 * 8);
    try {
        aggregate_sparse(view(bad), groups, spec, out.data(), 2);
        FAIL("no error");
    } catch (const ValueError& e) {
        CHECK(e.row == bad.rowidx[100]);
        CHECK(bad.colptr[static_cast<std::size_t>(e.col)] <= 100);
        CHECK(bad.colptr[static_cast<std::size_t>(e.col) + 1] > 100);
    }
}

TEST_CASE("an empty group gives NaN for mean-like statistics and 0 for sums", "[aggregate]") {
    const auto d = make_data(4, 10, false, 3);
    Groups groups{{}, {1, 2}};
    AggSpec spec;
    std::vector<double> out(8);
    spec.fun = AggFun::Mean;
    aggregate_dense(d.dense.data(), 4, 10, groups, spec, out.data());
    CHECK(std::isnan(out[0]));
    spec.fun = AggFun::Sum;
    aggregate_dense(d.dense.data(), 4, 10, groups, spec, out.data());
    CHECK(out[0] == 0.0);
}

TEST_CASE("results do not depend on the number of threads", "[aggregate]") {
    const auto d = make_data(50, 3000, true, 4);
    std::vector<int> ids(d.n);
    Rng rng(9);
    for (auto& id : ids) id = static_cast<int>(rng.below(37)) - 1;  // some -1: left out
    const auto groups = groups_from_ids(ids, 36);
    for (AggFun f : {AggFun::Sum, AggFun::Mean, AggFun::Median, AggFun::Max}) {
        AggSpec spec;
        spec.fun = f;
        std::vector<double> one(50 * 36), two(50 * 36), sp(50 * 36);
        aggregate_dense(d.dense.data(), d.p, d.n, groups, spec, one.data(), 1);
        aggregate_dense(d.dense.data(), d.p, d.n, groups, spec, two.data(), 2);
        aggregate_sparse(view(d), groups, spec, sp.data(), 2);
        CHECK(one == two);
        CHECK(one == sp);
    }
}

TEST_CASE("non-finite and out-of-domain values raise errors that locate them", "[aggregate]") {
    auto d = make_data(5, 6, false, 5);
    d.dense[3 * 5 + 2] = std::numeric_limits<double>::quiet_NaN();
    const Groups groups{{0, 1, 2}, {3, 4, 5}};
    std::vector<double> out(10);
    AggSpec spec;
    spec.fun = AggFun::Mean;
    try {
        aggregate_dense(d.dense.data(), 5, 6, groups, spec, out.data());
        FAIL("no error");
    } catch (const ValueError& e) {
        CHECK(e.row == 2);
        CHECK(e.col == 3);
    }
    // na_rm drops it: the mean is over the two other cells.
    spec.na_rm = true;
    aggregate_dense(d.dense.data(), 5, 6, groups, spec, out.data());
    CHECK(out[5 + 2] == Approx((d.dense[4 * 5 + 2] + d.dense[5 * 5 + 2]) / 2));
    // Inf is an error even with na_rm.
    d.dense[0] = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(aggregate_dense(d.dense.data(), 5, 6, groups, spec, out.data()), ValueError);
    // negative values for cpm and log1p_sum, in both layouts
    auto s = make_data(5, 6, true, 6);
    for (AggFun f : {AggFun::Cpm, AggFun::Log1pSum}) {
        AggSpec neg;
        neg.fun = f;
        CHECK_THROWS_AS(aggregate_dense(s.dense.data(), 5, 6, groups, neg, out.data()), ValueError);
        CHECK_THROWS_AS(aggregate_sparse(view(s), groups, neg, out.data()), ValueError);
        // also when cpm leaves the normalisation to the caller
        neg.normalise = false;
        CHECK_THROWS_AS(aggregate_dense(s.dense.data(), 5, 6, groups, neg, out.data()), ValueError);
        CHECK_THROWS_AS(aggregate_sparse(view(s), groups, neg, out.data()), ValueError);
    }
}

TEST_CASE("cpm without normalisation gives the sums, normalised later to the same cpm", "[aggregate]") {
    auto d = make_data(5, 6, false, 8);
    const Groups groups{{0, 1}, {2, 3, 4, 5}};
    AggSpec sum, cpm, sums;
    cpm.fun = sums.fun = AggFun::Cpm;
    sums.normalise = false;
    std::vector<double> a(10), b(10), c(10);
    aggregate_dense(d.dense.data(), 5, 6, groups, sum, a.data());
    aggregate_sparse(view(d), groups, sums, b.data());
    CHECK(a == b);
    aggregate_dense(d.dense.data(), 5, 6, groups, cpm, c.data());
    normalise_cpm(b.data(), 5, 2);
    CHECK(b == c);
}

TEST_CASE("cpm of an all-zero group is NaN, not a division by zero", "[aggregate]") {
    std::vector<double> x(6, 0.0);
    x[0] = 3;
    AggSpec spec;
    spec.fun = AggFun::Cpm;
    std::vector<double> out(6);
    aggregate_dense(x.data(), 3, 2, Groups{{0}, {1}}, spec, out.data());
    CHECK(out[0] == 1e6);
    CHECK(std::isnan(out[3]));
}

TEST_CASE("means, medians, log1p sums and cpm of values near the double maximum do not overflow", "[aggregate]") {
    const double big = std::numeric_limits<double>::max();
    // feature 0: two values at the maximum (their sum overflows); feature 1:
    // ordinary values, which must come out exactly as without the rescue
    std::vector<double> x{big, 3.0, big, 5.0, 1.0, 7.0};
    std::vector<int> colptr{0, 2, 4, 6}, rowidx{0, 1, 0, 1, 0, 1};
    const SparseView sv{2, 3, colptr.data(), rowidx.data(), x.data()};
    const Groups groups{{0, 1}, {2}};
    for (AggFun f : {AggFun::Mean, AggFun::Median, AggFun::Log1pSum, AggFun::Cpm, AggFun::Sum}) {
        for (bool na_rm : {false, true}) {
            AggSpec spec;
            spec.fun = f;
            spec.na_rm = na_rm;
            std::vector<double> dense(4), sparse(4);
            aggregate_dense(x.data(), 2, 3, groups, spec, dense.data());
            aggregate_sparse(sv, groups, spec, sparse.data());
            INFO("aggregation " << static_cast<int>(f) << " na_rm " << na_rm);
            CHECK(dense == sparse);
            switch (f) {
                case AggFun::Mean:
                case AggFun::Median:
                    CHECK(dense[0] == big);
                    CHECK(dense[1] == 4.0);
                    break;
                case AggFun::Log1pSum:
                    CHECK(dense[0] == Approx(std::log(2.0) + std::log(big)).epsilon(1e-15));
                    CHECK(dense[1] == std::log1p(8.0));
                    break;
                case AggFun::Cpm:
                    CHECK(dense[0] == Approx(1e6).epsilon(1e-15));
                    CHECK(dense[1] == Approx(0.0).margin(1e-300));
                    CHECK(dense[2] == 1e6 * (1.0 / 8.0));
                    break;
                default:  // a sum beyond the double range is infinite: that is its value
                    CHECK(std::isinf(dense[0]));
                    CHECK(dense[1] == 8.0);
            }
        }
    }
}

TEST_CASE("pools are the right size, disjoint without replacement, and reproducible", "[aggregate]") {
    std::vector<int> cells;
    for (int i = 0; i < 100; ++i) cells.push_back(3 * i);
    Rng r1(7), r2(7);
    const auto a = draw_pools(cells, 10, 10, false, r1);
    const auto b = draw_pools(cells, 10, 10, false, r2);
    CHECK(a == b);
    std::vector<int> all;
    for (const auto& pool : a) {
        CHECK(pool.size() == 10);
        all.insert(all.end(), pool.begin(), pool.end());
    }
    std::sort(all.begin(), all.end());
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    CHECK(all == cells);
    CHECK_THROWS(draw_pools(cells, 10, 11, false, r1));
    const auto c = draw_pools(cells, 60, 5, true, r1);
    for (const auto& pool : c) {
        CHECK(std::adjacent_find(pool.begin(), pool.end()) == pool.end());
        CHECK(pool.size() == 60);
    }
    // Each cell is equally likely to be drawn: 2000 pools of 10 from 100.
    Rng r3(8);
    std::vector<int> hits(300, 0);
    const auto many = draw_pools(cells, 10, 2000, true, r3);
    for (const auto& pool : many) for (int c2 : pool) ++hits[c2];
    for (int cidx : cells) CHECK(std::fabs(hits[cidx] - 200.0) < 5 * std::sqrt(200.0 * 0.9));
}

TEST_CASE("malformed CSC slots are refused, never read out of bounds", "[aggregate]") {
    const Data d = make_data(6, 8, false, 17);
    const SparseView v = view(d);
    CHECK_NOTHROW(check_sparse_structure(v, d.colptr.size(), d.rowidx.size(), d.values.size()));
    CHECK_THROWS_AS(check_sparse_structure(v, d.colptr.size() - 1, d.rowidx.size(), d.values.size()),
                    std::invalid_argument);
    CHECK_THROWS_AS(check_sparse_structure(v, d.colptr.size(), d.rowidx.size(), d.values.size() - 1),
                    std::invalid_argument);
    Data bad = d;
    bad.colptr.back() = static_cast<int>(bad.rowidx.size()) + 5;  // beyond the row indices
    CHECK_THROWS_AS(check_sparse_structure(view(bad), bad.colptr.size(), bad.rowidx.size(), bad.values.size()),
                    std::invalid_argument);
    bad = d;
    std::swap(bad.colptr[2], bad.colptr[3]);  // decreasing
    if (bad.colptr[2] != bad.colptr[3]) {
        CHECK_THROWS_AS(check_sparse_structure(view(bad), bad.colptr.size(), bad.rowidx.size(), bad.values.size()),
                        std::invalid_argument);
    }
    // row indices beyond the rows, or negative, stop both aggregation paths
    const Groups g = groups_from_ids({0, 0, 1, 1, 2, 2, 3, 3}, 4);
    std::vector<double> out(6 * 4);
    for (int r : {6, -1}) {
        bad = d;
        bad.rowidx[3] = r;
        AggSpec sum;
        sum.fun = AggFun::Sum;
        CHECK_THROWS_AS(aggregate_sparse(view(bad), g, sum, out.data()), std::invalid_argument);
        AggSpec med;
        med.fun = AggFun::Median;
        CHECK_THROWS_AS(aggregate_sparse(view(bad), g, med, out.data()), std::invalid_argument);
    }
}
