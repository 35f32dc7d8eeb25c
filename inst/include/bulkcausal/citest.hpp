// Conditional-independence machinery: d-separation in a DAG (the truth a
// CI test is scored against) and the Fisher z test of a partial
// correlation.
#ifndef BULKCAUSAL_CITEST_HPP
#define BULKCAUSAL_CITEST_HPP

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace bulkcausal {

// A DAG as parent lists: parents[v] are the nodes with an edge into v.
using ParentLists = std::vector<std::vector<int>>;

inline ParentLists parent_lists(int p, const std::vector<int>& from, const std::vector<int>& to) {
    if (from.size() != to.size()) throw std::invalid_argument("edge lists differ in length");
    ParentLists par(static_cast<std::size_t>(p));
    for (std::size_t e = 0; e < from.size(); ++e) {
        if (from[e] < 0 || from[e] >= p || to[e] < 0 || to[e] >= p) throw std::out_of_range("edge names a node outside the graph");
        par[static_cast<std::size_t>(to[e])].push_back(from[e]);
    }
    return par;
}

// Is x d-separated from y given z?  By the moral graph of the smallest
// ancestral set holding x, y and z (Lauritzen): x and y are d-separated
// exactly when z separates them there.
inline bool d_separated(const ParentLists& par, int x, int y, const std::vector<int>& z) {
    const std::size_t p = par.size();
    std::vector<char> anc(p, 0), inz(p, 0);
    std::vector<int> stack{x, y};
    for (int v : z) {
        inz[static_cast<std::size_t>(v)] = 1;
        stack.push_back(v);
    }
    while (!stack.empty()) {
        const int v = stack.back();
        stack.pop_back();
        if (anc[static_cast<std::size_t>(v)]) continue;
        anc[static_cast<std::size_t>(v)] = 1;
        for (int u : par[static_cast<std::size_t>(v)]) stack.push_back(u);
    }
    if (inz[static_cast<std::size_t>(x)] || inz[static_cast<std::size_t>(y)]) {
        throw std::invalid_argument("the conditioning set contains x or y");
    }
    // Moral graph on the ancestral set: child-parent edges and parent-parent
    // (married) edges.
    std::vector<std::vector<int>> adj(p);
    for (std::size_t v = 0; v < p; ++v) {
        if (!anc[v]) continue;
        const auto& ps = par[v];
        for (std::size_t a = 0; a < ps.size(); ++a) {
            adj[v].push_back(ps[a]);
            adj[static_cast<std::size_t>(ps[a])].push_back(static_cast<int>(v));
            for (std::size_t b = a + 1; b < ps.size(); ++b) {
                adj[static_cast<std::size_t>(ps[a])].push_back(ps[b]);
                adj[static_cast<std::size_t>(ps[b])].push_back(ps[a]);
            }
        }
    }
    // Is y reachable from x avoiding z?
    std::vector<char> seen(p, 0);
    stack.assign(1, x);
    seen[static_cast<std::size_t>(x)] = 1;
    while (!stack.empty()) {
        const int v = stack.back();
        stack.pop_back();
        if (v == y) return false;
        for (int u : adj[static_cast<std::size_t>(v)]) {
            if (seen[static_cast<std::size_t>(u)] || inz[static_cast<std::size_t>(u)]) continue;
            seen[static_cast<std::size_t>(u)] = 1;
            stack.push_back(u);
        }
    }
    return true;
}

// Number of CI statements (x < y, S a subset of the other p - 2 nodes with
// |S| <= max_cond): choose(p, 2) * sum_s choose(p - 2, s), saturating at
// UINT64_MAX.
inline std::uint64_t count_statements(int p, int max_cond) {
    if (p < 2) return 0;
    const auto sat_mul = [](std::uint64_t a, std::uint64_t b) {
        if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
        return a * b;
    };
    std::uint64_t subsets = 0, c = 1;  // c = choose(p - 2, s)
    const auto m = static_cast<std::uint64_t>(p - 2);
    for (int s = 0; s <= max_cond && static_cast<std::uint64_t>(s) <= m; ++s) {
        if (s > 0) {
            // choose(m, s) = choose(m, s - 1) * (m - s + 1) / s, exact in integers
            c = sat_mul(c, m - static_cast<std::uint64_t>(s) + 1);
            if (c != UINT64_MAX) c /= static_cast<std::uint64_t>(s);
        }
        subsets = subsets > UINT64_MAX - c ? UINT64_MAX : subsets + c;
    }
    const std::uint64_t pairs = static_cast<std::uint64_t>(p) * static_cast<std::uint64_t>(p - 1) / 2;
    return sat_mul(pairs, subsets);
}

struct CIStatement {
    int x;
    int y;
    std::vector<int> z;  // increasing
    bool separated;
};

// Every statement (x < y, |S| <= max_cond) with its d-separation truth, in
// the order x, y, then S by size and lexicographically.  Throws when there
// would be more than `limit`.
inline std::vector<CIStatement> enumerate_statements(const ParentLists& par, int max_cond, std::uint64_t limit) {
    const int p = static_cast<int>(par.size());
    const std::uint64_t total = count_statements(p, max_cond);
    if (total > limit) throw std::length_error("too many statements");
    std::vector<CIStatement> out;
    out.reserve(static_cast<std::size_t>(total));
    for (int x = 0; x < p; ++x) {
        for (int y = x + 1; y < p; ++y) {
            std::vector<int> others;
            for (int v = 0; v < p; ++v) {
                if (v != x && v != y) others.push_back(v);
            }
            const int m = static_cast<int>(others.size());
            for (int s = 0; s <= std::min(max_cond, m); ++s) {
                // subsets of size s as increasing index vectors
                std::vector<int> idx(static_cast<std::size_t>(s));
                for (int i = 0; i < s; ++i) idx[static_cast<std::size_t>(i)] = i;
                for (;;) {
                    std::vector<int> z;
                    z.reserve(static_cast<std::size_t>(s));
                    for (int i : idx) z.push_back(others[static_cast<std::size_t>(i)]);
                    const bool sep = d_separated(par, x, y, z);
                    out.push_back(CIStatement{x, y, std::move(z), sep});
                    int i = s - 1;
                    while (i >= 0 && idx[static_cast<std::size_t>(i)] == m - s + i) --i;
                    if (i < 0) break;
                    ++idx[static_cast<std::size_t>(i)];
                    for (int j = i + 1; j < s; ++j) idx[static_cast<std::size_t>(j)] = idx[static_cast<std::size_t>(j - 1)] + 1;
                }
            }
        }
    }
    return out;
}

// The partial correlation of columns x and y of the correlation matrix C
// given the columns z: from the inverse of C restricted to {x, y} and z.
inline double partial_correlation(const Eigen::Ref<const Eigen::MatrixXd>& C, int x, int y, const std::vector<int>& z) {
    if (z.empty()) return C(x, y);
    std::vector<int> idx{x, y};
    idx.insert(idx.end(), z.begin(), z.end());
    const auto m = static_cast<Eigen::Index>(idx.size());
    Eigen::MatrixXd sub(m, m);
    for (Eigen::Index a = 0; a < m; ++a) {
        for (Eigen::Index b = 0; b < m; ++b) sub(a, b) = C(idx[static_cast<std::size_t>(a)], idx[static_cast<std::size_t>(b)]);
    }
    // A pseudo-inverse copes with a singular conditioning set.
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(sub);
    const Eigen::VectorXd ev = es.eigenvalues();
    const double tol = ev.cwiseAbs().maxCoeff() * static_cast<double>(m) * 1e-12;
    Eigen::VectorXd inv = Eigen::VectorXd::Zero(m);
    for (Eigen::Index i = 0; i < m; ++i) {
        if (ev[i] > tol) inv[i] = 1.0 / ev[i];
    }
    const Eigen::MatrixXd P = es.eigenvectors() * inv.asDiagonal() * es.eigenvectors().transpose();
    const double r = -P(0, 1) / std::sqrt(P(0, 0) * P(1, 1));
    return std::max(-1.0, std::min(1.0, r));
}

// Two-sided p-value of Fisher's z for a partial correlation r from n
// observations with a conditioning set of size s.
inline double fisher_z_pvalue(double r, std::size_t n, std::size_t s) {
    const double df = static_cast<double>(n) - static_cast<double>(s) - 3.0;
    if (!(df > 0.0)) throw std::invalid_argument("too few observations for the Fisher z test");
    if (std::isnan(r)) return r;
    const double rr = std::min(std::fabs(r), 1.0 - 1e-15);
    const double z = std::sqrt(df) * 0.5 * std::log1p(2.0 * rr / (1.0 - rr));
    return std::erfc(z / std::sqrt(2.0));
}

}  // namespace bulkcausal

#endif
