// A test that a target's expected value is affine in a regulator's rate,
// from the regulator's counts, without estimating the rates.
//
// The regulator's count c_i in observation i is Poisson, or negative
// binomial with size r = 1 / dispersion, with mean s_i lambda_i.  For any
// function h there is a function T_h of the count with
//     E[T_h(c) | lambda] = s lambda E[h(c) | lambda]        (Stein's identity)
// namely T_h(c) = c h(c - 1) for Poisson counts and, for negative binomial
// ones, the recursion T_h(0) = 0, T_h(c) = c / (c - 1 + r) (T_h(c - 1) +
// r h(c - 1)).  So when E[y | lambda] = a + b lambda and the target's noise
// is independent of the regulator's sampling noise given the rates,
//     E[(y - a) h(c) - b T_h(c) / s] = 0                    for every h,
// whatever the distribution of the rates.  With h_1..h_K a cubic B-spline
// basis of c / s these are K linear moment conditions in (a, b); the test
// asks whether they can all hold, by the minimum of the quadratic form
//     Q = n min_(a, b) g(a, b)' A g(a, b),    g = the sample means,
// A = diag(1 / var of each moment) (a fixed, diagonal weight: the
// efficient weight's estimation error makes the overidentification test
// reject too often at these sample sizes).  Its null distribution comes
// from a wild bootstrap of the recentred moment contributions, with the
// sequential stopping and tail of SequentialPValue (sequential.hpp), as
// in the wild F test of pairwise.hpp.  The bootstrap weights
// are Mammen's two-point weights (mean 0, variance 1, third moment 1): the
// contributions are skewed (counts), and with a few hundred observations
// symmetric (Rademacher) weights make the test reject too often.
#ifndef BULKCAUSAL_RATETEST_HPP
#define BULKCAUSAL_RATETEST_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include <Eigen/Dense>

#include "bulkcausal/parallel.hpp"
#include "bulkcausal/pairwise.hpp"
#include "bulkcausal/rng.hpp"
#include "bulkcausal/sequential.hpp"

