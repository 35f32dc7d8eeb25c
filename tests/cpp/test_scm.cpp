#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>
#include <utility>

#include "bulkcausal/simulate.hpp"
#include "helpers.hpp"

using namespace bulkcausal;

namespace {

Model base_model(int p) {
    Model m;
    m.p = p;
    m.intercept.assign(static_cast<std::size_t>(p), 0.0);
    m.noise.assign(static_cast<std::size_t>(p), Noise::Gaussian);
    m.noise_scale.assign(static_cast<std::size_t>(p), 1.0);
    m.noise_shape.assign(static_cast<std::size_t>(p), 2.0);
    m.context_sd.assign(static_cast<std::size_t>(p), 0.0);
    return m;
}

Edge edge(int from, int to, EdgeFun f, double w, double K = 0.0, double n = 1.0) {
    Edge e;
    e.from = from;
    e.to = to;
    e.fun = f;
    e.weight = w;
    e.K = K;
    e.n = n;
    return e;
}

std::vector<double> row(const std::vector<double>& x, std::size_t p, std::size_t r) {
    std::vector<double> out;
    for (std::size_t i = r; i < x.size(); i += p) out.push_back(x[i]);
    return out;
}

// The latent values of n cells of a one-gene model (prepared here), one sample.
std::vector<double> one_gene_cells(Model& m, std::size_t n, std::uint64_t seed) {
    prepare(m);
    std::vector<double> x(n);
    SimOutput out;
    out.latent = x.data();
    simulate_cells_matrix(m, {n}, seed, out, 2);
    return x;
}

}  // namespace

TEST_CASE("each noise family has mean 0 and the requested standard deviation", "[scm]") {
    for (Noise f : {Noise::Gaussian, Noise::Uniform, Noise::Laplace, Noise::Gamma, Noise::Lognormal, Noise::StudentT}) {
        Model m = base_model(1);
        m.noise[0] = f;
        m.noise_scale[0] = 2.0;
        // (t with 9 degrees of freedom: its sample variance needs a finite 8th moment for the SE)
        m.noise_shape[0] = f == Noise::Lognormal ? 0.5 : f == Noise::StudentT ? 9.0 : 3.0;
        m.intercept[0] = 1.5;
        const std::vector<double> x = one_gene_cells(m, 400000, 99);
        const auto mom = moments(x);
        INFO("family " << static_cast<int>(f));
        CHECK(std::fabs(mom.mean - 1.5) < 5 * mom.se_mean());
        CHECK(std::fabs(mom.var - 4.0) < 5 * mom.se_var());
    }
}

TEST_CASE("t noise with 3 degrees of freedom has t's tail probabilities, scaled to sd 1", "[scm]") {
    // P(|t3| > 3.182446) = 0.05 and P(|t3| > 5.840909) = 0.01 (R's qt); the
    // noise is t3 / sqrt(3), so the thresholds are divided by sqrt(3).
    Model m = base_model(1);
    m.noise[0] = Noise::StudentT;
    m.noise_shape[0] = 3.0;
    const std::size_t n = 400000;
    const std::vector<double> x = one_gene_cells(m, n, 17);
    for (const auto& tail : {std::pair<double, double>{3.182446, 0.05}, std::pair<double, double>{5.840909, 0.01}}) {
        const double q = tail.first / std::sqrt(3.0);
        double hits = 0.0;
        for (double v : x) hits += std::fabs(v) > q ? 1.0 : 0.0;
        const double se = std::sqrt(tail.second * (1.0 - tail.second) / static_cast<double>(n));
        CHECK(std::fabs(hits / static_cast<double>(n) - tail.second) < 4.0 * se);
    }
}

