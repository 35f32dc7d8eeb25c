// The Hilbert-Schmidt independence criterion (HSIC) of two univariate
// samples with Gaussian kernels, and its null distribution: the gamma
// approximation of Gretton et al. (2008, "A kernel statistical test of
// independence") or permutations.
//
// With Gram matrices K and L and the centring matrix H, the statistic is
// T = tr(K H L H) / n (n times the biased HSIC).  Under independence its
// mean is (1 + mu_x mu_y - mu_x - mu_y) with mu the mean off-diagonal
// kernel value, and its variance is
// 2 (n - 4)(n - 5) / ((n - 1)(n - 2)(n - 3)) * sum_{i != j} (Kc_ij Lc_ij)^2 / (n - 1)
// with Kc = H K H; T is compared with the gamma distribution of that mean
// and variance.
#ifndef BULKCAUSAL_HSIC_HPP
#define BULKCAUSAL_HSIC_HPP

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "bulkcausal/distributions.hpp"
#include "bulkcausal/rng.hpp"
#include "bulkcausal/sampling.hpp"

namespace bulkcausal {

// Median of |v_i - v_j| over all pairs i < j (the lower median), in
// O(n log n): sort once, then bisect on the distance, counting the pairs
// within it with two pointers.
inline double median_pairwise_distance(std::vector<double> v) {
    const std::size_t n = v.size();
    if (n < 2) return 0.0;
    std::sort(v.begin(), v.end());
    const std::uint64_t npairs = static_cast<std::uint64_t>(n) * (n - 1) / 2;
    const std::uint64_t want = (npairs + 1) / 2;
    auto within = [&](double t) {
        std::uint64_t c = 0;
        std::size_t j = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (j < i) j = i;
            while (j + 1 < n && v[j + 1] - v[i] <= t) ++j;
            c += j - i;
        }
        return c;
    };
    double lo = 0.0, hi = v[n - 1] - v[0];
    if (within(lo) >= want) return 0.0;
    // within(lo) < want <= within(hi)
    for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; ++it) {
        const double mid = 0.5 * (lo + hi);
        if (within(mid) >= want) hi = mid; else lo = mid;
    }
    return hi;
}

struct HsicResult {
    double statistic = NAN;  // tr(K H L H) / n
    double mean0 = NAN;      // null mean of the statistic
    double var0 = NAN;       // null variance of the statistic
    double p_value = NAN;
};

namespace detail {

// A Gaussian Gram matrix exp(-(v_i - v_j)^2 / (2 sigma^2)) kept as its
// strict upper triangle (the diagonal is 1), with its row sums.  Kernel
// values are computed and kept in single precision (relative error below
// 1e-7, far under the statistic's sampling error), which halves the time of
// the exponentials and the memory of the triangles; every sum is in double.
struct Gram {
    std::size_t n = 0;
    std::vector<float> upper;  // (i, j), i < j, row by row
    std::vector<double> rowsum;
    double total = 0.0;

    std::size_t index(std::size_t i, std::size_t j) const {  // i < j
        return i * (2 * n - i - 1) / 2 + (j - i - 1);
    }
    double at(std::size_t i, std::size_t j) const {
        if (i == j) return 1.0;
        return i < j ? upper[index(i, j)] : upper[index(j, i)];
    }
};

// The kernel's exponent factor -1 / (2 sigma^2), sigma = the median
// pairwise distance (the mean distance when more than half the pairs are
// tied); 0 for a constant sample, whose all-ones Gram matrix HSIC sees as
// independent of anything.
inline double kernel_scale(const std::vector<double>& v) {
    const std::size_t n = v.size();
    double sigma = median_pairwise_distance(v);
    if (!(sigma > 0.0)) {
        std::vector<double> s(v);
        std::sort(s.begin(), s.end());
        double acc = 0.0;
        for (std::size_t i = 0; i < n; ++i) acc += (2.0 * static_cast<double>(i) + 1.0 - static_cast<double>(n)) * s[i];
        sigma = n > 1 ? acc / (static_cast<double>(n) * (static_cast<double>(n) - 1.0) / 2.0) : 0.0;
    }
    return sigma > 0.0 ? -0.5 / (sigma * sigma) : 0.0;
}

// Fills g with the Gram matrix of v, reusing g's buffers.
inline void gaussian_gram(const std::vector<double>& v, Gram& g) {
    const std::size_t n = v.size();
    g.n = n;
    g.upper.resize(n * (n - 1) / 2);
    g.rowsum.assign(n, 1.0);
    g.total = 0.0;
    const double scale = kernel_scale(v);
    // Row i's part right of the diagonal goes to rowsum[i]; its entries are
    // also the column sums of rows below, added to rowsum[j].  Four partial
    // sums break the dependency chain of the row's running total.
    float* out = g.upper.data();
    for (std::size_t i = 0; i < n; ++i) {
        const double vi = v[i];
        const std::size_t m = n - i - 1;
        const double* vj = v.data() + i + 1;
        for (std::size_t j = 0; j < m; ++j) {
            const double d = vi - vj[j];
            out[j] = std::exp(static_cast<float>(scale * d * d));
        }
        double r0 = 0.0, r1 = 0.0, r2 = 0.0, r3 = 0.0;
        double* col = g.rowsum.data() + i + 1;
        std::size_t j = 0;
        for (; j + 4 <= m; j += 4) {
            r0 += out[j];
            r1 += out[j + 1];
            r2 += out[j + 2];
            r3 += out[j + 3];
        }
        for (; j < m; ++j) r0 += out[j];
        for (j = 0; j < m; ++j) col[j] += out[j];
        g.rowsum[i] += (r0 + r1) + (r2 + r3);
        out += m;
    }
    for (double r : g.rowsum) g.total += r;
}

}  // namespace detail