namespace bulkcausal {

struct RateTestOptions {
    int k = 6;                    // moment functions (cubic B-splines of count / size)
    double upper = 0.99;          // their range: 0 to this quantile of count / size
    double dispersion = 0.0;      // of the counts given the rates: 0 is Poisson
    std::uint64_t seed = 1;
    int draws = 399;              // bootstrap draws at most
    int hits = 5;                 // stop once this many draws reach Q
    int tail_check = 49;          // ... or after this many draws without a hit
    double tail_p = 1e-3;         // when the matched chi-square tail is below this
    bool tabulate = true;         // false: add the n signed contributions per draw (the reference the table must match)
};

// One regulator's moment functions: row i holds h_1..h_K at c_i / s_i (H)
// and T_h(c_i) / s_i (W), both n x K row-major.
// Row i of H is non-zero in columns hlo[i] .. hlo[i] + 3 only, row i of W in
// wlo[i] .. whi[i] - 1 (four columns for Poisson counts); Hb and Wb are the
// column means, HH, HW and WW the means of h_j^2, h_j w_j and w_j^2.
struct RateMoments {
    std::size_t n = 0;
    int k = 0;
    bool ok = false;  // false: the counts have no spread to place the basis on
    std::vector<double> H, W;
    std::vector<int> hlo, wlo, whi;
    std::vector<double> Hb, Wb, HH, HW, WW;
};

// h_1..h_K (dense, k values) at count / size clamped to the basis range.
// Returns the first of the four columns that can be non-zero.
inline int rate_basis_at(const PsBasis& b, double v, double* out) {
    std::fill(out, out + b.k, 0.0);
    double val[4];
    const int j0 = b.eval(std::min(std::max(v, b.lo), b.hi), val);
    for (int a = 0; a < 4; ++a) out[j0 + a] = val[a];
    return j0;
}

inline RateMoments rate_moments(const double* counts, const double* size, std::size_t n,
                                const RateTestOptions& opt) {
    if (opt.k < 4) throw std::invalid_argument("the rate test needs k >= 4");
    RateMoments m;
    m.n = n;
    m.k = opt.k;
    if (n < 2) return m;
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = counts[i] / size[i];
    std::vector<double> sorted(v);
    const auto at = static_cast<std::size_t>(std::floor(opt.upper * static_cast<double>(n - 1)));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(at), sorted.end());
    double hi = sorted[at];
    if (!(hi > 0.0)) hi = *std::max_element(v.begin(), v.end());
    if (!(hi > 0.0)) return m;
    const PsBasis b = PsBasis::for_range(0.0, hi, opt.k);
    const auto K = static_cast<std::size_t>(opt.k);
    m.H.assign(n * K, 0.0);
    m.W.assign(n * K, 0.0);
    std::vector<double> h(K), t(K);
    const bool poisson = !(opt.dispersion > 0.0);
    const double r = poisson ? 0.0 : 1.0 / opt.dispersion;
    m.hlo.assign(n, 0);
    m.wlo.assign(n, 0);
    m.whi.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        m.hlo[i] = rate_basis_at(b, v[i], &m.H[i * K]);
        const double c = counts[i];
        if (c < 1.0) continue;  // T_h(0) = 0
        double* w = &m.W[i * K];
        if (poisson) {
            const int j0 = rate_basis_at(b, (c - 1.0) / size[i], h.data());
            for (int j = j0; j < j0 + 4; ++j) w[j] = c * h[static_cast<std::size_t>(j)] / size[i];
            m.wlo[i] = j0;
            m.whi[i] = j0 + 4;
            continue;
        }
        std::fill(t.begin(), t.end(), 0.0);
        const auto ci = static_cast<long>(c);
        int top = 0;
        for (long j = 1; j <= ci; ++j) {
            top = rate_basis_at(b, static_cast<double>(j - 1) / size[i], h.data()) + 4;
            const double f = static_cast<double>(j) / (static_cast<double>(j - 1) + r);
            for (std::size_t a = 0; a < K; ++a) t[a] = f * (t[a] + r * h[a]);
        }
        for (std::size_t j = 0; j < K; ++j) w[j] = t[j] / size[i];
        m.whi[i] = top;  // the basis position grows with the count
    }
    for (auto* v : {&m.Hb, &m.Wb, &m.HH, &m.HW, &m.WW}) v->assign(K, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < K; ++j) {
            const double hv = m.H[i * K + j], wv = m.W[i * K + j];
            m.Hb[j] += hv;
            m.Wb[j] += wv;
            m.HH[j] += hv * hv;
            m.HW[j] += hv * wv;
            m.WW[j] += wv * wv;
        }
    }
    for (auto* v : {&m.Hb, &m.Wb, &m.HH, &m.HW, &m.WW}) {
        for (double& x : *v) x /= static_cast<double>(n);
    }
    m.ok = true;
    return m;
}

struct RateTestResult {
    double statistic = NAN;  // Q
    double p = NAN;
    double slope = NAN;      // b of the weighted fit
    int draws = 0;
};

// Mammen's two-point bootstrap weights: a word of random bits, each 1 with
// probability p (the first 12 binary digits of (sqrt 5 + 1) / (2 sqrt 5),
// built from 12 words of fair bits, least significant digit first); a set
// bit is the weight `low`, a clear one `high`, chosen for that p so that
// the weights have mean 0 and variance 1 exactly (third moment about 1).
struct MammenWeights {
    static constexpr unsigned digits = 12;
    unsigned num = 0;  // p = num / 2^digits
    double low = 0.0, high = 0.0;
    MammenWeights() {
        const double p = (std::sqrt(5.0) + 1.0) / (2.0 * std::sqrt(5.0));
        num = static_cast<unsigned>(std::floor(p * static_cast<double>(1u << digits)));
        const double pt = static_cast<double>(num) / static_cast<double>(1u << digits);
        low = -std::sqrt((1.0 - pt) / pt);
        high = std::sqrt(pt / (1.0 - pt));
    }
    std::uint64_t word(Rng& rng) const {
        std::uint64_t x = 0;
        for (unsigned d = 0; d < digits; ++d) {  // digit `digits - d` of p, the last first
            const std::uint64_t r = rng.next();
            x = ((num >> d) & 1u) ? (r | x) : (r & x);
        }
        return x;
    }
};

// Work space of rate_test(), reused across the pairs of one thread.
struct RateScratch {
    std::vector<double> z;
    std::vector<std::uint64_t> bits;
};