TEST_CASE("a linear-Gaussian chain has the closed-form covariance", "[scm]") {
    // X -> Y -> Z with weights 2 and -0.5, unit noise: var(Y) = 4 + 1,
    // var(Z) = 0.25 * 5 + 1, cov(X, Z) = -1.
    Model m = base_model(3);
    m.edges = {edge(0, 1, EdgeFun::Affine, 2.0), edge(1, 2, EdgeFun::Affine, -0.5)};
    prepare(m);
    const std::size_t n = 300000;
    std::vector<double> x(3 * n);
    SimOutput out;
    out.latent = x.data();
    simulate_cells_matrix(m, {n / 2, n / 2}, 5, out, 2);
    const auto mx = moments(row(x, 3, 0)), my = moments(row(x, 3, 1)), mz = moments(row(x, 3, 2));
    CHECK(std::fabs(my.var - 5.0) < 5 * my.se_var());
    CHECK(std::fabs(mz.var - 2.25) < 5 * mz.se_var());
    double cxz = 0;
    for (std::size_t i = 0; i < n; ++i) cxz += (x[3 * i] - mx.mean) * (x[3 * i + 2] - mz.mean);
    cxz /= static_cast<double>(n - 1);
    // sd of the product X * Z is sqrt(var X var Z + cov^2) for jointly Gaussian
    CHECK(std::fabs(cxz + 1.0) < 5 * std::sqrt((2.25 + 1.0) / n));
}

TEST_CASE("edge functions evaluate to their formulas", "[scm]") {
    const double x = 1.7;
    CHECK(edge_value(edge(0, 1, EdgeFun::HillAct, 2.0, 1.2, 3.0), x) == Approx(2 * std::pow(x, 3) / (std::pow(1.2, 3) + std::pow(x, 3))));
    CHECK(edge_value(edge(0, 1, EdgeFun::HillRep, 2.0, 1.2, 2.5), x) == Approx(2 * std::pow(1.2, 2.5) / (std::pow(1.2, 2.5) + std::pow(x, 2.5))));
    CHECK(edge_value(edge(0, 1, EdgeFun::HillAct, 2.0, 1.2, 3.0), -1.0) == 0.0);
    CHECK(edge_value(edge(0, 1, EdgeFun::Sigmoid, 3.0, 1.0, 2.0), x) == Approx(3 / (1 + std::exp(-2 * (x - 1)))));
    CHECK(edge_value(edge(0, 1, EdgeFun::Quadratic, 0.5, 1.0), x) == Approx(0.5 * 0.49));
    CHECK(edge_value(edge(0, 1, EdgeFun::Sin, 1.0, 0.0, 2.0), x) == Approx(std::sin(2 * x)));
    CHECK(edge_value(edge(0, 1, EdgeFun::Relu, 1.0, 2.0), x) == 0.0);
    // The vectorised Hill path (integer n) agrees with the scalar one.
    const Edge h = edge(0, 1, EdgeFun::HillRep, 1.5, 0.8, 4.0);
    std::vector<double> xs{-1.0, 0.0, 0.3, 0.8, 2.0, 10.0}, acc(xs.size(), 0.0);
    add_edge(h, xs.data(), acc.data(), xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) CHECK(acc[i] == Approx(edge_value(h, xs[i])).epsilon(1e-14));
}

TEST_CASE("Hill functions take their limits where x^n leaves the double range", "[scm]") {
    const double inf = std::numeric_limits<double>::infinity();
    for (double n : {1.0, 4.0, 2.5}) {
        const Edge act = edge(0, 1, EdgeFun::HillAct, 2.0, 1.2, n), rep = edge(0, 1, EdgeFun::HillRep, 2.0, 1.2, n);
        CHECK(edge_value(act, inf) == 2.0);
        CHECK(edge_value(rep, inf) == 0.0);
        CHECK(edge_value(act, 1e300) == 2.0);
        CHECK(edge_value(rep, 1e300) == Approx(2.0 * std::pow(1.2 / 1e300, n)).margin(1e-300));
        std::vector<double> xs{inf, 1e300, 1.0}, a(3, 0.0), r(3, 0.0);
        add_edge(act, xs.data(), a.data(), 3);
        add_edge(rep, xs.data(), r.data(), 3);
        CHECK(a[0] == 2.0);
        CHECK(a[1] == 2.0);
        CHECK(r[0] == 0.0);
        CHECK(r[1] == Approx(0.0).margin(1e-200));
        CHECK(a[2] == Approx(edge_value(act, 1.0)).epsilon(1e-14));
    }
}

TEST_CASE("a cyclic model is rejected by prepare", "[scm]") {
    Model m = base_model(2);
    m.edges = {edge(0, 1, EdgeFun::Affine, 1.0), edge(1, 0, EdgeFun::Affine, 1.0)};
    CHECK_THROWS_AS(prepare(m), CycleError);
    Model h = base_model(2);
    h.edges = {edge(0, 1, EdgeFun::HillAct, 1.0, -1.0, 2.0)};
    CHECK_THROWS_AS(prepare(h), std::invalid_argument);
}