namespace detail {

inline void null_moments(HsicResult& out, double ktotal, double ltotal, double v, double nn) {
    const double mux = (ktotal - nn) / (nn * (nn - 1.0));
    const double muy = (ltotal - nn) / (nn * (nn - 1.0));
    out.mean0 = 1.0 + mux * muy - mux - muy;
    out.var0 = 2.0 * (nn - 4.0) * (nn - 5.0) / ((nn - 1.0) * (nn - 2.0) * (nn - 3.0)) * v / (nn - 1.0);
}

}  // namespace detail

// Buffers of hsic_test, reusable across calls so that repeated tests do
// not allocate (and fault in) two fresh n(n - 1)/2 arrays of floats each
// time.
struct HsicScratch {
    detail::Gram K, L;
};

// HSIC test of the independence of x and y (same length n >= 6).  With
// nperm = 0 the p-value comes from the gamma approximation; otherwise from
// nperm permutations of y drawn from `rng`, as (1 + #{T_perm >= T}) /
// (1 + nperm).  `stop` (optional; see run_tasks) ends the permutations
// early once raised, for a caller that then discards the result.
inline HsicResult hsic_test(const std::vector<double>& x, const std::vector<double>& y, int nperm, Rng& rng,
                            HsicScratch& scratch, const std::atomic<bool>* stop = nullptr) {
    const std::size_t n = x.size();
    if (y.size() != n) throw std::invalid_argument("x and y differ in length");
    if (n < 6) throw std::invalid_argument("the HSIC test needs at least 6 observations");
    const double nn = static_cast<double>(n);
    detail::Gram& K = scratch.K;
    detail::Gram& L = scratch.L;
    detail::gaussian_gram(x, K);
    detail::gaussian_gram(y, L);
    HsicResult out;
    if (nperm <= 0) {
        // tr(K H L H) = sum_ij Kc_ij Lc_ij, and the null variance's sum of
        // (Kc_ij Lc_ij)^2, in one pass over the upper triangles.
        const double kbar = K.total / (nn * nn), lbar = L.total / (nn * nn);
        // Centring terms: Kc_ij = K_ij - a_i - a_j with a_i = rK_i / n - kbar / 2.
        std::vector<double> ak(n), al(n);
        for (std::size_t i = 0; i < n; ++i) {
            ak[i] = K.rowsum[i] / nn - 0.5 * kbar;
            al[i] = L.rowsum[i] / nn - 0.5 * lbar;
        }
        double t = 0.0, v = 0.0;
        const float* kp = K.upper.data();
        const float* lp = L.upper.data();
        for (std::size_t i = 0; i < n; ++i) {
            t += (1.0 - 2.0 * ak[i]) * (1.0 - 2.0 * al[i]);
            const std::size_t m = n - i - 1;
            const double* akj = ak.data() + i + 1;
            const double* alj = al.data() + i + 1;
            const double aki = ak[i], ali = al[i];
            double t0 = 0.0, t1 = 0.0, v0 = 0.0, v1 = 0.0;
            std::size_t j = 0;
            for (; j + 2 <= m; j += 2) {
                const double p0 = (kp[j] - aki - akj[j]) * (lp[j] - ali - alj[j]);
                const double p1 = (kp[j + 1] - aki - akj[j + 1]) * (lp[j + 1] - ali - alj[j + 1]);
                t0 += p0;
                t1 += p1;
                v0 += p0 * p0;
                v1 += p1 * p1;
            }
            for (; j < m; ++j) {
                const double p0 = (kp[j] - aki - akj[j]) * (lp[j] - ali - alj[j]);
                t0 += p0;
                v0 += p0 * p0;
            }
            t += 2.0 * (t0 + t1);
            v += 2.0 * (v0 + v1);
            kp += m;
            lp += m;
        }
        out.statistic = t / nn;
        detail::null_moments(out, K.total, L.total, v, nn);
        if (!(out.var0 > 0.0) || !(out.mean0 > 0.0)) {
            out.p_value = 1.0;  // a constant sample: nothing to detect
        } else {
            const double shape = out.mean0 * out.mean0 / out.var0;
            const double scale = out.var0 / out.mean0;
            out.p_value = gamma_q(shape, out.statistic / scale);
        }
        return out;
    }
    // tr(K H L_pi H) = sum_ij K_ij L_pi(i)pi(j) - 2/n sum_i rK_i rL_pi(i) + sK sL / n^2
    auto trace = [&](const std::vector<std::size_t>* perm) {
        double s = nn;  // diagonal: K_ii L_ii = 1
        double r = 0.0;
        std::size_t idx = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t pi = perm ? (*perm)[i] : i;
            r += K.rowsum[i] * L.rowsum[pi];
            double acc = 0.0;
            if (perm) {
                for (std::size_t j = i + 1; j < n; ++j, ++idx) acc += K.upper[idx] * L.at(pi, (*perm)[j]);
            } else {
                for (std::size_t j = i + 1; j < n; ++j, ++idx) {
                    acc += static_cast<double>(K.upper[idx]) * static_cast<double>(L.upper[idx]);
                }
            }
            s += 2.0 * acc;
        }
        return s - 2.0 * r / nn + K.total * L.total / (nn * nn);
    };
    const double tobs = trace(nullptr);
    out.statistic = tobs / nn;
    std::vector<std::size_t> perm(n);
    IndexSampler sampler(rng, IndexDraw::Scaled);
    int exceed = 0;
    for (int b = 0; b < nperm; ++b) {
        if (stop && stop->load(std::memory_order_relaxed)) break;
        std::iota(perm.begin(), perm.end(), std::size_t{0});
        sampler.shuffle(perm.begin(), perm.end());
        // a relative tolerance so that ties in exact arithmetic count as ties
        if (trace(&perm) >= tobs - 1e-12 * std::fabs(tobs)) ++exceed;
    }
    out.p_value = (1.0 + exceed) / (1.0 + nperm);
    return out;
}

