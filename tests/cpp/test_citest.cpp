#include <catch2/catch.hpp>

#include <Eigen/Dense>

#include <cmath>
#include <vector>

#include "bulkcausal/citest.hpp"
#include "bulkcausal/dag.hpp"
#include "bulkcausal/rng.hpp"

using namespace bulkcausal;

namespace {

// d-separation by brute force: x and y are d-connected given z when some
// simple path of the skeleton is active (each collider on it is in z or has
// a descendant in z, each other inner node is outside z).
struct Brute {
    const ParentLists& par;
    std::vector<std::vector<int>> nbr;
    std::vector<std::vector<char>> is_desc;  // is_desc[a][b]: b is a descendant of a (or a itself)

    explicit Brute(const ParentLists& p) : par(p) {
        const std::size_t n = par.size();
        nbr.resize(n);
        for (std::size_t v = 0; v < n; ++v) {
            for (int u : par[v]) {
                nbr[v].push_back(u);
                nbr[static_cast<std::size_t>(u)].push_back(static_cast<int>(v));
            }
        }
        is_desc.assign(n, std::vector<char>(n, 0));
        for (std::size_t a = 0; a < n; ++a) {
            is_desc[a][a] = 1;
            bool grew = true;
            while (grew) {
                grew = false;
                for (std::size_t v = 0; v < n; ++v) {
                    if (is_desc[a][v]) continue;
                    for (int u : par[v]) {
                        if (is_desc[a][static_cast<std::size_t>(u)]) {
                            is_desc[a][v] = 1;
                            grew = true;
                            break;
                        }
                    }
                }
            }
        }
    }
    bool edge(int a, int b) const {  // a -> b
        for (int u : par[static_cast<std::size_t>(b)]) {
            if (u == a) return true;
        }
        return false;
    }
    bool active(const std::vector<int>& path, const std::vector<char>& inz) const {
        for (std::size_t i = 1; i + 1 < path.size(); ++i) {
            const int a = path[i - 1], v = path[i], b = path[i + 1];
            const bool collider = edge(a, v) && edge(b, v);
            if (collider) {
                bool ok = false;
                for (std::size_t d = 0; d < par.size(); ++d) {
                    if (inz[d] && is_desc[static_cast<std::size_t>(v)][d]) ok = true;
                }
                if (!ok) return false;
            } else if (inz[static_cast<std::size_t>(v)]) {
                return false;
            }
        }
        return true;
    }
    bool connected(int x, int y, const std::vector<int>& z) const {
        std::vector<char> inz(par.size(), 0), on(par.size(), 0);
        for (int v : z) inz[static_cast<std::size_t>(v)] = 1;
        std::vector<int> path{x};
        on[static_cast<std::size_t>(x)] = 1;
        return dfs(path, on, y, inz);
    }
    bool dfs(std::vector<int>& path, std::vector<char>& on, int y, const std::vector<char>& inz) const {
        const int v = path.back();
        if (v == y) return active(path, inz);
        for (int u : nbr[static_cast<std::size_t>(v)]) {
            if (on[static_cast<std::size_t>(u)]) continue;
            on[static_cast<std::size_t>(u)] = 1;
            path.push_back(u);
            const bool found = dfs(path, on, y, inz);
            path.pop_back();
            on[static_cast<std::size_t>(u)] = 0;
            if (found) return true;
        }
        return false;
    }
};

}  // namespace

TEST_CASE("d-separation in a chain, a fork and a collider", "[citest]") {
    // 0 -> 1 -> 2, 1 -> 3, 4 -> 3
    const auto par = parent_lists(5, {0, 1, 1, 4}, {1, 2, 3, 3});
    CHECK_FALSE(d_separated(par, 0, 2, {}));
    CHECK(d_separated(par, 0, 2, {1}));
    CHECK_FALSE(d_separated(par, 2, 3, {}));   // fork at 1
    CHECK(d_separated(par, 2, 3, {1}));
    CHECK(d_separated(par, 1, 4, {}));         // collider at 3
    CHECK_FALSE(d_separated(par, 1, 4, {3}));
    CHECK_THROWS_AS(d_separated(par, 0, 2, {0}), std::invalid_argument);
}

