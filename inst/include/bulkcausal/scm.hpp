// Cell-level gene-regulatory structural causal models: a DAG of genes, edge functions, noise, sample contexts.
//
// In cell i of bulk sample j, gene v is
//     x = b[v] + c[j,v] + m[t(i),v] + sum_{u -> v} f_uv(x_u) + e
// with a per-sample context shift c, a cell-type mean m (cell type t(i)
// drawn from the sample's proportions), additive edge functions f and noise e
// of mean 0 and standard deviation noise_scale[v].  An optional observation
// model draws counts ~ Poisson or NB with mean s_i * link(x).
#ifndef BULKCAUSAL_SCM_HPP
#define BULKCAUSAL_SCM_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "bulkcausal/dag.hpp"
#include "bulkcausal/rng.hpp"

namespace bulkcausal {

enum class EdgeFun { Affine, HillAct, HillRep, Sigmoid, Tanh, Quadratic, Cubic, Sin, Exp, Relu, Custom };
enum class Noise { Gaussian, Uniform, Laplace, Gamma, Lognormal, StudentT };
enum class Observation { None, Poisson, NegBin };
enum class Link { Softplus, Exp };

struct Edge {
    int from = 0;
    int to = 0;
    EdgeFun fun = EdgeFun::Affine;
    double weight = 1.0;
    double K = 0.0;  // location / half-saturation
    double n = 1.0;  // Hill coefficient / steepness / frequency
    int custom = -1; // index of the user function when fun == Custom
};

struct Model {
    int p = 0;
    std::vector<Edge> edges;
    std::vector<double> intercept;
    std::vector<Noise> noise;
    std::vector<double> noise_scale;
    std::vector<double> noise_shape;  // gamma shape, lognormal sdlog
    std::vector<double> context_sd;   // sd of the per-sample shift of each gene
    int ntypes = 0;
    std::vector<double> type_mean;    // ntypes x p, row-major: type_mean[t * p + v]
    std::vector<double> type_prop;    // base proportions, length ntypes, sum 1
    double type_alpha = 0.0;          // Dirichlet concentration; <= 0 or Inf: fixed proportions
    Observation observation = Observation::None;
    Link link = Link::Softplus;
    double library_size = 1.0;        // mean library size factor
    double library_sdlog = 0.0;       // sdlog of the library size factor
    double nb_size = 10.0;

