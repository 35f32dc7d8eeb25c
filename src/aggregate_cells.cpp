// Glue for aggregateCells / poolCells: dense and dgCMatrix input.
#include "glue.h"

#include "bulkcausal/aggregate.hpp"

// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix aggregate_dense_cpp(Rcpp::NumericMatrix x, Rcpp::List groups, std::string fun, double pseudo,
                                        bool na_rm, int nthreads, bool verbose) {
    const auto g = glue::groups_from_list(groups);
    auto spec = glue::agg_spec(fun, pseudo, na_rm);
    spec.normalise = false;  // cpm: R normalises once all rows are done
    Rcpp::NumericMatrix out(x.nrow(), static_cast<int>(g.size()));
    try {
        bulkcausal::aggregate_dense(x.begin(), static_cast<std::size_t>(x.nrow()), static_cast<std::size_t>(x.ncol()),
                                    g, spec, out.begin(), nthreads, glue::make_poll(verbose, "aggregating"));
    } catch (const bulkcausal::ValueError& e) {
        const Rcpp::List dn = Rf_isNull(Rf_getAttrib(x, R_DimNamesSymbol)) ? Rcpp::List(2)
                                                                          : Rcpp::List(Rf_getAttrib(x, R_DimNamesSymbol));
        glue::stop_value_error(e, fun, dn[0], dn[1]);
    }
    return out;
}

// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix aggregate_sparse_cpp(Rcpp::S4 x, Rcpp::List groups, std::string fun, double pseudo, bool na_rm,
                                         int nthreads, bool verbose) {
    const Rcpp::IntegerVector dim = x.slot("Dim");
    const Rcpp::IntegerVector colptr = x.slot("p");
    const Rcpp::IntegerVector rowidx = x.slot("i");
    const Rcpp::NumericVector values = x.slot("x");
    if (dim.size() != 2 || dim[0] < 0 || dim[1] < 0 || colptr.size() < 1) Rcpp::stop("`x` is not a valid dgCMatrix: its 'Dim' or 'p' slot is malformed");
    bulkcausal::SparseView view{static_cast<std::size_t>(dim[0]), static_cast<std::size_t>(dim[1]), colptr.begin(),
                                rowidx.begin(), values.begin()};
    try {
        bulkcausal::check_sparse_structure(view, static_cast<std::size_t>(colptr.size()),
                                           static_cast<std::size_t>(rowidx.size()), static_cast<std::size_t>(values.size()));
    } catch (const std::invalid_argument& e) {
        Rcpp::stop(std::string("`x` is not a valid dgCMatrix: ") + e.what() + "; rebuild it, e.g. with Matrix::sparseMatrix()");
    }
    const auto g = glue::groups_from_list(groups);
    auto spec = glue::agg_spec(fun, pseudo, na_rm);
    spec.normalise = false;  // cpm: R normalises once all rows are done
    Rcpp::NumericMatrix out(dim[0], static_cast<int>(g.size()));
    try {
        bulkcausal::aggregate_sparse(view, g, spec, out.begin(), nthreads, glue::make_poll(verbose, "aggregating"));
    } catch (const bulkcausal::ValueError& e) {
        const Rcpp::List dn = x.slot("Dimnames");
        glue::stop_value_error(e, fun, dn[0], dn[1]);
    } catch (const std::invalid_argument& e) {
        Rcpp::stop(std::string("`x` is not a valid dgCMatrix: ") + e.what() + "; rebuild it, e.g. with Matrix::sparseMatrix()");
    }
    return out;
}

// [[Rcpp::export(rng = false)]]
Rcpp::List draw_pools_cpp(Rcpp::List cells, int size, int npools, bool replace, double seed) {
    const std::uint64_t s = glue::as_seed(seed);
    Rcpp::List out(cells.size());
    for (R_xlen_t l = 0; l < cells.size(); ++l) {
        const std::vector<int> c = Rcpp::as<std::vector<int>>(cells[l]);
        bulkcausal::Rng rng(s, static_cast<std::uint64_t>(l), 0);
        const auto pools = bulkcausal::draw_pools(c, static_cast<std::size_t>(size), static_cast<std::size_t>(npools),
                                                  replace, rng);
        Rcpp::List level(static_cast<R_xlen_t>(pools.size()));
        for (std::size_t k = 0; k < pools.size(); ++k) level[static_cast<R_xlen_t>(k)] = Rcpp::wrap(pools[k]);
        out[l] = level;
    }
    return out;
}

// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix normalise_cpm_cpp(Rcpp::NumericMatrix sums) {
    Rcpp::NumericMatrix out = Rcpp::clone(sums);
    bulkcausal::normalise_cpm(out.begin(), static_cast<std::size_t>(out.nrow()), static_cast<std::size_t>(out.ncol()));
    return out;
}

// Columns (1-based) of each group, from 1-based group ids with NA for left
// out: what split(seq_along(gid), gid) gives, in O(n).
// [[Rcpp::export(rng = false)]]
Rcpp::List group_columns_cpp(Rcpp::IntegerVector gid, int ngroups) {
    std::vector<int> ids(static_cast<std::size_t>(gid.size()));
    for (R_xlen_t i = 0; i < gid.size(); ++i) {
        const int g = gid[i];
        if (g != NA_INTEGER && (g < 1 || g > ngroups)) Rcpp::stop("group id out of range");
        ids[static_cast<std::size_t>(i)] = g == NA_INTEGER ? -1 : g - 1;
    }
    const auto groups = bulkcausal::groups_from_ids(ids, static_cast<std::size_t>(ngroups));
    Rcpp::List out(ngroups);
    for (std::size_t g = 0; g < groups.size(); ++g) {
        Rcpp::IntegerVector cols(groups[g].begin(), groups[g].end());
        for (auto& c : cols) ++c;
        out[static_cast<R_xlen_t>(g)] = cols;
    }
    return out;
}
