// Small statistics helpers for the Catch2 suite.
#ifndef BULKCAUSAL_TEST_HELPERS_HPP
#define BULKCAUSAL_TEST_HELPERS_HPP

#include <cmath>
#include <cstddef>
#include <vector>

struct Moments {
    double mean = 0.0;
    double var = 0.0;
    double m4 = 0.0;  // fourth central moment
    std::size_t n = 0;
    // Standard error of the mean and of the variance estimate.
    double se_mean() const { return std::sqrt(var / static_cast<double>(n)); }
    double se_var() const { return std::sqrt((m4 - var * var) / static_cast<double>(n)); }
};

inline Moments moments(const std::vector<double>& x) {
    Moments m;
    m.n = x.size();
    for (double v : x) m.mean += v;
    m.mean /= static_cast<double>(m.n);
    for (double v : x) {
        const double d = v - m.mean;
        m.var += d * d;
        m.m4 += d * d * d * d;
    }
    m.var /= static_cast<double>(m.n - 1);
    m.m4 /= static_cast<double>(m.n);
    return m;
}

#endif
