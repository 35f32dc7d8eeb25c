// The one sampler of random indices of the core: samples without
// replacement (random pools of cells, subsamples), permutations (the HSIC
// permutation test, the causal order of a random DAG) and draws with
// replacement (bootstrap resamples).  Every caller in the core and in the
// glue goes through IndexSampler, so that there is one place to read, test
// and change how the package draws indices.
//
// Two ways of reading a uniform index in [0, n) off a stream were in use
// before the callers were brought together, and both are kept: stored
// results, vignettes and tests depend on the exact draws each caller makes.
//   IndexDraw::Exact   Rng::below(n), Lemire's multiply-shift with
//                      rejection: exactly uniform; takes no draw when n == 1.
//                      Used by the pools of cells and random DAGs.
//   IndexDraw::Scaled  floor(uniform() * n), capped at n - 1: one draw per
//                      index, uniform to within n / 2^53; takes a draw even
//                      when n == 1.  Used by the HSIC permutations, the
//                      spline test's subsample and resample_cpp().
// New callers should use Exact.
#ifndef BULKCAUSAL_SAMPLING_HPP
#define BULKCAUSAL_SAMPLING_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "bulkcausal/rng.hpp"

namespace bulkcausal {

enum class IndexDraw { Exact, Scaled };

// Draws indices from `rng`, which it borrows (the caller owns the stream
// and may go on drawing from it afterwards).
class IndexSampler {
public:
    explicit IndexSampler(Rng& rng, IndexDraw how = IndexDraw::Exact) : rng_(rng), how_(how) {}

    // A uniform index in [0, n); n >= 1.
    std::size_t index(std::size_t n) {
        if (how_ == IndexDraw::Exact) return static_cast<std::size_t>(rng_.below(static_cast<std::uint64_t>(n)));
        return std::min(n - 1, static_cast<std::size_t>(rng_.uniform() * static_cast<double>(n)));
    }

    // Moves a uniform random sample without replacement of `size` of the
    // elements of [first, last) to [first, first + size), in random order
    // (partial Fisher-Yates from the front: position i takes a uniform pick
    // of positions i..n-1).  size <= last - first.
    template <class It>
    void sample_front(It first, It last, std::size_t size) {
        const auto n = static_cast<std::size_t>(last - first);
        for (std::size_t i = 0; i < size; ++i) {
            const std::size_t j = i + index(n - i);
            std::iter_swap(first + static_cast<std::ptrdiff_t>(i), first + static_cast<std::ptrdiff_t>(j));
        }
    }

    // A uniformly random permutation of [first, last) (Fisher-Yates from the
    // back: position i, from the last down to 1, takes a uniform pick of
    // positions 0..i).  Not the same draws as sample_front() over the whole
    // range, though both give uniform permutations.
    template <class It>
    void shuffle(It first, It last) {
        const auto n = static_cast<std::size_t>(last - first);
        for (std::size_t i = n; i-- > 1;) {
            std::iter_swap(first + static_cast<std::ptrdiff_t>(i), first + static_cast<std::ptrdiff_t>(index(i + 1)));
        }
    }

    // `size` uniform indices in [0, n) drawn with replacement into out[0..size).
    template <class Out>
    void with_replacement(std::size_t n, std::size_t size, Out out) {
        for (std::size_t i = 0; i < size; ++i) *out++ = static_cast<std::size_t>(index(n));
    }

private:
    Rng& rng_;
    IndexDraw how_;
};

// One resample of `size` indices into 0..n-1, written to out[0..size): with
// replacement (a bootstrap resample) or without (a subsample, sorted, or
// with `sorted` false in random order: a random permutation when
// size == n).  `work` is scratch space of the caller, reused across calls.
inline void resample(IndexSampler& sampler, std::size_t n, std::size_t size, bool replace, bool sorted,
                     std::vector<std::size_t>& work, std::size_t* out) {
    if (replace) {
        if (size > 0 && n == 0) throw std::invalid_argument("cannot resample from nothing");
        sampler.with_replacement(n, size, out);
        return;
    }
    if (size > n) throw std::invalid_argument("a subsample larger than the sample");
    work.resize(n);
    for (std::size_t i = 0; i < n; ++i) work[i] = i;
    sampler.sample_front(work.begin(), work.end(), size);
    if (sorted) std::sort(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(size));
    std::copy(work.begin(), work.begin() + static_cast<std::ptrdiff_t>(size), out);
}

}  // namespace bulkcausal

#endif
