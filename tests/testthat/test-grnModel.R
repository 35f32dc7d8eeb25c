chain_edges <- function(fun = c("hill_act", "affine")) {
    data.frame(from = c("X", "Y"), to = c("Y", "Z"), fun = fun, weight = c(3, 0.8))
}

test_that("grnModel fills defaults per edge function and per gene", {
    m <- grnModel(chain_edges(), intercept = c(Z = 1, X = 2, Y = 0))
    e <- edgeTable(m)
    expect_identical(e$K, c(1, 0))
    expect_identical(e$n, c(2, 1))
    expect_identical(m@genes, c("X", "Y", "Z"))
    # named per-gene values are matched by name, not position
    expect_identical(unname(m@intercept), c(2, 0, 1))
    # contexts default to the root genes only
    expect_identical(unname(m@context.sd), c(1, 0, 0))
    expect_identical(unname(m@noise.shape), c(2, 2, 2))
    expect_output(show(m), "GRNModel with 3 genes and 2 edges")
})

test_that("an adjacency matrix gives affine edges with its weights", {
    adj <- matrix(0, 3, 3, dimnames = list(c("A", "B", "C"), c("A", "B", "C")))
    adj["A", "C"] <- 2
    adj["B", "C"] <- -0.5
    e <- edgeTable(grnModel(adj))
    expect_identical(e$from, c("A", "B"))
    expect_identical(e$to, c("C", "C"))
    expect_identical(e$weight, c(2, -0.5))
    expect_true(all(e$fun == "affine"))
})

test_that("trueFunction evaluates the documented formulas", {
    edges <- data.frame(from = "X", to = c("A", "B", "C", "D", "E", "F", "G"),
        fun = c("hill_act", "hill_rep", "sigmoid", "tanh", "sin", "exp", "relu"),
        weight = c(2, 3, 1.5, 0.7, 1.2, 0.1, 4), K = c(1.5, 0.8, 1, 2, 0.3, 1, 0.5),
        n = c(3, 2.5, 2, 1.5, 2, 0.5, 1))
    m <- grnModel(edges)
    x <- c(-1, 0, 0.4, 1.3, 5)
    xp <- pmax(x, 0)
    expect_equal(trueFunction(m, "X", "A")(x), 2 * xp^3 / (1.5^3 + xp^3))
    expect_equal(trueFunction(m, "X", "B")(x), 3 * 0.8^2.5 / (0.8^2.5 + xp^2.5))
    expect_equal(trueFunction(m, "X", "C")(x), 1.5 / (1 + exp(-2 * (x - 1))))
    expect_equal(trueFunction(m, "X", "D")(x), 0.7 * tanh(1.5 * (x - 2)))
    expect_equal(trueFunction(m, "X", "E")(x), 1.2 * sin(2 * (x - 0.3)))
    expect_equal(trueFunction(m, "X", "F")(x), 0.1 * exp(0.5 * (x - 1)))
    expect_equal(trueFunction(m, "X", "G")(x), 4 * pmax(x - 0.5, 0))
    expect_error(trueFunction(m, "A", "X"), "no edge 'A' -> 'X'")
})

