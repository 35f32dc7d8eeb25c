// Seedable random numbers for the bulkcausal core.
//
// Every random quantity in the package comes from an explicit Rng built from
// (seed, stream, substream).  Work is split into units (a bulk sample, a chunk
// of cells) that each own a stream, so results do not depend on how many
// threads run the units or in which order.  Random indices (samples,
// permutations, resamples) are drawn through IndexSampler (sampling.hpp).
#ifndef BULKCAUSAL_RNG_HPP
#define BULKCAUSAL_RNG_HPP

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace bulkcausal {

inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

namespace detail {

__extension__ typedef unsigned __int128 uint128;

// Ziggurat tables for the standard normal (256 layers of equal area
// V = 0.00492867323399, base layer ending at R = 3.6541528853610088).
struct ZigguratTables {
    static constexpr int layers = 256;
    static constexpr double R = 3.6541528853610088;
    static constexpr double V = 0.00492867323399;
    std::array<double, layers + 1> x{};
    std::array<double, layers + 1> f{};
    ZigguratTables() {
        const double fr = std::exp(-0.5 * R * R);
        x[0] = V / fr;  // width of the base strip, rectangle plus tail
        x[1] = R;
        for (int i = 1; i < layers - 1; ++i) {
            x[i + 1] = std::sqrt(-2.0 * std::log(V / x[i] + std::exp(-0.5 * x[i] * x[i])));
        }
        x[layers] = 0.0;
        for (int i = 0; i <= layers; ++i) f[i] = std::exp(-0.5 * x[i] * x[i]);
    }
};

inline const ZigguratTables& ziggurat() {
    static const ZigguratTables tables;
    return tables;
}

}  // namespace detail

// xoshiro256++ (Blackman and Vigna), seeded through splitmix64 from the triple
// (seed, stream, substream) so that distinct triples give unrelated streams.
class Rng {
public:
    explicit Rng(std::uint64_t seed, std::uint64_t stream = 0, std::uint64_t substream = 0) {
        std::uint64_t sm = seed;
        std::uint64_t key = splitmix64(sm);
        sm = key ^ (stream * 0xD1B54A32D192ED03ULL);
        key = splitmix64(sm);
        sm = key ^ (substream * 0xAEF17502108EF2D9ULL);
        for (auto& w : s_) w = splitmix64(sm);
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform on [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // Uniform on (0, 1]: safe to take the logarithm of.
    double uniform_pos() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }
    // Uniform integer in [0, n), by Lemire's multiply-shift with rejection.
    std::uint64_t below(std::uint64_t n) {
        if (n <= 1) return 0;
        const std::uint64_t threshold = (0 - n) % n;
        for (;;) {
            const std::uint64_t r = next();
            const detail::uint128 m = static_cast<detail::uint128>(r) * n;
            if (static_cast<std::uint64_t>(m) >= threshold) return static_cast<std::uint64_t>(m >> 64);
        }
    }

    double normal() {
        const auto& z = detail::ziggurat();
        for (;;) {
            const std::uint64_t u = next();
            const int i = static_cast<int>(u & 0xFF);
            const bool negative = (u >> 8) & 1U;
            const double x = static_cast<double>(u >> 11) * 0x1.0p-53 * z.x[i];
            if (x < z.x[i + 1]) return negative ? -x : x;
            if (i == 0) {
                // Tail beyond R (Marsaglia 1964).
                double a, b;
                do {
                    a = -std::log(uniform_pos()) / detail::ZigguratTables::R;
                    b = -std::log(uniform_pos());
                } while (b + b < a * a);
                const double t = detail::ZigguratTables::R + a;
                return negative ? -t : t;
            }
            // Wedge between the rectangle and the curve.
            const double y = z.f[i] + uniform() * (z.f[i + 1] - z.f[i]);
            if (y < std::exp(-0.5 * x * x)) return negative ? -x : x;
        }
    }

    double exponential() { return -std::log(uniform_pos()); }

    // Gamma(shape, scale 1) by Marsaglia and Tsang (2000); shape < 1 through
    // the boost Gamma(shape + 1) * U^(1 / shape).
    double gamma(double shape) {
        if (shape < 1.0) {
            const double g = gamma(shape + 1.0);
            return g * std::pow(uniform_pos(), 1.0 / shape);
        }
        const double d = shape - 1.0 / 3.0;
        const double c = 1.0 / std::sqrt(9.0 * d);
        for (;;) {
            double x, v;
            do {
                x = normal();
                v = 1.0 + c * x;
            } while (v <= 0.0);
            v = v * v * v;
            const double u = uniform_pos();
            const double x2 = x * x;
            if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
            if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
        }
    }

    // Poisson(mean): inversion for small means, Hoermann's (1993) transformed
    // rejection with squeeze (PTRS) for mean >= 10.
    double poisson(double mean) {
        if (!(mean > 0.0)) return 0.0;
        if (mean < 10.0) {
            const double limit = std::exp(-mean);
            double prod = uniform_pos();
            double k = 0.0;
            while (prod > limit) {
                prod *= uniform_pos();
                k += 1.0;
            }
            return k;
        }
        const double slam = std::sqrt(mean);
        const double loglam = std::log(mean);
        const double b = 0.931 + 2.53 * slam;
        const double a = -0.059 + 0.02483 * b;
        const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
        const double vr = 0.9277 - 3.6224 / (b - 2.0);
        for (;;) {
            const double u = uniform() - 0.5;
            const double v = uniform_pos();
            const double us = 0.5 - std::fabs(u);
            const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
            if (us >= 0.07 && v <= vr) return k;
            if (k < 0.0 || (us < 0.013 && v > us)) continue;
            if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <=
                -mean + k * loglam - std::lgamma(k + 1.0)) {
                return k;
            }
        }
    }

    // Negative binomial with the given mean and size (dispersion): the
    // Poisson-Gamma mixture, variance mean + mean^2 / size.
    double negbin(double mean, double size) {
        if (!(mean > 0.0)) return 0.0;
        return poisson(gamma(size) * mean / size);
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::array<std::uint64_t, 4> s_{};
};

}  // namespace bulkcausal

#endif
