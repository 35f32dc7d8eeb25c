// Glue for simulateCells and simulateBulk.
#include <cmath>

#include "glue.h"

#include "bulkcausal/simulate.hpp"

namespace {

// User-supplied R edge functions; only ever called on the main thread (the
// R layer runs models with custom edges on one thread).
bulkcausal::CustomFn custom_caller(const Rcpp::List& fns) {
    if (fns.size() == 0) return bulkcausal::CustomFn();
    return [fns](int id, const double* x, double* fx, std::size_t k) {
        Rcpp::Function f = fns[id];
        Rcpp::NumericVector in(x, x + k);
        Rcpp::NumericVector res = f(in);
        if (static_cast<std::size_t>(res.size()) != k) {
            Rcpp::stop("the user edge function '%s' returned %d values for %d inputs",
                       Rcpp::as<std::string>(Rcpp::CharacterVector(fns.names())[id]), res.size(), k);
        }
        std::copy(res.begin(), res.end(), fx);
    };
}

std::vector<std::size_t> as_sizes(const Rcpp::NumericVector& x) {
    std::vector<std::size_t> out;
    for (double v : x) out.push_back(static_cast<std::size_t>(v));
    return out;
}

struct Setup {
    bulkcausal::Model model;
    bulkcausal::CustomFn custom;
    int nthreads;
    bulkcausal::PollFn poll;
};

Setup setup(const Rcpp::List& model, const Rcpp::List& custom, int nthreads, bool verbose, const char* what) {
    Setup s{glue::model_from_list(model), custom_caller(custom), nthreads, bulkcausal::PollFn()};
    if (s.custom) {
        s.nthreads = 1;  // R functions run on the main thread only
    } else {
        s.poll = glue::make_poll(verbose, what);
    }
    return s;
}

// The index of a run's first sample in the whole simulation (internal:
// set by R when it splits a simulation over workers).
std::size_t as_first_sample(double v) {
    if (!std::isfinite(v) || v < 0 || v != std::floor(v) || v > 4.5e15) {
        Rcpp::stop("`first_sample` must be a whole number from 0, not %g", v);
    }
    return static_cast<std::size_t>(v);
}

Rcpp::List per_sample(const bulkcausal::Model& m, std::size_t nsamples, bulkcausal::SimOutput& out) {
    Rcpp::NumericMatrix shift(m.p, static_cast<int>(nsamples));
    Rcpp::NumericMatrix prop(m.ntypes, static_cast<int>(nsamples));
    Rcpp::IntegerMatrix tcount(m.ntypes, static_cast<int>(nsamples));
    out.context_shift = shift.begin();
    out.context_prop = prop.begin();
    out.type_count = tcount.begin();
    return Rcpp::List::create(Rcpp::Named("shift") = shift, Rcpp::Named("prop") = prop,
                              Rcpp::Named("type_count") = tcount);
}

}  // namespace

// [[Rcpp::export(rng = false)]]
Rcpp::List simulate_cells_cpp(Rcpp::List model, Rcpp::NumericVector cells_per_sample, double seed, int nthreads,
                              Rcpp::List custom, bool verbose, Rcpp::List dimnames, double first_sample = 0) {
    Setup s = setup(model, custom, nthreads, verbose, "simulating cells");
    const auto cps = as_sizes(cells_per_sample);
    std::size_t ncells = 0;
    for (auto c : cps) ncells += c;
    const bool with_counts = s.model.observation != bulkcausal::Observation::None;
    bulkcausal::SimOutput out;
    Rcpp::List ctx = per_sample(s.model, cps.size(), out);
    Rcpp::NumericMatrix latent(Rcpp::no_init(s.model.p, static_cast<int>(ncells)));
    Rcpp::NumericMatrix counts(Rcpp::no_init(with_counts ? s.model.p : 0, with_counts ? static_cast<int>(ncells) : 0));
    Rcpp::NumericMatrix rate(Rcpp::no_init(with_counts ? s.model.p : 0, with_counts ? static_cast<int>(ncells) : 0));
    Rcpp::IntegerVector celltype(static_cast<R_xlen_t>(ncells));
    Rcpp::NumericVector library(with_counts ? static_cast<R_xlen_t>(ncells) : 0);
    out.latent = latent.begin();
    out.counts = with_counts ? counts.begin() : nullptr;
    out.rate = with_counts ? rate.begin() : nullptr;
    out.celltype = celltype.begin();
    out.library = with_counts ? library.begin() : nullptr;
    glue::advise_huge_pages(latent.begin(), sizeof(double) * static_cast<std::size_t>(latent.size()));
    if (with_counts) {
        glue::advise_huge_pages(counts.begin(), sizeof(double) * static_cast<std::size_t>(counts.size()));
        glue::advise_huge_pages(rate.begin(), sizeof(double) * static_cast<std::size_t>(rate.size()));
    }
    bulkcausal::simulate_cells_matrix(s.model, cps, glue::as_seed(seed), out, s.nthreads, s.poll, s.custom,
                                      as_first_sample(first_sample));
    // Named here rather than in R, where setting dimnames could copy a
    // matrix of many millions of cells.
    latent.attr("dimnames") = dimnames;
    if (with_counts) {
        counts.attr("dimnames") = dimnames;
        rate.attr("dimnames") = dimnames;
    }
    return Rcpp::List::create(Rcpp::Named("latent") = latent, Rcpp::Named("counts") = counts,
                              Rcpp::Named("rate") = rate, Rcpp::Named("celltype") = celltype,
                              Rcpp::Named("library") = library, Rcpp::Named("context") = ctx);
}