TEST_CASE("streamed bulk samples equal the aggregate of the kept cells, on any number of threads", "[simulate]") {
    Model m = base_model(4);
    m.intercept = {3, 1, 1, 2};
    m.edges = {edge(0, 1, EdgeFun::HillAct, 2.0, 2.0, 2.0), edge(1, 2, EdgeFun::Affine, 0.7),
               edge(0, 3, EdgeFun::Sin, 1.0, 0.0, 1.5)};
    m.context_sd = {1.0, 0.0, 0.0, 0.5};
    m.ntypes = 2;
    m.type_mean = {0, 0, 0, 0, 1, 0, 0, 0};
    m.type_prop = {0.3, 0.7};
    m.type_alpha = 5.0;
    m.observation = Observation::Poisson;
    m.library_size = 5.0;
    m.library_sdlog = 0.2;
    prepare(m);
    // One sample spans several chunks.
    const std::vector<std::size_t> cps{3000, 7, 1025, 1};
    std::size_t ncells = 0;
    for (auto c : cps) ncells += c;
    std::vector<double> latent(4 * ncells), counts(4 * ncells);
    std::vector<int> types(ncells);
    SimOutput cells;
    cells.latent = latent.data();
    cells.counts = counts.data();
    cells.celltype = types.data();
    simulate_cells_matrix(m, cps, 2024, cells, 1);

    std::vector<int> ids;
    for (std::size_t j = 0; j < cps.size(); ++j) ids.insert(ids.end(), cps[j], static_cast<int>(j));
    const auto groups = groups_from_ids(ids, cps.size());
    for (AggFun f : {AggFun::Mean, AggFun::Median, AggFun::Cpm}) {
        AggSpec spec;
        spec.fun = f;
        std::vector<double> ref_counts(4 * cps.size());
        aggregate_dense(counts.data(), 4, ncells, groups, spec, ref_counts.data());
        for (int threads : {1, 2}) {
            std::vector<double> bulk_counts(4 * cps.size()), kept(4 * ncells);
            SimOutput out;
            out.bulk_counts = bulk_counts.data();
            if (threads == 2) out.latent = kept.data();
            simulate_bulk(m, cps, 2024, spec, out, threads);
            CHECK(bulk_counts == ref_counts);
            if (threads == 2) CHECK(kept == latent);
        }
    }
    // and the 2-thread cells are the 1-thread cells
    std::vector<double> latent2(4 * ncells);
    SimOutput cells2;
    cells2.latent = latent2.data();
    simulate_cells_matrix(m, cps, 2024, cells2, 2);
    CHECK(latent2 == latent);
}

TEST_CASE("the rate is link(latent) for both links, and asking for it changes no other output", "[simulate]") {
    for (Link link : {Link::Softplus, Link::Exp}) {
        Model m = base_model(3);
        // gene 3 sits above 30, where softplus switches to the identity
        m.intercept = {0.5, -1.0, link == Link::Softplus ? 35.0 : 2.0};
        m.edges = {edge(0, 1, EdgeFun::HillAct, 2.0, 1.0, 2.0), edge(1, 2, EdgeFun::Affine, -0.5)};
        m.observation = Observation::NegBin;
        m.link = link;
        m.library_size = 3.0;
        m.library_sdlog = 0.4;
        prepare(m);
        const std::vector<std::size_t> cps{1500, 3};
        const std::size_t n = 3 * (cps[0] + cps[1]);
        std::vector<double> lat0(n), cnt0(n), lib0(n / 3), lat(n), cnt(n), lib(n / 3), rate(n);
        SimOutput without;
        without.latent = lat0.data();
        without.counts = cnt0.data();
        without.library = lib0.data();
        simulate_cells_matrix(m, cps, 404, without, 1);
        SimOutput with;
        with.latent = lat.data();
        with.counts = cnt.data();
        with.library = lib.data();
        with.rate = rate.data();
        simulate_cells_matrix(m, cps, 404, with, 2);
        CHECK(lat == lat0);
        CHECK(cnt == cnt0);
        CHECK(lib == lib0);
        INFO("link " << static_cast<int>(link));
        double worst = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double ref = link == Link::Exp ? std::exp(lat[i]) : std::log(1.0 + std::exp(lat[i]));
            worst = std::max(worst, std::fabs(rate[i] - ref) / ref);
        }
        CHECK(worst < 1e-13);
    }
}

