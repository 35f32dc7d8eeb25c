// Glue for the resampling R code needs (bootstrap resamples, subsamples),
// drawn from the package's seeded streams so that package code never
// touches R's generator.
#include "glue.h"

#include "bulkcausal/rng.hpp"

// nrep columns of `size` 1-based indices into 1..n: with replacement
// (bootstrap) or without (subsamples, sorted unless `sorted` is false: then
// in random order, a random permutation when size == n).  Column r uses
// stream r.
// [[Rcpp::export(rng = false)]]
Rcpp::IntegerMatrix resample_cpp(int n, int size, int nrep, bool replace, double seed, bool sorted = true) {
    if (n < 1 || size < 0 || nrep < 0 || (!replace && size > n)) Rcpp::stop("invalid resampling sizes");
    Rcpp::IntegerMatrix out(size, nrep);
    std::vector<int> idx(static_cast<std::size_t>(n));
    for (int r = 0; r < nrep; ++r) {
        bulkcausal::Rng rng(glue::as_seed(seed), 0x5A3B1E, static_cast<std::uint64_t>(r));
        int* col = out.begin() + static_cast<std::ptrdiff_t>(r) * size;
        if (replace) {
            for (int i = 0; i < size; ++i) {
                col[i] = 1 + std::min(n - 1, static_cast<int>(rng.uniform() * n));
            }
            continue;
        }
        for (int i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
        for (int i = 0; i < size; ++i) {
            const int j = i + std::min(n - i - 1, static_cast<int>(rng.uniform() * (n - i)));
            std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
        }
        if (sorted) std::sort(idx.begin(), idx.begin() + size);
        for (int i = 0; i < size; ++i) col[i] = idx[static_cast<std::size_t>(i)] + 1;
    }
    return out;
}
