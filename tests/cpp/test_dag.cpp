#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "bulkcausal/dag.hpp"

using namespace bulkcausal;

TEST_CASE("topological order puts every parent before its child", "[dag]") {
    const std::vector<int> from{4, 4, 0, 2, 3}, to{0, 2, 1, 1, 1};
    const auto order = topological_order(5, from, to);
    REQUIRE(order.size() == 5);
    std::vector<int> pos(5);
    for (int i = 0; i < 5; ++i) pos[order[i]] = i;
    for (std::size_t e = 0; e < from.size(); ++e) CHECK(pos[from[e]] < pos[to[e]]);
    // ties broken by index: 3 and 4 are both roots, 3 comes first
    CHECK(order.front() == 3);
}

TEST_CASE("a cycle is reported with its nodes in edge order", "[dag]") {
    // 0 -> 1 -> 2 -> 3 -> 1, plus 4 -> 0
    const std::vector<int> from{0, 1, 2, 3, 4}, to{1, 2, 3, 1, 0};
    try {
        topological_order(5, from, to);
        FAIL("no cycle reported");
    } catch (const CycleError& e) {
        const auto& c = e.cycle;
        REQUIRE(c.size() == 3);
        std::set<std::pair<int, int>> edges;
        for (std::size_t i = 0; i < from.size(); ++i) edges.insert({from[i], to[i]});
        for (std::size_t i = 0; i < c.size(); ++i) CHECK(edges.count({c[i], c[(i + 1) % c.size()]}) == 1);
    }
    // a self-loop is a cycle of one
    CHECK_THROWS_AS(topological_order(2, {1}, {1}), CycleError);
}

TEST_CASE("edges outside the node range are rejected", "[dag]") {
    CHECK_THROWS_AS(topological_order(2, {0}, {2}), std::out_of_range);
}

TEST_CASE("random DAGs are acyclic with the expected number of edges", "[dag]") {
    const int p = 60;
    const double prob = 0.1;
    double total = 0;
    const int reps = 200;
    for (int r = 0; r < reps; ++r) {
        Rng rng(11, static_cast<std::uint64_t>(r));
        const auto edges = random_dag(p, false, prob, 0, rng);
        std::vector<int> from, to;
        for (const auto& e : edges) {
            from.push_back(e.first);
            to.push_back(e.second);
        }
        REQUIRE_NOTHROW(topological_order(p, from, to));
        total += static_cast<double>(edges.size());
    }
    const double pairs = p * (p - 1) / 2.0;
    const double mean = total / reps, se = std::sqrt(pairs * prob * (1 - prob) / reps);
    CHECK(std::fabs(mean - pairs * prob) < 5 * se);
}

TEST_CASE("scale-free DAGs give every non-first node m parents", "[dag]") {
    Rng rng(12);
    const int p = 50, m = 2;
    const auto edges = random_dag(p, true, 0.0, m, rng);
    CHECK(edges.size() == static_cast<std::size_t>(1 + (p - 2) * m));
    std::vector<int> from, to, indeg(p, 0), deg(p, 0);
    for (const auto& e : edges) {
        from.push_back(e.first);
        to.push_back(e.second);
        ++indeg[e.second];
        ++deg[e.first];
        ++deg[e.second];
    }
    REQUIRE_NOTHROW(topological_order(p, from, to));
    int roots = 0, maxdeg = 0;
    for (int v = 0; v < p; ++v) {
        roots += indeg[v] == 0;
        maxdeg = std::max(maxdeg, deg[v]);
    }
    CHECK(roots == 1);
    CHECK(maxdeg > 2 * m);  // hubs appear
}

TEST_CASE("a poll that returns false stops drawing a large graph", "[dag]") {
    Rng rng(13);
    std::size_t calls = 0;
    const PollFn stop_at_second = [&calls](std::size_t done, std::size_t total) {
        CHECK(done <= total);
        return ++calls < 2;
    };
    CHECK_THROWS_AS(random_dag(6000, false, 0.001, 0, rng, stop_at_second), Cancelled);
    CHECK(calls == 2);
    calls = 0;
    CHECK_THROWS_AS(random_dag(6000, true, 0.0, 1, rng, stop_at_second), Cancelled);
    // a poll that never stops changes nothing
    Rng a(14), b(14);
    const PollFn go = [](std::size_t, std::size_t) { return true; };
    CHECK(random_dag(3000, false, 0.01, 0, a, go) == random_dag(3000, false, 0.01, 0, b));
}

TEST_CASE("run_tasks raises the caller's stop flag when a poll cancels, so a long task can return early", "[parallel]") {
    std::atomic<bool> stop{false};
    std::atomic<int> returned{0};
    int polls = 0;
    const PollFn cancel_second = [&polls](std::size_t, std::size_t) { return ++polls < 2; };
    // two tasks that would never end unless they read the flag
    CHECK_THROWS_AS(run_tasks(2, 2, [&](std::size_t, int) {
        while (!stop.load()) std::this_thread::yield();
        ++returned;
    }, cancel_second, &stop), Cancelled);
    CHECK(returned.load() == 2);
    // a run that is not cancelled lowers the flag it is given and leaves it down
    std::vector<int> out(5, 0);
    run_tasks(5, 2, [&](std::size_t i, int) { out[i] = static_cast<int>(i); }, PollFn([](std::size_t, std::size_t) { return true; }), &stop);
    CHECK_FALSE(stop.load());
    CHECK(out == std::vector<int>({0, 1, 2, 3, 4}));
}