TEST_CASE("the streamed bulk rate is the aggregate of the kept cells' rates, on any number of threads", "[simulate]") {
    Model m = base_model(3);
    m.intercept = {1, 0, -1};
    m.edges = {edge(0, 1, EdgeFun::Sin, 1.5, 0.0, 2.0), edge(1, 2, EdgeFun::Affine, 0.8)};
    m.context_sd = {1.0, 0.0, 0.3};
    m.observation = Observation::Poisson;
    m.library_size = 2.0;
    m.library_sdlog = 0.3;
    prepare(m);
    const std::vector<std::size_t> cps{2100, 5, 1024, 1};
    std::size_t ncells = 0;
    for (auto c : cps) ncells += c;
    std::vector<double> latent(3 * ncells), counts(3 * ncells), rate(3 * ncells);
    SimOutput cells;
    cells.latent = latent.data();
    cells.counts = counts.data();
    cells.rate = rate.data();
    simulate_cells_matrix(m, cps, 7, cells, 1);

    std::vector<int> ids;
    for (std::size_t j = 0; j < cps.size(); ++j) ids.insert(ids.end(), cps[j], static_cast<int>(j));
    const auto groups = groups_from_ids(ids, cps.size());
    for (AggFun f : {AggFun::Sum, AggFun::Mean, AggFun::Median, AggFun::Cpm}) {
        AggSpec spec;
        spec.fun = f;
        std::vector<double> ref_rate(3 * cps.size()), ref_counts(3 * cps.size());
        aggregate_dense(rate.data(), 3, ncells, groups, spec, ref_rate.data());
        aggregate_dense(counts.data(), 3, ncells, groups, spec, ref_counts.data());
        for (int threads : {1, 2}) {
            INFO("aggregation " << static_cast<int>(f) << ", threads " << threads);
            std::vector<double> bulk_rate(3 * cps.size()), bulk_counts(3 * cps.size()), kept(3 * ncells);
            SimOutput out;
            out.bulk_rate = bulk_rate.data();
            out.bulk_counts = bulk_counts.data();
            if (threads == 2) out.rate = kept.data();
            simulate_bulk(m, cps, 7, spec, out, threads);
            CHECK(bulk_rate == ref_rate);
            CHECK(bulk_counts == ref_counts);
            if (threads == 2) CHECK(kept == rate);
        }
    }
}

TEST_CASE("Poisson and NB counts have the mean and variance of the observation model", "[simulate]") {
    for (Observation obs : {Observation::Poisson, Observation::NegBin}) {
        Model m = base_model(1);
        m.noise_scale[0] = 0.0;  // latent fixed at the intercept
        m.intercept[0] = 1.2;
        m.observation = obs;
        m.library_size = 4.0;
        m.nb_size = 3.0;
        prepare(m);
        const std::size_t n = 500000;
        std::vector<double> lat(n), cnt(n);
        SimOutput out;
        out.latent = lat.data();
        out.counts = cnt.data();
        simulate_cells_matrix(m, {n}, 77, out, 2);
        const double mu = 4.0 * std::log1p(std::exp(1.2));
        const double var = obs == Observation::Poisson ? mu : mu + mu * mu / 3.0;
        const auto mom = moments(cnt);
        CHECK(std::fabs(mom.mean - mu) < 5 * mom.se_mean());
        CHECK(std::fabs(mom.var - var) < 5 * mom.se_var());
    }
}

TEST_CASE("overflowing edge functions raise an error instead of returning Inf", "[simulate]") {
    Model m = base_model(2);
    m.intercept = {800, 0};
    m.edges = {edge(0, 1, EdgeFun::Exp, 1.0, 0.0, 1.0)};
    prepare(m);
    std::vector<double> x(2 * 10);
    SimOutput out;
    out.latent = x.data();
    CHECK_THROWS_AS(simulate_cells_matrix(m, {10}, 1, out, 1), std::domain_error);
}
