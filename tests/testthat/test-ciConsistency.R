test_that("enumerated d-separations agree with pcalg::dsep on random DAGs", {
    skip_if_not_installed("pcalg")
    skip_if_not_installed("graph")
    for (seed in 1:6) {
        model <- randomGRN(7, prob = 0.35, seed = seed)
        e <- as.data.frame(edgeTable(model))
        genes <- model@genes
        adj <- matrix(0, 7, 7, dimnames = list(genes, genes))
        adj[cbind(match(e$from, genes), match(e$to, genes))] <- 1
        g <- methods::as(adj, "graphNEL")
        st <- bulkcausal:::dsep_statements_cpp(7L, match(e$from, genes), match(e$to, genes), 2L, 1e6)
        expect_length(st$x, 21 * (1 + 5 + 10))
        ref <- vapply(seq_along(st$x), function(i) {
            # (dsep warns that a graph with several components is searched per component)
            suppressWarnings(pcalg::dsep(genes[st$x[i]], genes[st$y[i]], genes[st$z[[i]]], g))
        }, logical(1))
        expect_identical(st$separated, ref)
    }
})

test_that("ciConsistency reports both levels and the truth", {
    model <- affine_chain(context.sd = c(X = 1))
    cells <- simulateCells(model, ncells = 4000, nsamples = 200, seed = 1, verbose = FALSE)
    bulk <- aggregateCells(cells, cells$sample, aggregation = "mean", assay.type = "latent")
    res <- ciConsistency(cells, bulk, assay.type = "latent")
    expect_identical(nrow(res), 3L * 2L)
    key <- paste(res$x, res$y, res$z)
    expect_identical(res$separated[key == "X Z Y"], TRUE)
    expect_identical(res$separated[key == "X Z "], FALSE)
    expect_identical(res$separated[key == "X Y Z"], FALSE)
    # the linear chain: X _||_ Z | Y holds at both levels, X and Z are dependent
    expect_true(res$indep.cells[key == "X Z Y"])
    expect_false(res$indep.bulk[key == "X Z "])
    expect_equal(res$p.cells[key == "X Z Y"], ciTest("X", "Z", "Y", data = cells, assay.type = "latent")$p.value)
    # given statements
    one <- ciConsistency(cells, bulk, statements = data.frame(x = "X", y = "Z", z = "Y"), assay.type = "latent")
    expect_identical(as.data.frame(one), as.data.frame(res[key == "X Z Y", ]), ignore_attr = TRUE)
})

test_that("bad input gets clear errors", {
    model <- affine_chain()
    cells <- simulateCells(model, ncells = 300, nsamples = 10, seed = 1, verbose = FALSE)
    bulk <- aggregateCells(cells, cells$sample, aggregation = "mean", assay.type = "latent")
    expect_error(ciConsistency(cells, bulk, statements = data.frame(x = "X", y = "Q", z = ""),
        assay.type = "latent"), "`statements` names gene 'Q', which is not in rownames")
    expect_error(ciConsistency(cells, bulk, statements = data.frame(x = "X", y = "Z", z = "X"),
        assay.type = "latent"), "statement 1 conditions on x or y")
    expect_error(ciConsistency(cells, bulk, graph = data.frame(from = c("X", "Y", "Z"), to = c("Y", "Z", "X")),
        assay.type = "latent"), "`graph` has a cycle: (X -> Y -> Z -> X|Y -> Z -> X -> Y|Z -> X -> Y -> Z)")
    expect_error(ciConsistency(cells, bulk, max.cond = 1, limit = 5, assay.type = "latent"),
        "3 genes and conditioning sets up to size 1 give 6 statements, more than `limit` = 5")
    expect_error(ciConsistency(cells, bulk[1:2, ], assay.type = "latent"), "must have the same genes")
    expect_error(ciConsistency(cells, bulk[, 1:3], statements = data.frame(x = "X", y = "Z", z = "Y"),
        assay.type = "latent"), "`data` has 3 observations")
})

test_that("the spline test gives each statement the p-value ciTest gives it, at both levels", {
    model <- quadratic_uniform_chain()
    sim <- simulateBulk(model, nsamples = 400, pool.size = 10, keep.cells = TRUE, seed = 3, verbose = FALSE)
    cells <- S4Vectors::metadata(sim)$cells
    res <- ciConsistency(cells, sim, test = "spline", max.n = 800, num.threads = 2)
    key <- paste(res$x, res$y, res$z)
    for (i in seq_len(nrow(res))) {
        z <- if (nzchar(res$z[i])) strsplit(res$z[i], ",")[[1]] else NULL
        expect_identical(res$p.bulk[i], ciTest(res$x[i], res$y[i], z, data = sim, test = "spline",
            assay.type = "latent", max.n = 800)$p.value)
    }
    # THEORY section 3: both edges quadratic, uniform cause: X _||_ Z | Y holds
    # among the cells and fails among the bulk samples
    expect_true(res$indep.cells[key == "X Z Y"])
    expect_false(res$indep.bulk[key == "X Z Y"])
    expect_false(res$agree[key == "X Z Y"])
})