// The test for target values y (indexed like the regulator's counts).
inline RateTestResult rate_test(const RateMoments& m, const double* y, const RateTestOptions& opt, Rng& rng,
                                RateScratch& scratch) {
    RateTestResult out;
    if (!m.ok) return out;
    const std::size_t n = m.n;
    const int K = m.k;
    const auto Ku = static_cast<std::size_t>(K);
    const double nn = static_cast<double>(n);
    // One pass over the target: the means of y h_j (for g(a, b) = Yb - a Hb
    // - b Wb) and of y^2 h_j^2, y h_j^2 and y h_j w_j (for the variances of
    // the contributions g_ij = (y_i - a) h_ij - b w_ij).
    Eigen::VectorXd Yb = Eigen::VectorXd::Zero(K), Yyhh = Eigen::VectorXd::Zero(K), Yhh = Eigen::VectorXd::Zero(K),
                    Yhw = Eigen::VectorXd::Zero(K);
    for (std::size_t i = 0; i < n; ++i) {
        const double* hi = &m.H[i * Ku];
        const double* wi = &m.W[i * Ku];
        const double yi = y[i];
        for (int j = m.hlo[i]; j < m.hlo[i] + 4; ++j) {
            const double yh = yi * hi[j];
            Yb[j] += yh;
            Yyhh[j] += yh * yh;
            Yhh[j] += yh * hi[j];
            Yhw[j] += yh * wi[j];
        }
    }
    Yb /= nn;
    Yyhh /= nn;
    Yhh /= nn;
    Yhw /= nn;
    Eigen::MatrixXd X(K, 2);
    for (int j = 0; j < K; ++j) {
        X(j, 0) = m.Hb[static_cast<std::size_t>(j)];
        X(j, 1) = m.Wb[static_cast<std::size_t>(j)];
    }
    auto solve_ab = [&](const Eigen::VectorXd& a) -> Eigen::Vector2d {
        const Eigen::MatrixXd XA = X.transpose() * a.asDiagonal();
        const Eigen::Matrix2d M = XA * X;
        return M.ldlt().solve(XA * Yb);
    };
    // Variances of the moment contributions at a first (unweighted) fit:
    // mean of ((y - a) h_j - b w_j)^2, expanded.
    const Eigen::Vector2d th1 = solve_ab(Eigen::VectorXd::Ones(K));
    if (!th1.allFinite()) return out;
    Eigen::VectorXd s2(K);
    for (int j = 0; j < K; ++j) {
        const auto ju = static_cast<std::size_t>(j);
        const double a1 = th1[0], b1 = th1[1];
        const double v = Yyhh[j] - 2.0 * a1 * Yhh[j] + a1 * a1 * m.HH[ju] - 2.0 * b1 * (Yhw[j] - a1 * m.HW[ju]) +
                         b1 * b1 * m.WW[ju];
        s2[j] = std::max(v, 0.0);
    }
    const double smax = s2.maxCoeff();
    if (!(smax > 0.0)) return out;
    Eigen::VectorXd a(K);
    int used = 0;
    for (int j = 0; j < K; ++j) {
        a[j] = s2[j] > 1e-10 * smax ? 1.0 / s2[j] : 0.0;
        used += a[j] > 0.0;
    }
    if (used < 3) return out;
    const Eigen::Vector2d th = solve_ab(a);
    if (!th.allFinite()) return out;
    out.slope = th[1];
    // Q = n |L' g|^2 with L = A^(1/2) N, N an orthonormal basis of the
    // complement of A^(1/2) X among the used moments.
    const Eigen::VectorXd ra = a.cwiseSqrt();
    const Eigen::MatrixXd AX = ra.asDiagonal() * X;
    Eigen::MatrixXd proj = Eigen::MatrixXd::Zero(K, K);
    for (int j = 0; j < K; ++j) proj(j, j) = a[j] > 0.0 ? 1.0 : 0.0;
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(AX);
    const Eigen::MatrixXd Q2 = qr.householderQ() * Eigen::MatrixXd::Identity(K, 2);
    proj -= Q2 * Q2.transpose();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(proj);
    std::vector<int> keep;
    for (int j = 0; j < K; ++j) {
        if (es.eigenvalues()[j] > 0.5) keep.push_back(j);
    }
    const int df = static_cast<int>(keep.size());
    if (df < 1) return out;
    Eigen::MatrixXd L(K, df);
    for (int j = 0; j < df; ++j) L.col(j) = ra.asDiagonal() * es.eigenvectors().col(keep[static_cast<std::size_t>(j)]);
    const Eigen::VectorXd g = Yb - X * th;
    const double Q0 = nn * (L.transpose() * g).squaredNorm();
    out.statistic = Q0;
    // Recentred contributions projected on L: z_i = L' (g_i - g), n x df,
    // with g_i = (y_i - a) h_i - b w_i non-zero only in the columns of h_i
    // and w_i.  A draw is Q* = |sum_i e_i z_i|^2 / n with e_i Mammen's
    // weight from bit i of the draw's random words (set: mw.low, clear:
    // mw.high).
    const MammenWeights mw;
    const double wl = mw.low, wh = mw.high;
    const auto D = static_cast<std::size_t>(df);
    std::vector<double> Lrow(Ku * D), Lg(D, 0.0);  // L row-major, L' g
    for (int j = 0; j < K; ++j) {
        for (int d = 0; d < df; ++d) {
            Lrow[static_cast<std::size_t>(j) * D + static_cast<std::size_t>(d)] = L(j, d);
            Lg[static_cast<std::size_t>(d)] += L(j, d) * g[j];
        }
    }
    const double bb = th[1];
    // z_i into out (D values; accumulated locally: writing through a
    // pointer in the inner loops would make the compiler assume aliasing)
    std::vector<double> acc(D);
    auto contribution = [&](std::size_t i, double* zi) {
        const double* hi = &m.H[i * Ku];
        const double* wi = &m.W[i * Ku];
        const double ya = y[i] - th[0];
        for (std::size_t d = 0; d < D; ++d) acc[d] = -Lg[d];
        for (int j = m.hlo[i]; j < m.hlo[i] + 4; ++j) {
            const double* lj = &Lrow[static_cast<std::size_t>(j) * D];
            const double v = ya * hi[j];
            for (std::size_t d = 0; d < D; ++d) acc[d] += v * lj[d];
        }
        for (int j = m.wlo[i]; j < m.whi[i]; ++j) {
            const double* lj = &Lrow[static_cast<std::size_t>(j) * D];
            const double v = bb * wi[j];
            for (std::size_t d = 0; d < D; ++d) acc[d] -= v * lj[d];
        }
        std::copy(acc.begin(), acc.end(), zi);
    };
    auto contribution4 = [&](std::size_t i, double* zi) {  // the same for D = 4, unrolled
        const double* hi = &m.H[i * Ku];
        const double* wi = &m.W[i * Ku];
        const double ya = y[i] - th[0];
        double c0 = -Lg[0], c1 = -Lg[1], c2 = -Lg[2], c3 = -Lg[3];
        for (int j = m.hlo[i]; j < m.hlo[i] + 4; ++j) {
            const double* lj = &Lrow[static_cast<std::size_t>(j) * 4];
            const double v = ya * hi[j];
            c0 += v * lj[0];
            c1 += v * lj[1];
            c2 += v * lj[2];
            c3 += v * lj[3];
        }
        for (int j = m.wlo[i]; j < m.whi[i]; ++j) {
            const double* lj = &Lrow[static_cast<std::size_t>(j) * 4];
            const double v = bb * wi[j];
            c0 -= v * lj[0];
            c1 -= v * lj[1];
            c2 -= v * lj[2];
            c3 -= v * lj[3];
        }
        zi[0] = c0;
        zi[1] = c1;
        zi[2] = c2;
        zi[3] = c3;
    };
    // For D = 4 (six moments, two parameters: the default) the signed sums
    // of each block of four observations are tabulated for the 16 weight
    // patterns, so that a draw adds n / 4 table rows; otherwise a draw adds
    // the n weighted z_i.
    const bool tabulate = opt.tabulate && D == 4;
    const std::size_t nblocks = (n + 3) / 4;
    std::vector<double>& z = scratch.z;
    if (tabulate) {
        z.resize(nblocks * 64);
        double zq[16];
        for (std::size_t blk = 0; blk < nblocks; ++blk) {
            std::fill(zq, zq + 16, 0.0);  // the padding of the last block adds 0
            for (std::size_t q = 0; q < 4 && 4 * blk + q < n; ++q) contribution4(4 * blk + q, zq + 4 * q);
            // row v = lo[v & 3] + hi[v >> 2], the weighted sums of observations 0-1 and 2-3
            double lo[16], hi[16];
            for (std::size_t d = 0; d < 4; ++d) {
                lo[d] = wh * zq[d] + wh * zq[4 + d];
                lo[4 + d] = wl * zq[d] + wh * zq[4 + d];
                lo[8 + d] = wh * zq[d] + wl * zq[4 + d];
                lo[12 + d] = wl * zq[d] + wl * zq[4 + d];
                hi[d] = wh * zq[8 + d] + wh * zq[12 + d];
                hi[4 + d] = wl * zq[8 + d] + wh * zq[12 + d];
                hi[8 + d] = wh * zq[8 + d] + wl * zq[12 + d];
                hi[12 + d] = wl * zq[8 + d] + wl * zq[12 + d];
            }
            double* t = &z[blk * 64];
            for (std::size_t v = 0; v < 16; ++v) {
                for (std::size_t d = 0; d < 4; ++d) t[v * 4 + d] = lo[(v & 3u) * 4 + d] + hi[(v >> 2) * 4 + d];
            }
        }
    } else {
        z.resize(n * D);
        for (std::size_t i = 0; i < n; ++i) contribution(i, &z[i * D]);
    }
    std::vector<std::uint64_t>& bits = scratch.bits;
    bits.assign((n + 63) / 64, 0u);
    std::vector<double> u(D);
    SequentialPValue seq(Q0, opt.draws, opt.hits, opt.tail_check, opt.tail_p);
    while (seq.more()) {
        for (auto& w : bits) w = mw.word(rng);
        double q = 0.0;
        if (tabulate) {
            double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
            for (std::size_t blk = 0; blk < nblocks; ++blk) {
                const auto v = static_cast<std::size_t>((bits[blk >> 4] >> ((blk & 15u) * 4u)) & 15u);
                const double* t = &z[blk * 64 + v * 4];
                a0 += t[0];
                a1 += t[1];
                a2 += t[2];
                a3 += t[3];
            }
            q = a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3;
        } else {
            std::fill(u.begin(), u.end(), 0.0);
            for (std::size_t i = 0; i < n; ++i) {
                const double e = ((bits[i >> 6] >> (i & 63u)) & 1u) ? wl : wh;
                const double* zi = &z[i * D];
                for (std::size_t j = 0; j < D; ++j) u[j] += e * zi[j];
            }
            for (double x : u) q += x * x;
        }
        q /= nn;
        if (!seq.add(q)) break;
    }
    out.draws = seq.draws();
    out.p = seq.p_value();
    return out;
}

