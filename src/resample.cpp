// Glue for the resampling R code needs (bootstrap resamples, subsamples),
// drawn from the package's seeded streams so that package code never
// touches R's generator.  The draws themselves are the core's
// (bulkcausal/sampling.hpp).
#include "glue.h"

#include "bulkcausal/rng.hpp"
#include "bulkcausal/sampling.hpp"

// nrep columns of `size` 1-based indices into 1..n: with replacement
// (bootstrap) or without (subsamples, sorted unless `sorted` is false: then
// in random order, a random permutation when size == n).  Column r uses
// stream r.
// [[Rcpp::export(rng = false)]]
Rcpp::IntegerMatrix resample_cpp(int n, int size, int nrep, bool replace, double seed, bool sorted = true) {
    if (n < 1 || size < 0 || nrep < 0 || (!replace && size > n)) Rcpp::stop("invalid resampling sizes");
    Rcpp::IntegerMatrix out(size, nrep);
    std::vector<std::size_t> work, col(static_cast<std::size_t>(size));
    for (int r = 0; r < nrep; ++r) {
        bulkcausal::Rng rng(glue::as_seed(seed), 0x5A3B1E, static_cast<std::uint64_t>(r));
        bulkcausal::IndexSampler sampler(rng, bulkcausal::IndexDraw::Scaled);
        bulkcausal::resample(sampler, static_cast<std::size_t>(n), static_cast<std::size_t>(size), replace, sorted, work,
                             col.data());
        int* dst = out.begin() + static_cast<std::ptrdiff_t>(r) * size;
        for (int i = 0; i < size; ++i) dst[i] = static_cast<int>(col[static_cast<std::size_t>(i)]) + 1;
    }
    return out;
}