test_that("bad models get errors that name the problem", {
    cyc <- data.frame(from = c("A", "B", "C", "D"), to = c("B", "C", "A", "A"))
    # the cycle A -> B -> C -> A, from whichever gene it starts
    expect_error(grnModel(cyc), "the graph has a cycle: (A -> B -> C -> A|B -> C -> A -> B|C -> A -> B -> C)$")
    expect_error(grnModel(data.frame(from = "A", to = "A")), "self-loop")
    expect_error(grnModel(data.frame(from = "A", to = "B"), genes = c("A", "C")),
        "`edges` names gene 'B', which is not in `genes`")
    expect_error(grnModel(data.frame(from = "A", to = "B", fun = "wiggle")),
        "unknown function 'wiggle'")
    expect_error(grnModel(data.frame(from = "A", to = "B"), noise = "cauchy"),
        "`noise` must name families .* not 'cauchy'")
    expect_error(grnModel(data.frame(from = "A", to = "B"), noise.scale = -1),
        "`noise.scale` must be finite and >= 0, not -1")
    expect_error(grnModel(data.frame(from = "A", to = "B"), context.sd = c(A = Inf, B = 0)),
        "`context.sd` must be finite and >= 0, not Inf for gene 'A'")
    expect_error(grnModel(data.frame(from = "A", to = "B", weight = NaN)),
        "non-finite weight")
    expect_error(grnModel(data.frame(from = "A", to = "B", fun = "hill_act", K = -2)),
        "Hill edge A -> B needs K > 0 and n > 0, not K = -2")
    expect_error(grnModel(data.frame(from = "A", to = "B", fun = "hill_rep", n = 0)),
        "needs K > 0 and n > 0")
    expect_error(grnModel(data.frame(from = "A", to = "B"), intercept = c(1, 2, 3)),
        "`intercept` must have length 1 or 2")
    expect_error(grnModel(data.frame(from = "A", to = "B"), intercept = c(A = 1, Q = 2)),
        "`intercept` names gene 'Q'")
    expect_error(grnModel(data.frame(from = "A", to = "B"), observation = "binomial"),
        "`observation` must be one of 'none', 'poisson', 'nb', not 'binomial'")
    expect_error(grnModel(data.frame(from = "A", to = "B"), nb.size = 0), "`nb.size` must be a finite number > 0")
    expect_error(grnModel(data.frame(from = c("A", "A"), to = c("B", "B"))), "more than once")
    expect_error(grnModel(data.frame(a = 1)), "`edges` has no column 'from', 'to'")
    expect_error(grnModel(data.frame(from = "A", to = "B", fun = "f"), custom.functions = list(f = 1)),
        "named list of R functions")
    expect_error(grnModel(data.frame(from = "A", to = "B"), celltypes = matrix(1, 1, 1, dimnames = list("t", "Z"))),
        "`celltypes` names gene 'Z'")
    expect_error(grnModel(data.frame(from = "A", to = "B"),
        celltypes = matrix(1, 2, 1, dimnames = list(c("t1", "t2"), "A")), celltype.prop = c(0.2, 0.2)),
        "`celltype.prop` must be 2 non-negative proportions summing to 1")
})

test_that("randomGRN is reproducible, acyclic and follows the function mix", {
    a <- randomGRN(40, seed = 5)
    b <- randomGRN(40, seed = 5)
    expect_identical(edgeTable(a), edgeTable(b))
    expect_false(identical(edgeTable(a), edgeTable(randomGRN(40, seed = 6))))
    set.seed(1)
    c1 <- randomGRN(40)
    set.seed(1)
    c2 <- randomGRN(40)
    expect_identical(edgeTable(c1), edgeTable(c2))
    expect_true(validObject(a))
    # edge count of an Erdos-Renyi DAG: binomial(choose(p, 2), prob)
    counts <- vapply(1:200, function(s) nrow(edgeTable(randomGRN(30, prob = 0.1, seed = s))), numeric(1))
    expect_lt(abs(mean(counts) - choose(30, 2) * 0.1), 5 * sqrt(choose(30, 2) * 0.09 / 200))
    # function frequencies over many edges
    big <- edgeTable(randomGRN(300, prob = 0.05, functions = c(affine = 3, sin = 1), seed = 9))
    share <- mean(big$fun == "sin")
    expect_lt(abs(share - 0.25), 5 * sqrt(0.25 * 0.75 / nrow(big)))
    expect_true(all(big$weight[big$fun == "affine"] != 0))
    sf <- edgeTable(randomGRN(50, type = "scalefree", m = 2, seed = 3))
    expect_identical(nrow(sf), 1L + 48L * 2L)
    expect_error(randomGRN(10, functions = c(wiggle = 1)), "unknown function 'wiggle'")
    expect_error(randomGRN(1), "`ngenes` must be a whole number from 2 to 100000, not 1")
    expect_error(randomGRN(10, prob = 2), "`prob` must be between 0 and 1")
})
