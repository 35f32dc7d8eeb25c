// Drivers that run a Model over many samples: all cells kept
// (simulate_cells_matrix) or cells pooled as they are made (simulate_bulk).
// Both draw sample j's context from context_rng(seed, j) and its c-th chunk
// of cells from chunk_rng(seed, j, c), so the cells behind simulate_bulk are
// exactly those simulate_cells_matrix returns for the same seed.  A run may
// make samples first_sample, first_sample + 1, ... of a larger simulation
// (its j-th sample is then that simulation's sample first_sample + j), so
// that a simulation split over processes gives the same values.
#ifndef BULKCAUSAL_SIMULATE_HPP
#define BULKCAUSAL_SIMULATE_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bulkcausal/aggregate.hpp"
#include "bulkcausal/parallel.hpp"
#include "bulkcausal/scm.hpp"

namespace bulkcausal {

// Where simulated values go.  Pointers may be null for outputs not wanted.
struct SimOutput {
    // Per sample: p x nsamples context shifts, ntypes x nsamples proportions,
    // ntypes x nsamples realised cell-type counts.
    double* context_shift = nullptr;
    double* context_prop = nullptr;
    int* type_count = nullptr;
    // Per cell (p x ncells, column-major; cells of sample 0 first).  counts,
    // rate and library are only written with an observation model.
    double* latent = nullptr;
    double* counts = nullptr;
    double* rate = nullptr;  // link(latent): expected counts per unit library size
    int* celltype = nullptr;
    double* library = nullptr;
    // Per sample, aggregated (p x nsamples).
    double* bulk_latent = nullptr;
    double* bulk_counts = nullptr;
    double* bulk_rate = nullptr;  // the aggregate of the cells' rates
};

inline std::vector<SampleContext> draw_contexts(const Model& m, std::uint64_t seed, std::size_t nsamples,
                                               std::size_t first_sample = 0) {
    std::vector<SampleContext> ctx;
    ctx.reserve(nsamples);
    for (std::size_t j = 0; j < nsamples; ++j) {
        Rng rng = context_rng(seed, first_sample + j);
        ctx.push_back(draw_context(m, rng));
    }
    return ctx;
}

inline void write_contexts(const Model& m, const std::vector<SampleContext>& ctx, SimOutput& out) {
    const auto p = static_cast<std::size_t>(m.p);
    const auto nt = static_cast<std::size_t>(m.ntypes);
    for (std::size_t j = 0; j < ctx.size(); ++j) {
        if (out.context_shift) std::copy(ctx[j].shift.begin(), ctx[j].shift.end(), out.context_shift + j * p);
        if (out.context_prop) std::copy(ctx[j].prop.begin(), ctx[j].prop.end(), out.context_prop + j * nt);
    }
}

inline std::vector<std::size_t> cell_offsets(const std::vector<std::size_t>& cells_per_sample) {
    std::vector<std::size_t> off(cells_per_sample.size() + 1, 0);
    for (std::size_t j = 0; j < cells_per_sample.size(); ++j) off[j + 1] = off[j] + cells_per_sample[j];
    return off;
}

// All cells, written to out.latent (and out.counts, out.rate etc.).  Tasks are chunks
// of cells, so one large sample still spreads over threads.
inline void simulate_cells_matrix(const Model& m, const std::vector<std::size_t>& cells_per_sample, std::uint64_t seed,
                                  SimOutput& out, int nthreads = 1, const PollFn& poll = PollFn(),
                                  const CustomFn& custom = CustomFn(), std::size_t first_sample = 0) {
    const auto p = static_cast<std::size_t>(m.p);
    const auto ctx = draw_contexts(m, seed, cells_per_sample.size(), first_sample);
    write_contexts(m, ctx, out);
    const auto off = cell_offsets(cells_per_sample);
    struct Unit { std::size_t sample, chunk, first, k; };
    std::vector<Unit> units;
    for (std::size_t j = 0; j < cells_per_sample.size(); ++j) {
        for (std::size_t c = 0; c * cell_chunk < cells_per_sample[j]; ++c) {
            const std::size_t first = c * cell_chunk;
            units.push_back({j, c, off[j] + first, std::min(cell_chunk, cells_per_sample[j] - first)});
        }
    }
    std::vector<CellWorkspace> ws(static_cast<std::size_t>(std::max(nthreads, 1)));
    run_tasks(units.size(), nthreads, [&](std::size_t t, int w) {
        const Unit& u = units[t];
        Rng rng = chunk_rng(seed, first_sample + u.sample, u.chunk);
        simulate_cells(m, ctx[u.sample], u.k, rng, ws[static_cast<std::size_t>(w)], out.latent + u.first * p,
                       out.counts ? out.counts + u.first * p : nullptr,
                       out.rate ? out.rate + u.first * p : nullptr,
                       out.celltype ? out.celltype + u.first : nullptr,
                       out.library ? out.library + u.first : nullptr, custom);
    }, poll);
    if (out.type_count && m.ntypes > 0) {
        const auto nt = static_cast<std::size_t>(m.ntypes);
        std::fill(out.type_count, out.type_count + nt * cells_per_sample.size(), 0);
        for (std::size_t j = 0; j < cells_per_sample.size(); ++j) {
            for (std::size_t i = off[j]; i < off[j + 1] && out.celltype; ++i) {
                ++out.type_count[j * nt + static_cast<std::size_t>(out.celltype[i])];
            }
        }
    }
}

// Bulk samples: sample j pools cells_per_sample[j] cells with `spec`.  Cells
// are made one chunk at a time and fed to the accumulators, so memory does
// not grow with the number of cells unless out.latent asks to keep them.
inline void simulate_bulk(const Model& m, const std::vector<std::size_t>& cells_per_sample, std::uint64_t seed,
                          const AggSpec& spec, SimOutput& out, int nthreads = 1, const PollFn& poll = PollFn(),
                          const CustomFn& custom = CustomFn(), std::size_t first_sample = 0) {
    const auto p = static_cast<std::size_t>(m.p);
    const auto nt = static_cast<std::size_t>(m.ntypes);
    const auto ctx = draw_contexts(m, seed, cells_per_sample.size(), first_sample);
    write_contexts(m, ctx, out);
    const auto off = cell_offsets(cells_per_sample);
    const bool with_counts = m.observation != Observation::None;
    struct Scratch {
        CellWorkspace ws;
        std::vector<double> latent, counts, rate;
        std::vector<int> type;
    };
    std::vector<Scratch> scratch(static_cast<std::size_t>(std::max(nthreads, 1)));
    std::vector<Accumulator> acc_latent, acc_counts, acc_rate;
    for (std::size_t w = 0; w < scratch.size(); ++w) {
        acc_latent.emplace_back(p, spec);
        acc_counts.emplace_back(p, spec);
        acc_rate.emplace_back(p, spec);
    }
    // raised when the caller cancels: a sample of many cells stops between
    // chunks instead of running to its end
    std::atomic<bool> stop{false};
    run_tasks(cells_per_sample.size(), nthreads, [&](std::size_t j, int w) {
        const auto wu = static_cast<std::size_t>(w);
        Scratch& s = scratch[wu];
        Accumulator& al = acc_latent[wu];
        Accumulator& ac = acc_counts[wu];
        Accumulator& ar = acc_rate[wu];
        al.reset();
        ac.reset();
        ar.reset();
        std::vector<int> tcount(nt, 0);
        for (std::size_t c = 0; c * cell_chunk < cells_per_sample[j]; ++c) {
            if (stop.load(std::memory_order_relaxed)) return;
            const std::size_t first = c * cell_chunk;
            const std::size_t k = std::min(cell_chunk, cells_per_sample[j] - first);
            const std::size_t col0 = off[j] + first;
            double* lat = out.latent ? out.latent + col0 * p : (s.latent.resize(p * k), s.latent.data());
            double* cnt = nullptr;
            if (with_counts) cnt = out.counts ? out.counts + col0 * p : (s.counts.resize(p * k), s.counts.data());
            double* rte = nullptr;
            if (with_counts && (out.rate || out.bulk_rate)) {
                rte = out.rate ? out.rate + col0 * p : (s.rate.resize(p * k), s.rate.data());
            }
            s.type.resize(k);
            int* typ = out.celltype ? out.celltype + col0 : s.type.data();
            double* lib = out.library ? out.library + col0 : nullptr;
            Rng rng = chunk_rng(seed, first_sample + j, c);
            simulate_cells(m, ctx[j], k, rng, s.ws, lat, cnt, rte, typ, lib, custom);
            for (std::size_t i = 0; i < k; ++i) {
                try {
                    if (out.bulk_latent) al.add_dense(lat + i * p);
                    if (cnt && out.bulk_counts) ac.add_dense(cnt + i * p);
                    if (rte && out.bulk_rate) ar.add_dense(rte + i * p);
                } catch (ValueError& e) {
                    e.col = static_cast<long>(col0 + i);
                    throw;
                }
                if (nt > 0) ++tcount[static_cast<std::size_t>(typ[i])];
            }
        }
        if (out.bulk_latent) al.finish(out.bulk_latent + j * p);
        if (out.bulk_counts && with_counts) ac.finish(out.bulk_counts + j * p);
        if (out.bulk_rate && with_counts) ar.finish(out.bulk_rate + j * p);
        if (out.type_count) std::copy(tcount.begin(), tcount.end(), out.type_count + j * nt);
    }, poll, &stop);
    if (spec.fun == AggFun::Cpm) {
        if (out.bulk_latent) normalise_cpm(out.bulk_latent, p, cells_per_sample.size());
        if (out.bulk_counts && with_counts) normalise_cpm(out.bulk_counts, p, cells_per_sample.size());
        if (out.bulk_rate && with_counts) normalise_cpm(out.bulk_rate, p, cells_per_sample.size());
    }
}

}  // namespace bulkcausal

#endif
