#include "glue.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <R_ext/Utils.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>

namespace glue {

std::uint64_t as_seed(double seed) {
    if (!std::isfinite(seed) || seed < 0 || seed > 9007199254740992.0 || seed != std::floor(seed)) {
        Rcpp::stop("`seed` must be a whole number between 0 and 2^53, not %g", seed);
    }
    return static_cast<std::uint64_t>(seed);
}

namespace {
void check_interrupt_fn(void*) { R_CheckUserInterrupt(); }
bool interrupted() { return R_ToplevelExec(check_interrupt_fn, nullptr) == FALSE; }

// A worker's stop flag: the file whose appearance means that the caller was
// interrupted (set around each work unit; empty on the caller itself).
// Polled from the main thread only, at most every 100 ms.
std::string stop_file;
std::chrono::steady_clock::time_point stop_checked;

bool stop_requested() {
    if (stop_file.empty()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - stop_checked < std::chrono::milliseconds(100)) return false;
    stop_checked = now;
    struct stat st;
    return ::stat(stop_file.c_str(), &st) == 0;
}
}  // namespace

void set_stop_file(const std::string& path) {
    stop_file = path;
    stop_checked = std::chrono::steady_clock::time_point();
}

void check_stop() {
    static std::chrono::steady_clock::time_point last;
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(20)) return;
    last = now;
    if (interrupted() || stop_requested()) throw bulkcausal::Cancelled();
}

bulkcausal::PollFn make_poll(bool verbose, const std::string& what) {
    auto last = std::make_shared<int>(-1);
    const auto start = std::chrono::steady_clock::now();
    return [verbose, what, last, start](std::size_t done, std::size_t total) {
        if (interrupted() || stop_requested()) return false;
        // Work that ends within a second prints nothing.
        const bool slow = std::chrono::steady_clock::now() - start > std::chrono::seconds(1);
        if (verbose && total > 0 && (slow || *last >= 0)) {
            const int pct = static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total));
            if (pct / 5 != *last / 5) {
                REprintf("\r%s: %3d%% (%zu of %zu)", what.c_str(), pct, done, total);
                if (done >= total) REprintf("\n");
                *last = pct;
            }
        }
        return true;
    };
}

namespace {

bulkcausal::EdgeFun parse_fun(const std::string& f) {
    using bulkcausal::EdgeFun;
    if (f == "affine") return EdgeFun::Affine;
    if (f == "hill_act") return EdgeFun::HillAct;
    if (f == "hill_rep") return EdgeFun::HillRep;
    if (f == "sigmoid") return EdgeFun::Sigmoid;
    if (f == "tanh") return EdgeFun::Tanh;
    if (f == "quadratic") return EdgeFun::Quadratic;
    if (f == "cubic") return EdgeFun::Cubic;
    if (f == "sin") return EdgeFun::Sin;
    if (f == "exp") return EdgeFun::Exp;
    if (f == "relu") return EdgeFun::Relu;
    if (f == "custom") return EdgeFun::Custom;
    Rcpp::stop("unknown edge function '%s'", f);
}

bulkcausal::Noise parse_noise(const std::string& f) {
    using bulkcausal::Noise;
    if (f == "gaussian") return Noise::Gaussian;
    if (f == "uniform") return Noise::Uniform;
    if (f == "laplace") return Noise::Laplace;
    if (f == "gamma") return Noise::Gamma;
    if (f == "lognormal") return Noise::Lognormal;
    if (f == "t") return Noise::StudentT;
    Rcpp::stop("unknown noise family '%s'", f);
}

template <class T>
std::vector<T> to_vec(SEXP x) {
    return Rcpp::as<std::vector<T>>(x);
}

}  // namespace

