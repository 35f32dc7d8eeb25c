// Glue for ciTest: the Fisher z test of a partial correlation from a
// correlation matrix.
#include "glue.h"

#include "bulkcausal/citest.hpp"

// [[Rcpp::export(rng = false)]]
Rcpp::NumericVector fisher_test_cpp(Rcpp::NumericMatrix C, double n, int x, int y, Rcpp::IntegerVector z) {
    const Eigen::Map<const Eigen::MatrixXd> cm(C.begin(), C.nrow(), C.ncol());
    const std::vector<int> zz(z.begin(), z.end());
    const double r = bulkcausal::partial_correlation(cm, x, y, zz);
    double p = NA_REAL;
    try {
        p = bulkcausal::fisher_z_pvalue(r, static_cast<std::size_t>(n), zz.size());
    } catch (const std::invalid_argument&) {
        Rcpp::stop("the Fisher z test needs more observations than the conditioning set size + 3 (n = %.0f, |z| = %d)",
                   n, static_cast<int>(zz.size()));
    }
    return Rcpp::NumericVector::create(Rcpp::Named("r") = r, Rcpp::Named("p.value") = p);
}
