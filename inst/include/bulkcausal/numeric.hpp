// Small numeric routines of the core that are not specific to one model:
// Brent's one-dimensional minimiser (the smoothing parameter of
// pspline.hpp) and the type-7 quantile of sorted values (the bootstrap
// intervals of pairwise.hpp).  They sit in their own header so that a
// reader of the spline code finds the model there and the generic numerics
// here.
#ifndef BULKCAUSAL_NUMERIC_HPP
#define BULKCAUSAL_NUMERIC_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace bulkcausal {
namespace detail {

// Brent's minimisation of f on [a, b] (golden section with parabolic steps).
template <class F>
double brent_min(const F& f, double a, double b, double tol) {
    const double golden = 0.3819660112501051;
    double x = a + golden * (b - a), w = x, v = x;
    double fx = f(x), fw = fx, fv = fx;
    double d = 0.0, e = 0.0;
    for (int it = 0; it < 200; ++it) {
        const double m = 0.5 * (a + b);
        const double tol1 = tol * std::fabs(x) + 1e-10;
        const double tol2 = 2.0 * tol1;
        if (std::fabs(x - m) <= tol2 - 0.5 * (b - a)) break;
        bool parabolic = false;
        if (std::fabs(e) > tol1) {
            double r = (x - w) * (fx - fv);
            double q = (x - v) * (fx - fw);
            double p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if (q > 0.0) p = -p;
            q = std::fabs(q);
            const double etemp = e;
            e = d;
            if (std::fabs(p) < std::fabs(0.5 * q * etemp) && p > q * (a - x) && p < q * (b - x)) {
                d = p / q;
                const double u = x + d;
                if (u - a < tol2 || b - u < tol2) d = x < m ? tol1 : -tol1;
                parabolic = true;
            }
        }
        if (!parabolic) {
            e = (x < m ? b : a) - x;
            d = golden * e;
        }
        const double u = std::fabs(d) >= tol1 ? x + d : x + (d > 0 ? tol1 : -tol1);
        const double fu = f(u);
        if (fu <= fx) {
            if (u < x) b = x; else a = x;
            v = w; fv = fw;
            w = x; fw = fx;
            x = u; fx = fu;
        } else {
            if (u < x) a = u; else b = u;
            if (fu <= fw || w == x) {
                v = w; fv = fw;
                w = u; fw = fu;
            } else if (fu <= fv || v == x || v == w) {
                v = u; fv = fu;
            }
        }
    }
    return x;
}

// Quantile of sorted values, R's type 7.  curves.hpp's quantile7 (the
// range of curve_distance) computes the same quantile with R's own
// arithmetic, (1 - h) x_lo + h x_hi; the two can differ in the last bit
// (and a point on the edge of curve_distance's range could then move in or
// out), so they stay apart until a release may change seeded results.
inline double quantile7(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return NAN;
    const double h = (static_cast<double>(sorted.size()) - 1.0) * p;
    const auto lo = static_cast<std::size_t>(std::floor(h));
    const auto hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace detail
}  // namespace bulkcausal

#endif