// [[Rcpp::export(rng = false)]]
Rcpp::List simulate_bulk_cpp(Rcpp::List model, Rcpp::NumericVector cells_per_sample, double seed, std::string fun,
                             double pseudo, bool aggregate_latent, bool aggregate_counts, bool aggregate_rate,
                             bool keep_cells, int nthreads, Rcpp::List custom, bool verbose, Rcpp::List dimnames,
                             double first_sample = 0, double first_cell = 0) {
    Setup s = setup(model, custom, nthreads, verbose, "simulating samples");
    const auto cps = as_sizes(cells_per_sample);
    as_first_sample(first_cell);  // (only named in messages; checked as an index all the same)
    std::size_t ncells = 0;
    for (auto c : cps) ncells += c;
    const auto nsamples = static_cast<int>(cps.size());
    const bool with_counts = s.model.observation != bulkcausal::Observation::None;
    bulkcausal::SimOutput out;
    Rcpp::List ctx = per_sample(s.model, cps.size(), out);
    Rcpp::NumericMatrix bulk_latent(aggregate_latent ? s.model.p : 0, aggregate_latent ? nsamples : 0);
    Rcpp::NumericMatrix bulk_counts(with_counts && aggregate_counts ? s.model.p : 0,
                                    with_counts && aggregate_counts ? nsamples : 0);
    out.bulk_latent = aggregate_latent ? bulk_latent.begin() : nullptr;
    Rcpp::NumericMatrix bulk_rate(with_counts && aggregate_rate ? s.model.p : 0,
                                  with_counts && aggregate_rate ? nsamples : 0);
    out.bulk_counts = with_counts && aggregate_counts ? bulk_counts.begin() : nullptr;
    out.bulk_rate = with_counts && aggregate_rate ? bulk_rate.begin() : nullptr;
    const int kc = keep_cells ? static_cast<int>(ncells) : 0;
    // every kept cell is written, so the matrices need no zeroing first
    Rcpp::NumericMatrix latent(Rcpp::no_init(keep_cells ? s.model.p : 0, kc));
    Rcpp::NumericMatrix counts(Rcpp::no_init(keep_cells && with_counts ? s.model.p : 0, keep_cells && with_counts ? kc : 0));
    Rcpp::NumericMatrix rate(Rcpp::no_init(keep_cells && with_counts ? s.model.p : 0, keep_cells && with_counts ? kc : 0));
    Rcpp::IntegerVector celltype(kc);
    Rcpp::NumericVector library(with_counts ? kc : 0);
    if (keep_cells) {
        glue::advise_huge_pages(latent.begin(), sizeof(double) * static_cast<std::size_t>(latent.size()));
        if (with_counts) {
            glue::advise_huge_pages(counts.begin(), sizeof(double) * static_cast<std::size_t>(counts.size()));
            glue::advise_huge_pages(rate.begin(), sizeof(double) * static_cast<std::size_t>(rate.size()));
        }
        out.latent = latent.begin();
        out.counts = with_counts ? counts.begin() : nullptr;
        out.rate = with_counts ? rate.begin() : nullptr;
        out.celltype = celltype.begin();
        out.library = with_counts ? library.begin() : nullptr;
    }
    const auto spec = glue::agg_spec(fun, pseudo, false);
    try {
        bulkcausal::simulate_bulk(s.model, cps, glue::as_seed(seed), spec, out, s.nthreads, s.poll, s.custom,
                                  as_first_sample(first_sample));
    } catch (const bulkcausal::ValueError& e) {
        Rcpp::stop("aggregation '%s' cannot take the %s %g of gene %d in simulated cell %.0f; "
                   "choose an aggregation defined for such values or leave 'latent' out of `assays`",
                   fun, e.what(), e.value, e.row + 1, static_cast<double>(e.col) + first_cell + 1);
    }
    if (keep_cells) {
        latent.attr("dimnames") = dimnames;
        if (with_counts) {
            counts.attr("dimnames") = dimnames;
            rate.attr("dimnames") = dimnames;
        }
    }
    return Rcpp::List::create(Rcpp::Named("bulk_latent") = bulk_latent, Rcpp::Named("bulk_counts") = bulk_counts,
                              Rcpp::Named("bulk_rate") = bulk_rate, Rcpp::Named("latent") = latent,
                              Rcpp::Named("counts") = counts, Rcpp::Named("rate") = rate,
                              Rcpp::Named("celltype") = celltype, Rcpp::Named("library") = library,
                              Rcpp::Named("context") = ctx);
}
