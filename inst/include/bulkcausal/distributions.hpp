// Distribution functions the tests of the package need (F, gamma), written
// from their textbook definitions so the core needs no R.
#ifndef BULKCAUSAL_DISTRIBUTIONS_HPP
#define BULKCAUSAL_DISTRIBUTIONS_HPP

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace bulkcausal {

namespace detail {

// Continued fraction of the incomplete beta function (modified Lentz), valid
// for x < (a + 1) / (a + b + 2).
inline double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    const double eps = 1e-15;
    double c = 1.0;
    double d = 1.0 - (a + b) * x / (a + 1.0);
    if (std::fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 10000; ++m) {
        const double m2 = 2.0 * m;
        double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + num * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + num / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + num * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1.0 + num / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1.0) < eps) break;
    }
    return h;
}

}  // namespace detail

// The regularised incomplete beta function I_x(a, b), a, b > 0.
inline double beta_inc(double a, double b, double x) {
    if (!(a > 0.0) || !(b > 0.0)) throw std::invalid_argument("beta_inc needs a > 0 and b > 0");
    if (std::isnan(x)) return x;
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    const double lfront = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(lfront) * detail::beta_cf(a, b, x) / a;
    return 1.0 - std::exp(lfront) * detail::beta_cf(b, a, 1.0 - x) / b;
}

// P(F > f) for F with (d1, d2) degrees of freedom.
inline double f_upper(double f, double d1, double d2) {
    if (std::isnan(f)) return f;
    if (f <= 0.0) return 1.0;
    if (std::isinf(f)) return 0.0;
    return beta_inc(0.5 * d2, 0.5 * d1, d2 / (d2 + d1 * f));
}

// The regularised upper incomplete gamma function Q(a, x) = P(G > x) for G
// ~ Gamma(shape a, scale 1): a series for P below x = a + 1, a continued
// fraction (modified Lentz) for Q above, so small tails keep their digits.
inline double gamma_q(double a, double x) {
    if (!(a > 0.0)) throw std::invalid_argument("gamma_q needs a > 0");
    if (std::isnan(x)) return x;
    if (x <= 0.0) return 1.0;
    if (std::isinf(x)) return 0.0;
    const double lfront = a * std::log(x) - x - std::lgamma(a);
    if (x < a + 1.0) {
        double term = 1.0 / a, sum = term;
        for (int n = 1; n < 100000; ++n) {
            term *= x / (a + n);
            sum += term;
            if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
        }
        return std::max(0.0, 1.0 - std::exp(lfront) * sum);
    }
    const double tiny = 1e-300;
    double b = x + 1.0 - a;
    double c = 1.0 / tiny;
    double d = 1.0 / b;
    double h = d;
    for (int i = 1; i < 100000; ++i) {
        const double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (std::fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1.0) < 1e-16) break;
    }
    return std::exp(lfront) * h;
}

}  // namespace bulkcausal

#endif