bulkcausal::Model model_from_list(const Rcpp::List& m) {
    bulkcausal::Model model;
    model.p = Rcpp::as<int>(m["p"]);
    const auto from = to_vec<int>(m["from"]), to = to_vec<int>(m["to"]), custom = to_vec<int>(m["custom"]);
    const auto fun = to_vec<std::string>(m["fun"]);
    const auto weight = to_vec<double>(m["weight"]), K = to_vec<double>(m["K"]), n = to_vec<double>(m["n"]);
    for (std::size_t e = 0; e < from.size(); ++e) {
        bulkcausal::Edge edge;
        edge.from = from[e];
        edge.to = to[e];
        edge.fun = parse_fun(fun[e]);
        edge.weight = weight[e];
        edge.K = K[e];
        edge.n = n[e];
        edge.custom = custom[e];
        model.edges.push_back(edge);
    }
    model.intercept = to_vec<double>(m["intercept"]);
    for (const auto& f : to_vec<std::string>(m["noise"])) model.noise.push_back(parse_noise(f));
    model.noise_scale = to_vec<double>(m["noise_scale"]);
    model.noise_shape = to_vec<double>(m["noise_shape"]);
    model.context_sd = to_vec<double>(m["context_sd"]);
    const Rcpp::NumericMatrix tm = m["type_mean"];  // ntypes x p
    model.ntypes = tm.nrow();
    model.type_mean.resize(static_cast<std::size_t>(tm.nrow()) * static_cast<std::size_t>(tm.ncol()));
    for (int t = 0; t < tm.nrow(); ++t) {
        for (int v = 0; v < tm.ncol(); ++v) model.type_mean[static_cast<std::size_t>(t * tm.ncol() + v)] = tm(t, v);
    }
    model.type_prop = to_vec<double>(m["type_prop"]);
    model.type_alpha = Rcpp::as<double>(m["type_alpha"]);
    const std::string obs = Rcpp::as<std::string>(m["observation"]);
    model.observation = obs == "poisson" ? bulkcausal::Observation::Poisson
                        : obs == "nb"    ? bulkcausal::Observation::NegBin
                                         : bulkcausal::Observation::None;
    model.link = Rcpp::as<std::string>(m["link"]) == "exp" ? bulkcausal::Link::Exp : bulkcausal::Link::Softplus;
    model.library_size = Rcpp::as<double>(m["library_size"]);
    model.library_sdlog = Rcpp::as<double>(m["library_sdlog"]);
    model.nb_size = Rcpp::as<double>(m["nb_size"]);
    try {
        bulkcausal::prepare(model);
    } catch (const bulkcausal::CycleError&) {
        Rcpp::stop("the model's graph has a cycle");
    }
    return model;
}

bulkcausal::Groups groups_from_list(const Rcpp::List& groups) {
    bulkcausal::Groups g(static_cast<std::size_t>(groups.size()));
    for (R_xlen_t i = 0; i < groups.size(); ++i) {
        const Rcpp::IntegerVector cols = groups[i];
        auto& out = g[static_cast<std::size_t>(i)];
        out.reserve(static_cast<std::size_t>(cols.size()));
        for (int c : cols) out.push_back(c - 1);  // R is 1-based
    }
    return g;
}

bulkcausal::AggSpec agg_spec(const std::string& fun, double pseudo, bool na_rm) {
    bulkcausal::AggSpec spec;
    spec.fun = bulkcausal::parse_aggfun(fun);
    spec.pseudo = pseudo;
    spec.na_rm = na_rm;
    return spec;
}

void stop_value_error(const bulkcausal::ValueError& e, const std::string& fun, const Rcpp::RObject& rownames,
                      const Rcpp::RObject& colnames) {
    auto name = [](const Rcpp::RObject& names, long i, const char* kind) {
        std::ostringstream s;
        if (!names.isNULL() && i >= 0 && i < Rf_xlength(names)) {
            s << kind << " '" << Rcpp::as<std::string>(Rcpp::CharacterVector(names)[i]) << "'";
        } else {
            s << kind << " " << (i + 1);
        }
        return s.str();
    };
    std::ostringstream msg;
    msg << "aggregation '" << fun << "' cannot take the ";
    if (std::isnan(e.value)) {
        msg << "NA value";
    } else {
        // R's spelling of infinities
        msg << e.what() << " ";
        if (std::isinf(e.value)) {
            msg << (e.value > 0 ? "Inf" : "-Inf");
        } else {
            msg << e.value;
        }
    }
    msg << " of " << name(rownames, e.row, "row") << " in " << name(colnames, e.col, "column");
    if (std::isnan(e.value)) msg << "; remove it or set na.rm = TRUE";
    Rcpp::stop(msg.str());
}

void advise_huge_pages(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const std::uintptr_t page = 4096;
    const std::uintptr_t huge = std::uintptr_t(1) << 21;
    if (bytes < 4 * huge) return;
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(page - 1);
    if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)data;
    (void)bytes;
#endif
}

}  // namespace glue

// The stop flag of a worker's work units (see glue::set_stop_file).
// [[Rcpp::export(rng = false)]]
void set_stop_file_cpp(std::string path) { glue::set_stop_file(path); }
