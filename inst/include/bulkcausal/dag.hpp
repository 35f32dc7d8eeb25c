// Directed acyclic graphs of genes: topological order and cycle reporting.
#ifndef BULKCAUSAL_DAG_HPP
#define BULKCAUSAL_DAG_HPP

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bulkcausal/parallel.hpp"

#include "bulkcausal/rng.hpp"
#include "bulkcausal/sampling.hpp"

namespace bulkcausal {

// Thrown when a graph has a directed cycle; `cycle` lists its nodes in order
// (the first node is not repeated at the end).
struct CycleError : std::invalid_argument {
    std::vector<int> cycle;
    explicit CycleError(std::vector<int> c)
        : std::invalid_argument("the graph has a directed cycle"), cycle(std::move(c)) {}
};

// Topological order of nodes 0..p-1 given edges from[e] -> to[e].  Ties are
// broken by node index (Kahn's algorithm with the smallest ready node first),
// so the order is a function of the graph alone.  Throws CycleError naming
// one cycle.
inline std::vector<int> topological_order(int p, const std::vector<int>& from, const std::vector<int>& to) {
    if (from.size() != to.size()) throw std::invalid_argument("edge lists differ in length");
    std::vector<std::vector<int>> children(static_cast<std::size_t>(p));
    std::vector<int> indegree(static_cast<std::size_t>(p), 0);
    for (std::size_t e = 0; e < from.size(); ++e) {
        if (from[e] < 0 || from[e] >= p || to[e] < 0 || to[e] >= p) {
            throw std::out_of_range("edge " + std::to_string(e + 1) + " names a node outside 1.." + std::to_string(p));
        }
        children[static_cast<std::size_t>(from[e])].push_back(to[e]);
        ++indegree[static_cast<std::size_t>(to[e])];
    }
    // A min-heap of ready nodes keeps the order canonical.
    std::vector<int> ready;
    for (int v = 0; v < p; ++v) {
        if (indegree[static_cast<std::size_t>(v)] == 0) ready.push_back(v);
    }
    auto cmp = [](int a, int b) { return a > b; };
    std::make_heap(ready.begin(), ready.end(), cmp);
    std::vector<int> order;
    order.reserve(static_cast<std::size_t>(p));
    while (!ready.empty()) {
        std::pop_heap(ready.begin(), ready.end(), cmp);
        const int v = ready.back();
        ready.pop_back();
        order.push_back(v);
        for (int c : children[static_cast<std::size_t>(v)]) {
            if (--indegree[static_cast<std::size_t>(c)] == 0) {
                ready.push_back(c);
                std::push_heap(ready.begin(), ready.end(), cmp);
            }
        }
    }
    if (static_cast<int>(order.size()) == p) return order;

    // Every node left has a remaining parent; walking back along remaining
    // parents from any of them must revisit a node, which closes a cycle.
    std::vector<int> parent_left(static_cast<std::size_t>(p), -1);
    for (std::size_t e = 0; e < from.size(); ++e) {
        if (indegree[static_cast<std::size_t>(from[e])] > 0 && indegree[static_cast<std::size_t>(to[e])] > 0 &&
            parent_left[static_cast<std::size_t>(to[e])] < 0) {
            parent_left[static_cast<std::size_t>(to[e])] = from[e];
        }
    }
    int start = -1;
    for (int v = 0; v < p && start < 0; ++v) {
        if (indegree[static_cast<std::size_t>(v)] > 0) start = v;
    }
    std::vector<int> seen_at(static_cast<std::size_t>(p), -1);
    std::vector<int> walk;
    int v = start;
    while (seen_at[static_cast<std::size_t>(v)] < 0) {
        seen_at[static_cast<std::size_t>(v)] = static_cast<int>(walk.size());
        walk.push_back(v);
        v = parent_left[static_cast<std::size_t>(v)];
    }
    std::vector<int> cycle(walk.begin() + seen_at[static_cast<std::size_t>(v)], walk.end());
    std::reverse(cycle.begin(), cycle.end());  // walked against the edges
    throw CycleError(cycle);
}

// Random DAGs on p nodes.  Nodes are first put in a random causal order;
// "er" then adds each forward edge with probability `prob` (Erdos-Renyi),
// "scalefree" lets each node in turn take `m` parents among the earlier ones
// with probability proportional to their degree + 1 (Barabasi-Albert).
// Edges are returned sorted by (from, to).  Both loops take time quadratic
// in p; `poll` (if given) is called with the nodes done about every 4
// million steps, and returning false stops the work (throws Cancelled).
inline std::vector<std::pair<int, int>> random_dag(int p, bool scalefree, double prob, int m, Rng& rng,
                                                   const PollFn& poll = PollFn()) {
    std::size_t steps = 0;
    auto tick = [&](std::size_t work, int done) {
        steps += work;
        if (poll && steps >= (std::size_t(1) << 22)) {
            steps = 0;
            if (!poll(static_cast<std::size_t>(done), static_cast<std::size_t>(p))) throw Cancelled();
        }
    };
    std::vector<int> rank(static_cast<std::size_t>(p));
    for (int i = 0; i < p; ++i) rank[static_cast<std::size_t>(i)] = i;
    IndexSampler(rng, IndexDraw::Exact).shuffle(rank.begin(), rank.end());
    // rank[i] is the node at causal position i.
    std::vector<std::pair<int, int>> edges;
    if (!scalefree) {
        for (int a = 0; a < p; ++a) {
            for (int b = a + 1; b < p; ++b) {
                if (rng.uniform() < prob) edges.emplace_back(rank[static_cast<std::size_t>(a)], rank[static_cast<std::size_t>(b)]);
            }
            tick(static_cast<std::size_t>(p - a), a + 1);
        }
    } else {
        std::vector<double> degree(static_cast<std::size_t>(p), 0.0);
        for (int b = 1; b < p; ++b) {
            const int want = std::min(m, b);
            std::vector<char> taken(static_cast<std::size_t>(b), 0);
            for (int k = 0; k < want; ++k) {
                double total = 0.0;
                for (int a = 0; a < b; ++a) {
                    if (!taken[static_cast<std::size_t>(a)]) total += degree[static_cast<std::size_t>(a)] + 1.0;
                }
                double u = rng.uniform() * total;
                int pick = -1;
                for (int a = 0; a < b; ++a) {
                    if (taken[static_cast<std::size_t>(a)]) continue;
                    pick = a;
                    u -= degree[static_cast<std::size_t>(a)] + 1.0;
                    if (u < 0.0) break;
                }
                taken[static_cast<std::size_t>(pick)] = 1;
                degree[static_cast<std::size_t>(pick)] += 1.0;
                degree[static_cast<std::size_t>(b)] += 1.0;
                edges.emplace_back(rank[static_cast<std::size_t>(pick)], rank[static_cast<std::size_t>(b)]);
            }
            tick(static_cast<std::size_t>(2 * want) * static_cast<std::size_t>(b), b + 1);
        }
    }
    std::sort(edges.begin(), edges.end());
    return edges;
}

}  // namespace bulkcausal

#endif
