#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "bulkcausal/rng.hpp"
#include "bulkcausal/sampling.hpp"

using bulkcausal::IndexDraw;
using bulkcausal::IndexSampler;
using bulkcausal::Rng;

namespace {

// Each count of `draws` outcomes of probability 1 / counts.size() is within
// 5 standard errors of its expectation.
void check_uniform(const std::vector<long>& counts, long draws) {
    const double p = 1.0 / static_cast<double>(counts.size());
    const double e = p * static_cast<double>(draws);
    const double se = std::sqrt(static_cast<double>(draws) * p * (1.0 - p));
    for (long c : counts) CHECK(std::fabs(static_cast<double>(c) - e) <= 5.0 * se);
}

// The index samplers as they were written before IndexSampler, copied from
// their callers: the sampler must take exactly their draws.
// hsic.hpp random_permutation (Fisher-Yates from the back, scaled uniforms)
void ref_permutation_scaled(std::vector<std::size_t>& perm, Rng& rng) {
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    for (std::size_t i = perm.size(); i-- > 1;) {
        const auto j = static_cast<std::size_t>(rng.uniform() * static_cast<double>(i + 1));
        std::swap(perm[i], perm[std::min(j, i)]);
    }
}
// dag.hpp random_dag's causal order (Fisher-Yates from the back, Rng::below)
void ref_permutation_exact(std::vector<int>& rank, Rng& rng) {
    const int p = static_cast<int>(rank.size());
    for (int i = 0; i < p; ++i) rank[static_cast<std::size_t>(i)] = i;
    for (int i = p - 1; i > 0; --i) {
        std::swap(rank[static_cast<std::size_t>(i)], rank[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
    }
}
// resample.cpp and splineci.hpp subsamples (partial Fisher-Yates from the
// front, scaled uniforms)
std::vector<int> ref_subsample_scaled(int n, int size, Rng& rng) {
    std::vector<int> idx(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
    for (int i = 0; i < size; ++i) {
        const int j = i + std::min(n - i - 1, static_cast<int>(rng.uniform() * (n - i)));
        std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
    }
    idx.resize(static_cast<std::size_t>(size));
    return idx;
}
// aggregate.hpp draw_pools (partial Fisher-Yates from the front, Rng::below)
std::vector<int> ref_subsample_exact(std::vector<int> work, std::size_t used, std::size_t size, Rng& rng) {
    for (std::size_t i = 0; i < size; ++i) {
        const std::size_t j = used + i + static_cast<std::size_t>(rng.below(work.size() - used - i));
        std::swap(work[used + i], work[j]);
    }
    return work;
}
// resample.cpp bootstrap (with replacement, scaled uniforms)
std::vector<int> ref_bootstrap_scaled(int n, int size, Rng& rng) {
    std::vector<int> out(static_cast<std::size_t>(size));
    for (int i = 0; i < size; ++i) out[static_cast<std::size_t>(i)] = std::min(n - 1, static_cast<int>(rng.uniform() * n));
    return out;
}

}  // namespace

TEST_CASE("the sampler takes exactly the draws of the samplers it replaced", "[sampling]") {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        for (std::size_t n : {1u, 2u, 3u, 7u, 50u, 1000u}) {
            {
                Rng a(seed, n), b(seed, n);
                std::vector<std::size_t> ref(n), got(n);
                ref_permutation_scaled(ref, a);
                std::iota(got.begin(), got.end(), std::size_t{0});
                IndexSampler(b, IndexDraw::Scaled).shuffle(got.begin(), got.end());
                CHECK(got == ref);
                CHECK(a.next() == b.next());  // the same number of draws
            }
            {
                Rng a(seed, n), b(seed, n);
                std::vector<int> ref(n), got(n);
                ref_permutation_exact(ref, a);
                std::iota(got.begin(), got.end(), 0);
                IndexSampler(b, IndexDraw::Exact).shuffle(got.begin(), got.end());
                CHECK(got == ref);
                CHECK(a.next() == b.next());
            }
            for (std::size_t size : {std::size_t{0}, std::size_t{1}, n / 2, n}) {
                {
                    Rng a(seed, n, size), b(seed, n, size);
                    const std::vector<int> ref = ref_subsample_scaled(static_cast<int>(n), static_cast<int>(size), a);
                    IndexSampler s(b, IndexDraw::Scaled);
                    std::vector<std::size_t> work, got(size);
                    bulkcausal::resample(s, n, size, false, false, work, got.data());
                    CHECK(std::vector<int>(got.begin(), got.end()) == ref);
                    CHECK(a.next() == b.next());
                }
                {
                    Rng a(seed, n, size + 100), b(seed, n, size + 100);
                    const std::vector<int> ref = ref_bootstrap_scaled(static_cast<int>(n), static_cast<int>(size), a);
                    IndexSampler s(b, IndexDraw::Scaled);
                    std::vector<std::size_t> work, got(size);
                    bulkcausal::resample(s, n, size, true, false, work, got.data());
                    CHECK(std::vector<int>(got.begin(), got.end()) == ref);
                    CHECK(a.next() == b.next());
                }
                {
                    // a pool drawn after `used` cells went to earlier pools
                    const std::size_t used = (n - size) / 2;
                    std::vector<int> cells(n);
                    std::iota(cells.begin(), cells.end(), 10);
                    Rng a(seed, n, size + 200), b(seed, n, size + 200);
                    const std::vector<int> ref = ref_subsample_exact(cells, used, size, a);
                    IndexSampler(b, IndexDraw::Exact)
                        .sample_front(cells.begin() + static_cast<std::ptrdiff_t>(used), cells.end(), size);
                    CHECK(cells == ref);
                    CHECK(a.next() == b.next());
                }
            }
        }
    }
}

TEST_CASE("indices are uniform on [0, n) and in range, both ways of drawing them", "[sampling]") {
    for (IndexDraw how : {IndexDraw::Exact, IndexDraw::Scaled}) {
        Rng rng(7);
        IndexSampler s(rng, how);
        for (std::size_t n : {1u, 2u, 3u, 10u, 37u}) {
            const long draws = 200000;
            std::vector<long> counts(n, 0);
            std::vector<std::size_t> out(static_cast<std::size_t>(draws));
            s.with_replacement(n, out.size(), out.begin());
            for (std::size_t v : out) {
                REQUIRE(v < n);
                ++counts[v];
            }
            check_uniform(counts, draws);
        }
    }
}

TEST_CASE("a shuffle is a permutation, each of the n! equally likely", "[sampling]") {
    for (IndexDraw how : {IndexDraw::Exact, IndexDraw::Scaled}) {
        Rng rng(11);
        IndexSampler s(rng, how);
        // n = 4: 24 permutations
        std::map<std::vector<int>, long> seen;
        const long draws = 120000;
        for (long b = 0; b < draws; ++b) {
            std::vector<int> v{0, 1, 2, 3};
            s.shuffle(v.begin(), v.end());
            std::vector<int> sorted(v);
            std::sort(sorted.begin(), sorted.end());
            REQUIRE(sorted == std::vector<int>{0, 1, 2, 3});
            ++seen[v];
        }
        REQUIRE(seen.size() == 24u);
        std::vector<long> counts;
        for (const auto& kv : seen) counts.push_back(kv.second);
        check_uniform(counts, draws);
        // a long shuffle is still a permutation
        std::vector<int> big(5000);
        std::iota(big.begin(), big.end(), 0);
        s.shuffle(big.begin(), big.end());
        std::vector<int> sorted(big);
        std::sort(sorted.begin(), sorted.end());
        std::vector<int> ref(5000);
        std::iota(ref.begin(), ref.end(), 0);
        CHECK(sorted == ref);
        CHECK(big != ref);
    }
}

TEST_CASE("a sample without replacement has distinct members, each ordered sample equally likely", "[sampling]") {
    for (IndexDraw how : {IndexDraw::Exact, IndexDraw::Scaled}) {
        Rng rng(13);
        IndexSampler s(rng, how);
        // 2 of 5 in order: 20 outcomes
        std::map<std::pair<int, int>, long> seen;
        const long draws = 100000;
        for (long b = 0; b < draws; ++b) {
            std::vector<int> v{0, 1, 2, 3, 4};
            s.sample_front(v.begin(), v.end(), 2);
            REQUIRE(v[0] != v[1]);
            std::vector<int> sorted(v);
            std::sort(sorted.begin(), sorted.end());
            REQUIRE(sorted == std::vector<int>{0, 1, 2, 3, 4});  // the rest is what was not drawn
            ++seen[{v[0], v[1]}];
        }
        REQUIRE(seen.size() == 20u);
        std::vector<long> counts;
        for (const auto& kv : seen) counts.push_back(kv.second);
        check_uniform(counts, draws);
        // a sorted subsample of 30 of 1000 has distinct members in range
        std::vector<std::size_t> work, out(30);
        bulkcausal::resample(s, 1000, 30, false, true, work, out.data());
        CHECK(std::is_sorted(out.begin(), out.end()));
        CHECK(std::adjacent_find(out.begin(), out.end()) == out.end());
        CHECK(out.back() < 1000u);
    }
}

TEST_CASE("Exact takes no draw for an index in [0, 1); Scaled takes one", "[sampling]") {
    Rng a(3), b(3), ref(3);
    IndexSampler exact(a, IndexDraw::Exact), scaled(b, IndexDraw::Scaled);
    CHECK(exact.index(1) == 0u);
    CHECK(scaled.index(1) == 0u);
    const std::uint64_t first = ref.next();
    CHECK(a.next() == first);
    CHECK(b.next() == ref.next());
}

TEST_CASE("resample refuses a subsample larger than the sample", "[sampling]") {
    Rng rng(1);
    IndexSampler s(rng);
    std::vector<std::size_t> work, out(5);
    CHECK_THROWS_AS(bulkcausal::resample(s, 4, 5, false, true, work, out.data()), std::invalid_argument);
}
