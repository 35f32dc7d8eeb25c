// Fitted spline curves evaluated at new values, and the distance between
// two curves that functional-form consistency measures.
#ifndef BULKCAUSAL_CURVES_HPP
#define BULKCAUSAL_CURVES_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include "bulkcausal/pairwise.hpp"

namespace bulkcausal {

// mean_y + sum_j coef_j B_j(x) for x within the range the basis was placed
// for ([b.lo, b.hi]); NaN outside it or for NaN x.
inline double curve_value(const PsBasis& b, const double* coef, double mean_y, double x) {
    if (!(x >= b.lo && x <= b.hi)) return NAN;
    double v[4];
    const int j0 = b.eval(x, v);
    double s = mean_y;
    for (int a = 0; a < 4; ++a) s += coef[j0 + a] * v[a];
    return s;
}

// Quantile of type 7 (R's default) of sorted values.
inline double quantile7(const std::vector<double>& sorted, double p) {
    const double index = static_cast<double>(sorted.size() - 1) * p;
    const auto lo = static_cast<std::size_t>(std::floor(index));
    const auto hi = static_cast<std::size_t>(std::ceil(index));
    const double h = index - static_cast<double>(lo);
    if (hi == lo || sorted[hi] == sorted[lo]) return sorted[lo];
    return (1.0 - h) * sorted[lo] + h * sorted[hi];
}

// The distance of curve values g to reference values h, both at the
// regulator values x, in units of the standard deviation of the target
// values y: the root mean square of the centred gap g - h over the
// observations whose x lies between the plo and phi quantiles of the x
// where h is finite (gaps that are not finite left out).  NaN when nothing
// is left or y has no spread.
inline double curve_distance(const double* g, const double* x, const double* y, const double* h, std::size_t n,
                             double plo, double phi) {
    std::vector<double> xs;
    xs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(h[i])) xs.push_back(x[i]);
    }
    if (xs.empty() || n < 2) return NAN;
    std::sort(xs.begin(), xs.end());
    const double qlo = quantile7(xs, plo), qhi = quantile7(xs, phi);
    double sum = 0.0, sum2 = 0.0;
    std::size_t m = 0;
    std::vector<double> d;
    d.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(h[i]) || !(x[i] >= qlo && x[i] <= qhi)) continue;
        const double v = g[i] - h[i];
        if (!std::isfinite(v)) continue;
        d.push_back(v);
        sum += v;
        ++m;
    }
    if (m == 0) return NAN;
    const double mean = sum / static_cast<double>(m);
    for (double v : d) sum2 += (v - mean) * (v - mean);
    double ybar = 0.0;
    for (std::size_t i = 0; i < n; ++i) ybar += y[i];
    ybar /= static_cast<double>(n);
    double yss = 0.0;
    for (std::size_t i = 0; i < n; ++i) yss += (y[i] - ybar) * (y[i] - ybar);
    const double sdy = std::sqrt(yss / static_cast<double>(n - 1));
    if (!(sdy > 0.0)) return NAN;
    return std::sqrt(sum2 / static_cast<double>(m)) / sdy;
}

// The F test of the gap r = y - h between a target and a reference curve
// (n values at regulator values x) against a constant, the alternative an
// unpenalised cubic B-spline of x with k coefficients (as many as x has
// distinct values when fewer): small when the curves are not parallel.
// Observations whose x or r is not finite are left out.  NaN when fewer
// than 4 distinct x values, no residual degrees of freedom, or an exact fit.
// With `rng` the p-value comes from the wild bootstrap of the F statistic
// under the constant (wild_f_pvalue() with opt's draws and stopping), which
// holds its size when the gap's noise is heteroscedastic or heavy-tailed;
// without it, from the F distribution.
inline double gap_ftest(const double* x, const double* r, std::size_t n, int k, Rng* rng = nullptr,
                        const PairOptions& opt = PairOptions()) {
    std::vector<int> rows;
    rows.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isfinite(x[i]) && std::isfinite(r[i])) rows.push_back(static_cast<int>(i));
    }
    const std::size_t distinct = count_distinct(x, rows);
    const int keff = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(k), distinct));
    if (keff < 4 || rows.size() <= static_cast<std::size_t>(keff)) return NAN;
    const std::unique_ptr<RegulatorFit> reg = prepare_regulator(x, rows, keff);
    double rbar = 0.0;
    for (int i : reg->rows) rbar += r[i];
    rbar /= static_cast<double>(reg->n());
    double tss = 0.0;
    for (int i : reg->rows) tss += (r[i] - rbar) * (r[i] - rbar);
    if (!(tss > 0.0)) return NAN;
    // V'B'B V = diag(1 - s): the unpenalised fit explains sum w_j^2 / (1 - s_j)
    const Eigen::VectorXd w = reg->V.transpose() * project(*reg, r, rbar);
    double rss = tss;
    for (int j = 0; j < keff; ++j) {
        if (1.0 - reg->s[j] > 1e-10) rss -= w[j] * w[j] / (1.0 - reg->s[j]);
    }
    const double df1 = reg->rank - 1;
    const double df2 = static_cast<double>(reg->n()) - reg->rank;
    if (!(df1 > 0.0) || !(df2 > 0.0) || !(rss > 1e-14 * tss)) return NAN;
    const double F = std::max(tss - rss, 0.0) / df1 / (rss / df2);
    if (rng == nullptr) return f_upper(F, df1, df2);
    std::vector<double> resid(reg->n());
    for (std::size_t i = 0; i < reg->n(); ++i) resid[i] = r[reg->rows[i]] - rbar;
    return wild_f_pvalue(*reg, resid, F, df1, df2, opt, *rng, false);
}

}  // namespace bulkcausal

#endif