    // Derived by prepare().
    std::vector<int> order;
    std::vector<std::vector<int>> in_edges;  // edge indices into `edges`, per target gene
};

// The value of one edge function at x.
inline double edge_value(const Edge& e, double x) {
    switch (e.fun) {
        case EdgeFun::Affine: return e.weight * x;
        case EdgeFun::HillAct: {
            const double xp = x > 0.0 ? std::pow(x, e.n) : 0.0;
            return std::isinf(xp) ? e.weight : e.weight * xp / (std::pow(e.K, e.n) + xp);
        }
        case EdgeFun::HillRep: {
            const double xp = x > 0.0 ? std::pow(x, e.n) : 0.0;
            const double kn = std::pow(e.K, e.n);
            return std::isinf(xp) ? 0.0 : e.weight * kn / (kn + xp);
        }
        case EdgeFun::Sigmoid: return e.weight / (1.0 + std::exp(-e.n * (x - e.K)));
        case EdgeFun::Tanh: return e.weight * std::tanh(e.n * (x - e.K));
        case EdgeFun::Quadratic: { const double d = x - e.K; return e.weight * d * d; }
        case EdgeFun::Cubic: { const double d = x - e.K; return e.weight * d * d * d; }
        case EdgeFun::Sin: return e.weight * std::sin(e.n * (x - e.K));
        case EdgeFun::Exp: return e.weight * std::exp(e.n * (x - e.K));
        case EdgeFun::Relu: return e.weight * std::max(x - e.K, 0.0);
        case EdgeFun::Custom: break;
    }
    throw std::logic_error("edge_value called on a custom edge");
}

// x^n for x > 0, with a multiplication chain when n is a small whole number
// (the common Hill coefficients), which is several times faster than pow.
inline double hill_power(double x, double n, int n_int) {
    if (n_int > 0) {
        double r = x;
        for (int i = 1; i < n_int; ++i) r *= x;
        return r;
    }
    return std::pow(x, n);
}

// Adds f_e(x[i]) to out[i] for i < k.
inline void add_edge(const Edge& e, const double* x, double* out, std::size_t k) {
    const double w = e.weight;
    switch (e.fun) {
        case EdgeFun::Affine:
            for (std::size_t i = 0; i < k; ++i) out[i] += w * x[i];
            return;
        case EdgeFun::HillAct:
        case EdgeFun::HillRep: {
            const int n_int = (e.n == std::floor(e.n) && e.n >= 1.0 && e.n <= 8.0) ? static_cast<int>(e.n) : 0;
            const double kn = hill_power(e.K, e.n, n_int);
            const bool act = e.fun == EdgeFun::HillAct;
            for (std::size_t i = 0; i < k; ++i) {
                const double xp = x[i] > 0.0 ? hill_power(x[i], e.n, n_int) : 0.0;
                // x^n beyond the double range: the limit (w, or 0 when repressing)
                out[i] += std::isinf(xp) ? (act ? w : 0.0) : w * (act ? xp : kn) / (kn + xp);
            }
            return;
        }
        default:
            for (std::size_t i = 0; i < k; ++i) out[i] += edge_value(e, x[i]);
            return;
    }
}

inline std::string edge_label(const Edge& e) { return std::to_string(e.from + 1) + " -> " + std::to_string(e.to + 1); }

// Checks the model and derives the topological order and parent lists.
// Throws CycleError or std::invalid_argument with a message naming the part.
inline void prepare(Model& m) {
    const auto p = static_cast<std::size_t>(m.p);
    if (m.p < 1) throw std::invalid_argument("the model has no genes");
    auto check_len = [&](std::size_t len, std::size_t want, const char* what) {
        if (len != want) throw std::invalid_argument(std::string(what) + " has the wrong length");
    };
    check_len(m.intercept.size(), p, "intercept");
    check_len(m.noise.size(), p, "noise");
    check_len(m.noise_scale.size(), p, "noise.scale");
    check_len(m.noise_shape.size(), p, "noise.shape");
    check_len(m.context_sd.size(), p, "context.sd");
    check_len(m.type_mean.size(), static_cast<std::size_t>(m.ntypes) * p, "cell-type means");
    check_len(m.type_prop.size(), static_cast<std::size_t>(m.ntypes), "cell-type proportions");
    std::vector<int> from, to;
    for (const Edge& e : m.edges) {
        from.push_back(e.from);
        to.push_back(e.to);
        if (!std::isfinite(e.weight) || !std::isfinite(e.K) || !std::isfinite(e.n)) {
            throw std::invalid_argument("edge " + edge_label(e) + " has a non-finite parameter");
        }
        if ((e.fun == EdgeFun::HillAct || e.fun == EdgeFun::HillRep) && (e.K <= 0.0 || e.n <= 0.0)) {
            throw std::invalid_argument("Hill edge " + edge_label(e) + " needs K > 0 and n > 0");
        }
    }
    m.order = topological_order(m.p, from, to);
    m.in_edges.assign(p, {});
    for (std::size_t i = 0; i < m.edges.size(); ++i) {
        m.in_edges[static_cast<std::size_t>(m.edges[i].to)].push_back(static_cast<int>(i));
    }
    for (std::size_t v = 0; v < p; ++v) {
        if (!(m.noise_scale[v] >= 0.0) || !std::isfinite(m.noise_scale[v])) throw std::invalid_argument("noise.scale must be finite and >= 0");
        if (!(m.context_sd[v] >= 0.0) || !std::isfinite(m.context_sd[v])) throw std::invalid_argument("context.sd must be finite and >= 0");
        if (!(m.noise_shape[v] > 0.0) || !std::isfinite(m.noise_shape[v])) throw std::invalid_argument("noise.shape must be finite and > 0");
    }
}

// Standardised noise: mean 0, variance 1, for the given family and shape.
struct NoiseSampler {
    Noise family;
    double shape;
    double a = 0.0, b = 0.0;  // family-specific constants
    NoiseSampler(Noise f, double s) : family(f), shape(s) {
        if (f == Noise::Lognormal) {
            const double s2 = shape * shape;
            a = std::exp(0.5 * s2);                          // mean of exp(sZ)
            b = 1.0 / std::sqrt((std::exp(s2) - 1.0) * std::exp(s2));  // 1 / its sd
        } else if (f == Noise::Gamma) {
            a = shape;
            b = 1.0 / std::sqrt(shape);
        } else if (f == Noise::StudentT) {
            a = 0.5 * shape;                         // chi-square(df) = 2 Gamma(df / 2)
            b = std::sqrt((shape - 2.0) / shape);    // 1 / sd of t(df), df > 2
        }
    }
    double draw(Rng& rng) const {
        switch (family) {
            case Noise::Gaussian: return rng.normal();
            case Noise::Uniform: return 1.7320508075688772 * (2.0 * rng.uniform() - 1.0);
            case Noise::Laplace: {
                const double e = rng.exponential() * 0.70710678118654752;
                return (rng.next() >> 63) ? e : -e;
            }
            case Noise::Gamma: return (rng.gamma(shape) - a) * b;
            case Noise::Lognormal: return (std::exp(shape * rng.normal()) - a) * b;
            case Noise::StudentT: {
                const double z = rng.normal();
                return b * z / std::sqrt(2.0 * rng.gamma(a) / shape);
            }
        }
        return 0.0;
    }
};

// One bulk sample's context: the shift of each gene and the cell-type
// proportions.
struct SampleContext {
    std::vector<double> shift;  // length p
    std::vector<double> prop;   // length ntypes
};

inline SampleContext draw_context(const Model& m, Rng& rng) {
    SampleContext ctx;
    ctx.shift.resize(static_cast<std::size_t>(m.p));
    for (std::size_t v = 0; v < ctx.shift.size(); ++v) {
        ctx.shift[v] = m.context_sd[v] > 0.0 ? m.context_sd[v] * rng.normal() : 0.0;
    }
    ctx.prop = m.type_prop;
    if (m.ntypes > 1 && m.type_alpha > 0.0 && std::isfinite(m.type_alpha)) {
        double total = 0.0;
        for (std::size_t t = 0; t < ctx.prop.size(); ++t) {
            const double shape = m.type_alpha * m.type_prop[t];
            ctx.prop[t] = shape > 0.0 ? rng.gamma(shape) : 0.0;
            total += ctx.prop[t];
        }
        if (total > 0.0) {
            for (double& q : ctx.prop) q /= total;
        } else {
            ctx.prop = m.type_prop;
        }
    }
    return ctx;
}

inline double apply_link(Link link, double x) {
    if (link == Link::Exp) return std::exp(x);
    // softplus, written to stay finite for large |x|
    return x > 30.0 ? x : std::log1p(std::exp(x));
}

// Applies user-supplied edge functions: fx[i] = f_custom(x[i]) for i < k.
using CustomFn = std::function<void(int custom, const double* x, double* fx, std::size_t k)>;

// Reusable per-worker memory for simulate_cells.
struct CellWorkspace {
    std::vector<double> genes;  // p x k, gene-major: genes[v * k + i]
    std::vector<double> tmp;
    std::vector<int> type;
    std::vector<double> lib;
};

// Simulates k cells of one sample from the given stream.  Outputs are
// column-major p x k (one column per cell): latent always; counts and rate
// (link(latent), the expected counts per unit library size) when the model
// has an observation model and the pointer is not null.  `celltype`
// (length k, may be null) receives 0-based cell types, `library` (may be
// null) the library size factors.  The rate draws nothing from `rng`, so
// asking for it leaves every other output unchanged.
inline void simulate_cells(const Model& m, const SampleContext& ctx, std::size_t k, Rng& rng,
                           CellWorkspace& ws, double* latent, double* counts, double* rate, int* celltype,
                           double* library, const CustomFn& custom = CustomFn()) {
    const auto p = static_cast<std::size_t>(m.p);
    ws.genes.resize(p * k);
    ws.tmp.resize(k);
    ws.type.assign(k, 0);
    if (m.ntypes > 1) {
        for (std::size_t i = 0; i < k; ++i) {
            double u = rng.uniform();
            int t = 0;
            while (t < m.ntypes - 1 && u >= ctx.prop[static_cast<std::size_t>(t)]) {
                u -= ctx.prop[static_cast<std::size_t>(t)];
                ++t;
            }
            ws.type[i] = t;
        }
    }
    for (int v : m.order) {
        const auto vu = static_cast<std::size_t>(v);
        double* xv = ws.genes.data() + vu * k;
        const double base = m.intercept[vu] + ctx.shift[vu];
        const NoiseSampler noise(m.noise[vu], m.noise_shape[vu]);
        const double sd = m.noise_scale[vu];
        if (sd > 0.0) {
            for (std::size_t i = 0; i < k; ++i) xv[i] = base + sd * noise.draw(rng);
        } else {
            std::fill(xv, xv + k, base);
        }
        if (m.ntypes > 0) {
            for (std::size_t i = 0; i < k; ++i) xv[i] += m.type_mean[static_cast<std::size_t>(ws.type[i]) * p + vu];
        }
        for (int ei : m.in_edges[vu]) {
            const Edge& e = m.edges[static_cast<std::size_t>(ei)];
            const double* xu = ws.genes.data() + static_cast<std::size_t>(e.from) * k;
            if (e.fun == EdgeFun::Custom) {
                if (!custom) throw std::invalid_argument("edge " + edge_label(e) + " has a user function but none was supplied");
                custom(e.custom, xu, ws.tmp.data(), k);
                for (std::size_t i = 0; i < k; ++i) xv[i] += ws.tmp[i];
            } else {
                add_edge(e, xu, xv, k);
            }
        }
    }
    for (std::size_t v = 0; v < p; ++v) {
        const double* xv = ws.genes.data() + v * k;
        for (std::size_t i = 0; i < k; ++i) {
            if (!std::isfinite(xv[i])) {
                throw std::domain_error("gene " + std::to_string(v + 1) + " reached a non-finite value (" +
                                        std::to_string(xv[i]) + "); its edge functions overflow");
            }
        }
    }
    for (std::size_t i = 0; i < k; ++i) {
        double* col = latent + i * p;
        for (std::size_t v = 0; v < p; ++v) col[v] = ws.genes[v * k + i];
    }
    if (celltype != nullptr) std::copy(ws.type.begin(), ws.type.end(), celltype);
    if (m.observation == Observation::None) return;

    ws.lib.resize(k);
    for (std::size_t i = 0; i < k; ++i) {
        const double sdlog = m.library_sdlog;
        ws.lib[i] = sdlog > 0.0 ? m.library_size * std::exp(sdlog * rng.normal() - 0.5 * sdlog * sdlog) : m.library_size;
    }
    if (library != nullptr) std::copy(ws.lib.begin(), ws.lib.end(), library);
    if (counts == nullptr && rate == nullptr) return;
    for (std::size_t i = 0; i < k; ++i) {
        const double* col = latent + i * p;
        for (std::size_t v = 0; v < p; ++v) {
            const double r = apply_link(m.link, col[v]);
            const double mu = ws.lib[i] * r;
            if (!std::isfinite(mu)) {
                throw std::domain_error("count mean is not finite for gene " + std::to_string(v + 1) +
                                        " (latent value " + std::to_string(col[v]) + ")");
            }
            if (rate != nullptr) rate[i * p + v] = r;
            if (counts != nullptr) {
                counts[i * p + v] = m.observation == Observation::Poisson ? rng.poisson(mu) : rng.negbin(mu, m.nb_size);
            }
        }
    }
}

// Cells are simulated in chunks of this many; each chunk has its own stream,
// so results do not depend on the number of threads.
constexpr std::size_t cell_chunk = 1024;

// Stream ids: the context of sample j comes from (seed, j, 0) and cell chunk
// c of sample j from (seed, j, c + 1).
inline Rng context_rng(std::uint64_t seed, std::size_t sample) { return Rng(seed, sample, 0); }
inline Rng chunk_rng(std::uint64_t seed, std::size_t sample, std::size_t chunk) { return Rng(seed, sample, chunk + 1); }

}  // namespace bulkcausal

#endif