inline HsicResult hsic_test(const std::vector<double>& x, const std::vector<double>& y, int nperm, Rng& rng) {
    HsicScratch scratch;
    return hsic_test(x, y, nperm, rng, scratch);
}

namespace detail {

// tr(K H L H) = sum_ij K_ij L_ij - 2/n sum_i rK_i rL_i + sK sL / n^2 for
// Gram matrices of the same n.
inline double centred_trace(const Gram& K, const Gram& L) {
    const double nn = static_cast<double>(K.n);
    double s = 0.0, r = 0.0;
    for (std::size_t idx = 0; idx < K.upper.size(); ++idx) {
        s += static_cast<double>(K.upper[idx]) * static_cast<double>(L.upper[idx]);
    }
    for (std::size_t i = 0; i < K.n; ++i) r += K.rowsum[i] * L.rowsum[i];
    return nn + 2.0 * s - 2.0 * r / nn + K.total * L.total / (nn * nn);
}

}  // namespace detail

// The HSIC statistic tr(K H L H) / n of x and r against null draws: the
// columns of `draws` (n x ndraws, column-major), samples of r made under
// independence by the same procedure as r itself (say, residuals of a
// curve refitted to the fitted values plus permuted residuals), so that
// the null accounts for the fit.  Besag and Clifford's sequential p-value:
// the draws are used in order until `hits` of them reach the observed
// statistic, p = hits / draws used; if fewer do, (1 + hits) / (1 + ndraws).
inline HsicResult hsic_draws_test(const std::vector<double>& x, const std::vector<double>& r, const double* draws,
                                  int ndraws, int hits, HsicScratch& scratch) {
    const std::size_t n = x.size();
    if (r.size() != n) throw std::invalid_argument("x and r differ in length");
    if (n < 6) throw std::invalid_argument("the HSIC test needs at least 6 observations");
    if (ndraws < 1 || hits < 1) throw std::invalid_argument("the HSIC draws test needs draws and hits >= 1");
    const double nn = static_cast<double>(n);
    detail::gaussian_gram(x, scratch.K);
    detail::gaussian_gram(r, scratch.L);
    HsicResult out;
    const double tobs = detail::centred_trace(scratch.K, scratch.L);
    out.statistic = tobs / nn;
    std::vector<double> v(n);
    int exceed = 0;
    double sum = 0.0, sum2 = 0.0;
    int used = 0;
    for (int b = 0; b < ndraws; ++b) {
        std::copy(draws + static_cast<std::size_t>(b) * n, draws + static_cast<std::size_t>(b + 1) * n, v.begin());
        detail::gaussian_gram(v, scratch.L);
        const double t = detail::centred_trace(scratch.K, scratch.L);
        sum += t / nn;
        sum2 += (t / nn) * (t / nn);
        ++used;
        if (t >= tobs - 1e-12 * std::fabs(tobs)) ++exceed;
        if (exceed >= hits) break;
    }
    out.mean0 = sum / used;
    out.var0 = used > 1 ? (sum2 - sum * sum / used) / (used - 1) : NAN;
    out.p_value = exceed >= hits ? static_cast<double>(hits) / used : (1.0 + exceed) / (1.0 + ndraws);
    return out;
}

}  // namespace bulkcausal

#endif
