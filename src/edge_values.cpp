// Glue for trueFunction(): evaluates a built-in edge function.
#include "glue.h"

// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector edge_values_cpp(Rcpp::List model, int edge, Rcpp::NumericVector x) {
    const bulkcausal::Model m = glue::model_from_list(model);
    const bulkcausal::Edge& e = m.edges.at(static_cast<std::size_t>(edge - 1));
    Rcpp::NumericVector out(x.size());
    for (R_xlen_t i = 0; i < x.size(); ++i) out[i] = bulkcausal::edge_value(e, x[i]);
    return out;
}
