// Glue for randomGRN: the random graph and the random edge parameters.
#include "glue.h"

#include "bulkcausal/dag.hpp"

// Returns 1-based from/to, and for each edge a uniform draw u (for the
// function choice) and four more (weight, sign, K, n), all from one stream.
// [[Rcpp::export(rng = false)]]
Rcpp::List random_dag_cpp(int p, bool scalefree, double prob, int m, double seed) {
    bulkcausal::Rng rng(glue::as_seed(seed), 0, 0);
    const auto edges = bulkcausal::random_dag(p, scalefree, prob, m, rng, glue::make_poll(false, "drawing the graph"));
    const R_xlen_t ne = static_cast<R_xlen_t>(edges.size());
    Rcpp::IntegerVector from(ne), to(ne);
    Rcpp::NumericMatrix u(ne, 5);
    bulkcausal::Rng par(glue::as_seed(seed), 1, 0);
    for (R_xlen_t e = 0; e < ne; ++e) {
        from[e] = edges[static_cast<std::size_t>(e)].first + 1;
        to[e] = edges[static_cast<std::size_t>(e)].second + 1;
        for (int k = 0; k < 5; ++k) u(e, k) = par.uniform();
    }
    return Rcpp::List::create(Rcpp::Named("from") = from, Rcpp::Named("to") = to, Rcpp::Named("u") = u);
}

// Topological order (1-based), or the nodes of one cycle with cycle = TRUE.
// [[Rcpp::export(rng = false)]]
Rcpp::List topological_order_cpp(int p, Rcpp::IntegerVector from, Rcpp::IntegerVector to) {
    std::vector<int> f(from.begin(), from.end()), t(to.begin(), to.end());
    for (auto& v : f) --v;
    for (auto& v : t) --v;
    try {
        auto order = bulkcausal::topological_order(p, f, t);
        for (auto& v : order) ++v;
        return Rcpp::List::create(Rcpp::Named("order") = order, Rcpp::Named("cycle") = R_NilValue);
    } catch (const bulkcausal::CycleError& e) {
        std::vector<int> c(e.cycle);
        for (auto& v : c) ++v;
        return Rcpp::List::create(Rcpp::Named("order") = R_NilValue, Rcpp::Named("cycle") = c);
    }
}
