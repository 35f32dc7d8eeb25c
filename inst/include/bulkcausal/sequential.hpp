// Sequential Monte Carlo p-values (Besag and Clifford 1991) with the tail
// of a matched scaled chi-square, shared by the bootstrap tests of the core:
// the wild bootstrap F test that a curve is affine (pairwise.hpp) and the
// rate test (ratetest.hpp).  One copy of the stopping rule and the p-value,
// so that the two tests cannot drift apart.
#ifndef BULKCAUSAL_SEQUENTIAL_HPP
#define BULKCAUSAL_SEQUENTIAL_HPP

#include <algorithm>

#include "bulkcausal/distributions.hpp"

namespace bulkcausal {

// The upper tail at F0 of a scaled chi-square a * chi2(nu) matched to the
// mean and variance of `draws` statistics (their sum and sum of squares);
// 1 when they do not vary.
inline double matched_tail(double sum, double sum2, int draws, double F0) {
    if (draws < 2) return 1.0;
    const double m = sum / draws;
    const double v = (sum2 - draws * m * m) / (draws - 1.0);
    if (!(m > 0.0) || !(v > 0.0)) return 1.0;
    const double scale = v / (2.0 * m), nu = 2.0 * m * m / v;
    return gamma_q(0.5 * nu, 0.5 * F0 / scale);
}

// The draws of a sequential test of an observed statistic t0 whose large
// values are evidence against the null.  Drawing stops once `max_hits`
// draws reach t0, giving hits / draws; otherwise, after `max_draws` draws,
// the p-value is (hits + 1) / (draws + 1), except that with no hit at all
// the matched chi-square tail is used when it is smaller, so that very small
// p-values stay ordered for multiple testing.  When that tail is below
// `tail_p` after `tail_check` draws without a hit, drawing stops there
// (strong departures cost tail_check draws, not max_draws).
class SequentialPValue {
public:
    SequentialPValue(double t0, int max_draws, int max_hits, int tail_check, double tail_p)
        : t0_(t0), max_draws_(max_draws), max_hits_(max_hits), tail_check_(tail_check), tail_p_(tail_p) {}

    // Whether to draw again.
    bool more() const { return draws_ < max_draws_ && hits_ < max_hits_; }

    // A draw that gave no statistic (a degenerate resample): it counts as a
    // draw, adds nothing to the moments and never stops the test.
    void skip() { ++draws_; }

    // Records one draw's statistic t; false when the test is far enough in
    // the tail to stop (no draw has reached t0 after tail_check draws and
    // the matched tail is below tail_p: more draws would only confirm a
    // p-value far below any level).
    bool add(double t) {
        ++draws_;
        sum_ += t;
        sum2_ += t * t;
        if (t >= t0_) ++hits_;
        return !(hits_ == 0 && draws_ == tail_check_ && matched_tail(sum_, sum2_, draws_, t0_) < tail_p_);
    }

    int draws() const { return draws_; }

    double p_value() const {
        if (hits_ >= max_hits_) return static_cast<double>(hits_) / draws_;
        double p = (hits_ + 1.0) / (draws_ + 1.0);
        if (hits_ == 0) p = std::min(p, matched_tail(sum_, sum2_, draws_, t0_));
        return p;
    }

private:
    double t0_;
    int max_draws_, max_hits_, tail_check_;
    double tail_p_;
    int hits_ = 0, draws_ = 0;
    double sum_ = 0.0, sum2_ = 0.0;
};

}  // namespace bulkcausal

#endif