inline RateTestResult rate_test(const RateMoments& m, const double* y, const RateTestOptions& opt, Rng& rng) {
    RateScratch scratch;
    return rate_test(m, y, opt, rng, scratch);
}

// The test for many pairs of columns of an n x ngenes counts matrix (column
// major): regulators' counts from `counts`, targets' values from `y` (same
// layout; typically counts / size), size factors per observation
// (size_stride 0) or per observation and gene (size_stride n, laid out like
// the counts).  Pairs are grouped by regulator, whose
// moment functions are computed once.  Each pair draws from its own stream
// (seed, gene ids), so results do not depend on the number of threads.
struct RatePairs {
    std::vector<RateTestResult> res;
};

inline RatePairs rate_test_pairs(const double* counts, const double* y, const double* size, std::size_t size_stride,
                                 std::size_t n,
                                 std::size_t ngenes, const int* gene_id, const std::vector<int>& regulator,
                                 const std::vector<int>& target, const RateTestOptions& opt, int nthreads = 1,
                                 const PollFn& poll = PollFn()) {
    const std::size_t npairs = regulator.size();
    const RegulatorGroups groups = group_by_regulator(regulator, target, ngenes);
    const std::vector<int>& reg_gene = groups.gene;
    const std::vector<std::vector<std::size_t>>& reg_pairs = groups.pairs;
    RatePairs out;
    out.res.resize(npairs);
    std::vector<RateScratch> scratch(static_cast<std::size_t>(std::max(nthreads, 1)));
    run_tasks(reg_gene.size(), nthreads, [&](std::size_t r, int thread) {
        const int g = reg_gene[r];
        const RateMoments m =
            rate_moments(counts + static_cast<std::size_t>(g) * n, size + static_cast<std::size_t>(g) * size_stride, n, opt);
        for (std::size_t pi : reg_pairs[r]) {
            const int t = target[pi];
            if (t == g) continue;
            const int gid = gene_id ? gene_id[g] : g;
            const int tid = gene_id ? gene_id[t] : t;
            Rng pair_rng(opt.seed, static_cast<std::uint64_t>(gid), static_cast<std::uint64_t>(tid));
            Rng rng(pair_rng.next(), 0x5e1au, 0);
            out.res[pi] = rate_test(m, y + static_cast<std::size_t>(t) * n, opt, rng,
                                    scratch[static_cast<std::size_t>(thread)]);
        }
    }, poll);
    return out;
}

}  // namespace bulkcausal

#endif