TEST_CASE("d-separation agrees with brute-force path checking on random DAGs", "[citest]") {
    Rng rng(21);
    for (int rep = 0; rep < 30; ++rep) {
        const int p = 4 + static_cast<int>(rng.below(4));
        const auto edges = random_dag(p, rep % 2 == 1, 0.4, 2, rng);
        std::vector<int> from, to;
        for (const auto& e : edges) {
            from.push_back(e.first);
            to.push_back(e.second);
        }
        const auto par = parent_lists(p, from, to);
        const Brute brute(par);
        const auto all = enumerate_statements(par, 2, 100000);
        CHECK(all.size() == count_statements(p, 2));
        for (const auto& s : all) {
            INFO("p " << p << " x " << s.x << " y " << s.y);
            CHECK(s.separated == !brute.connected(s.x, s.y, s.z));
        }
    }
}

TEST_CASE("statement counts and the limit", "[citest]") {
    CHECK(count_statements(5, 0) == 10);
    CHECK(count_statements(5, 1) == 10 * 4);
    CHECK(count_statements(5, 3) == 10 * 8);
    CHECK(count_statements(5, 10) == 10 * 8);
    CHECK(count_statements(1000, 3) == 499500ULL * (1 + 998 + 497503 + 165170996ULL));
    const auto par = parent_lists(6, {0}, {1});
    CHECK_THROWS_AS(enumerate_statements(par, 2, 10), std::length_error);
}

TEST_CASE("partial correlations equal the correlation of regression residuals", "[citest]") {
    Rng rng(22);
    const int n = 500;
    Eigen::MatrixXd X(n, 4);
    for (int i = 0; i < n; ++i) {
        const double a = rng.normal(), b = rng.normal();
        X(i, 0) = a;
        X(i, 1) = a + b + rng.normal();
        X(i, 2) = b + 0.5 * rng.normal();
        X(i, 3) = X(i, 1) - X(i, 2) + rng.normal();
    }
    const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean();
    const Eigen::VectorXd sd = (Xc.colwise().squaredNorm() / (n - 1)).cwiseSqrt();
    const Eigen::MatrixXd C = (Xc.transpose() * Xc / (n - 1)).cwiseQuotient(sd * sd.transpose());
    // residuals of columns 0 and 3 on columns 1, 2 (with intercept)
    Eigen::MatrixXd Z(n, 3);
    Z.col(0).setOnes();
    Z.col(1) = X.col(1);
    Z.col(2) = X.col(2);
    auto resid = [&](int c) {
        const Eigen::VectorXd beta = Z.colPivHouseholderQr().solve(X.col(c));
        return Eigen::VectorXd(X.col(c) - Z * beta);
    };
    const Eigen::VectorXd r0 = resid(0), r3 = resid(3);
    const double want = r0.dot(r3) / std::sqrt(r0.squaredNorm() * r3.squaredNorm());
    CHECK(partial_correlation(C, 0, 3, {1, 2}) == Approx(want).epsilon(1e-10));
    CHECK(partial_correlation(C, 0, 3, {}) == Approx(C(0, 3)));
}

TEST_CASE("Fisher's z p-values match R", "[citest]") {
    // 2 * pnorm(-sqrt(n - s - 3) * atanh(r)) in R 4.2.2
    CHECK(fisher_z_pvalue(0.3, 50, 1) == Approx(0.035793626931648628).epsilon(1e-12));
    CHECK(fisher_z_pvalue(-0.05, 1000, 0) == Approx(0.11408787019335245).epsilon(1e-12));
    CHECK(fisher_z_pvalue(0.0, 100, 2) == Approx(1.0));
    CHECK_THROWS_AS(fisher_z_pvalue(0.2, 5, 2), std::invalid_argument);
}
