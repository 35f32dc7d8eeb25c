.edge_funs <- c("affine", "hill_act", "hill_rep", "sigmoid", "tanh",
    "quadratic", "cubic", "sin", "exp", "relu")
.noise_families <- c("gaussian", "uniform", "laplace", "gamma", "lognormal",
    "t")

#' Cell-level gene-regulatory structural causal models
#'
#' `grnModel()` builds a validated `GRNModel`: genes on a directed acyclic
#' graph, an additive function on each edge, noise, sample contexts and an
#' optional count observation model.  In cell `i` of bulk
#' sample `j`, gene `v` is
#' \deqn{x_{ijv} = b_v + c_{jv} + m_{t(i)v} + \sum_{u \to v} f_{uv}(x_{iju}) +
#'   e_{ijv}}
#' with intercept \eqn{b_v}, per-sample context shift \eqn{c_{jv} \sim N(0,
#' \sigma^2_{c,v})}, cell-type mean \eqn{m_{tv}} of the cell's type \eqn{t(i)},
#' edge functions \eqn{f_{uv}} and noise \eqn{e} of mean 0 and standard
#' deviation `noise.scale`.
#'
#' @section Edge functions:
#' Each edge has a weight `w` and two parameters `K` and `n`:
#' \describe{
#'   \item{`affine`}{\eqn{w x}}
#'   \item{`hill_act`}{\eqn{w x_+^n / (K^n + x_+^n)},
#'     with \eqn{x_+ = \max(x, 0)};
#'     `K > 0`, `n > 0` (defaults 1 and 2)}
#'   \item{`hill_rep`}{\eqn{w K^n / (K^n + x_+^n)}}
#'   \item{`sigmoid`}{\eqn{w / (1 + \exp(-n (x - K)))}}
#'   \item{`tanh`}{\eqn{w \tanh(n (x - K))}}
#'   \item{`quadratic`, `cubic`}{\eqn{w (x - K)^2}, \eqn{w (x - K)^3}}
#'   \item{`sin`}{\eqn{w \sin(n (x - K))}}
#'   \item{`exp`}{\eqn{w \exp(n (x - K))}}
#'   \item{`relu`}{\eqn{w \max(x - K, 0)}}
#' }
#' `K` defaults to 1 for the Hill functions and 0 otherwise, `n` to 2 for the
#' Hill functions and 1 otherwise.  Any other `fun` must name an entry of
#' `functions`, a vectorised R function of one argument; such models are
#' simulated on one thread with one R call per edge and chunk of 1024 cells, a
#' slower path than the built-in functions.
#'
#' @section Noise:
#' Every family is centred and scaled to mean 0 and standard deviation
#' `noise.scale`: `gaussian`; `uniform`; `laplace`; `gamma` (a shifted Gamma
#' of shape `noise.shape`, default 2: right-skewed); `lognormal` (a shifted
#' log-normal with `sdlog = noise.shape`, default 0.5); `t` (Student's t with
#' `noise.shape` degrees of freedom, default 3, which must exceed 2: heavy
#' tails).
#'
#' @section Observation model:
#' With `observation = "poisson"` or `"nb"`, cell `i` also gets counts with
#' mean \eqn{s_i \lambda(x)}, where the library size factor \eqn{s_i} is
#' log-normal with mean `library.size` and `sdlog = library.sdlog`, and the
#' link \eqn{\lambda} is `softplus` (\eqn{\log(1 + e^x)}) or `exp`.  NB counts
#' have variance \eqn{\mu + \mu^2 / } `nb.size`.
#'
#' @param edges A data.frame or `DataFrame` with columns `from` and `to` (gene
#'   names) and optionally `fun` (default `"affine"`), `weight` (default 1),
#'   `K` and `n` (`NA` takes the function's default); or a square numeric
#'   adjacency matrix with gene names as dimnames, whose non-zero entry `[u, v]`
#'   is the weight of an affine edge `u -> v`.  A model with no edges takes a
#'   data.frame with zero rows and `genes`.
#' @param genes Character vector of all gene names, including genes without
#'   edges.  Defaults to the genes the edges name, in order of appearance.
#' @param intercept,noise.scale,noise.shape,context.sd Per-gene values: one
#'   number for all genes, one per gene, or a vector named by gene that sets
#'   the genes it names (the others keep the default: intercept 0, noise
#'   scale 1).
#'   `context.sd` is the standard deviation of each gene's per-sample shift;
#'   it defaults to 1 for root genes and 0 for the others.
#' @param noise Noise family per gene (one, one per gene, or named), one of
#'   `"gaussian"`, `"uniform"`, `"laplace"`, `"gamma"`, `"lognormal"`, `"t"`.
#' @param celltypes Optional numeric matrix, one row per cell type (row names
#'   are the type names) and one column per gene it shifts (column names are
#'   genes; absent genes get 0): the mean shift of each gene in that type.
#' @param celltype.prop Mean proportions of the cell types (default equal).
#' @param celltype.alpha Concentration of the Dirichlet distribution of each
#'   sample's cell-type proportions around `celltype.prop`; `Inf` fixes them.
#' @param observation `"none"`, `"poisson"` or `"nb"`.
#' @param link `"softplus"` or `"exp"`.
#' @param library.size,library.sdlog Mean and log-scale standard deviation of
#'   the per-cell library size factor.
#' @param nb.size Size (inverse dispersion) of negative binomial counts.
#' @param custom.functions Named list of vectorised R functions for edges
#'   whose `fun` names them (functions of your own beside the built-in
#'   ones).
#' @param functions Former name of `custom.functions`, deprecated (it works,
#'   with a warning).
#'
#' @return A `GRNModel` object.
#' @seealso [randomGRN()] for random models, [simulateCells()] and
#'   [simulateBulk()] to simulate from them, [trueFunction()].
#' @examples
#' edges <- data.frame(from = c("X", "Y"), to = c("Y", "Z"),
#'                     fun = c("hill_act", "affine"), weight = c(3, 0.8))
#' model <- grnModel(edges, intercept = c(X = 2, Y = 0, Z = 1))
#' model
#'
#' # an adjacency matrix gives affine edges
#' adj <- matrix(c(0, 0, 2, 0), 2, dimnames = list(c("A", "B"), c("A", "B")))
#' grnModel(adj)
#'
#' # a user-supplied function (slower path)
#' grnModel(data.frame(from = "A", to = "B", fun = "softsign"),
#'          custom.functions = list(softsign = function(x) x / (1 + abs(x))))
#' @export
#' @importFrom S4Vectors DataFrame
#' @importFrom methods new validObject slot
grnModel <- function(edges, genes = NULL, intercept = 0, noise = "gaussian",
    noise.scale = 1, noise.shape = NULL, context.sd = NULL, celltypes = NULL,
    celltype.prop = NULL, celltype.alpha = 10,
    observation = c("none", "poisson", "nb"),
    link = c("softplus", "exp"), library.size = 1, library.sdlog = 0,
    nb.size = 10, custom.functions = list(), functions) {
    .renamed_args("grnModel", c(functions = "custom.functions"))
    functions <- custom.functions
    edges <- .edges_table(edges, functions)
    if (is.null(genes)) {
        genes <- unique(c(rbind(edges$from, edges$to)))
    } else if (!is.character(genes) || anyNA(genes) || anyDuplicated(genes)) {
        stop("`genes` must be distinct gene names without NA, not ",
            .fmt_value(genes), call. = FALSE)
    }
    unknown <- setdiff(c(edges$from, edges$to), genes)
    if (length(unknown)) {
        stop(sprintf("`edges` names gene %s, which is not in `genes`",
            .fmt_value(unknown)), call. = FALSE)
    }
    if (length(genes) == 0L)
        stop("the model has no genes: give `edges` or `genes`", call. = FALSE)
    root <- !genes %in% edges$to
    noise <- .per_gene(noise, genes, "noise", "gaussian")
    bad <- setdiff(noise, .noise_families)
    if (length(bad)) {
        stop(sprintf("`noise` must name families among %s, not %s",
            paste(sprintf("'%s'", .noise_families), collapse = ", "),
            .fmt_value(bad)), call. = FALSE)
    }
    shape.default <- ifelse(noise == "lognormal",
        0.5, ifelse(noise == "t", 3, 2))
    if (is.null(noise.shape)) noise.shape <- shape.default
    context.default <- ifelse(root, 1, 0)
    if (is.null(context.sd)) context.sd <- context.default
    types <- .celltype_means(celltypes, genes)
    if (is.null(celltype.prop))
        celltype.prop <- rep(1 / max(nrow(types), 1L), nrow(types))
    new("GRNModel",
        genes = genes,
        edges = edges,
        intercept = .per_gene(intercept, genes, "intercept", 0),
        noise = noise,
        noise.scale = .per_gene(noise.scale, genes, "noise.scale", 1),
        noise.shape = .per_gene(noise.shape, genes, "noise.shape",
            shape.default),
        context.sd = .per_gene(context.sd, genes, "context.sd",
            context.default),
        celltypes = types,
        celltype.prop = as.numeric(celltype.prop),
        celltype.alpha = .check_number(celltype.alpha, "celltype.alpha",
            0, TRUE, allow.inf = TRUE),
        observation = list(
            model = .check_choice(.first(observation),
                c("none", "poisson", "nb"), "observation"),
            link = .check_choice(.first(link), c("softplus", "exp"), "link"),
            library.size = .check_number(library.size, "library.size", 0, TRUE),
            library.sdlog = .check_number(library.sdlog, "library.sdlog", 0),
            nb.size = .check_number(nb.size, "nb.size", 0, TRUE)),
        functions = functions)
}

# Normalises the edge list: columns from, to, fun, weight, K, n.
.edges_table <- function(edges, functions) {
    if (!is.list(functions) || (length(functions) &&
        (is.null(names(functions)) ||
        !all(vapply(functions, is.function, logical(1L)))))) {
        stop("`custom.functions` must be a named list of R functions",
            call. = FALSE)
    }
    if (is.matrix(edges)) {
        if (!is.numeric(edges) || nrow(edges) != ncol(edges) ||
            is.null(rownames(edges)) ||
            !identical(rownames(edges), colnames(edges))) {
            stop("an adjacency matrix in `edges` must be square and numeric, with the same gene names as row and column names",
                call. = FALSE)
        }
        if (anyNA(edges))
            stop("the adjacency matrix in `edges` has NA entries",
                call. = FALSE)
        nz <- which(edges != 0, arr.ind = TRUE)
        nz <- nz[order(nz[, 1L], nz[, 2L]), , drop = FALSE]
        edges <- data.frame(from = rownames(edges)[nz[, 1L]],
            to = colnames(edges)[nz[, 2L]], weight = edges[nz],
            stringsAsFactors = FALSE)
    }
    if (!is.data.frame(edges) && !is(edges, "DataFrame")) {
        stop("`edges` must be a data.frame, a DataFrame or an adjacency matrix, not a ",
            class(edges)[1L], call. = FALSE)
    }
    edges <- as.data.frame(edges, stringsAsFactors = FALSE)
    missing <- setdiff(c("from", "to"), colnames(edges))
    if (length(missing)) {
        stop(sprintf("`edges` has no column %s", .fmt_value(missing)),
            call. = FALSE)
    }
    ne <- nrow(edges)
    from <- as.character(edges$from)
    to <- as.character(edges$to)
    if (anyNA(from) || anyNA(to))
        stop("`edges` has NA in `from` or `to`", call. = FALSE)
    fun <- if (is.null(edges$fun)) rep("affine", ne) else
        as.character(edges$fun)
    bad <- setdiff(fun, c(.edge_funs, names(functions)))
    if (length(bad)) {
        stop(sprintf("`edges$fun` has unknown function %s; use one of %s or name an entry of `custom.functions`",
            .fmt_value(bad), paste(sprintf("'%s'", .edge_funs),
                collapse = ", ")), call. = FALSE)
    }
    hill <- fun %in% c("hill_act", "hill_rep")
    # NA in K or n means the function's default; NaN is kept and rejected
    # by the validity check.
    column <- function(name, default) {
        v <- if (is.null(edges[[name]])) rep(NA_real_, ne) else
            as.numeric(edges[[name]])
        fill <- is.na(v) & !is.nan(v)
        v[fill] <- rep_len(default, ne)[fill]
        v
    }
    weight <- if (is.null(edges$weight)) rep(1, ne) else
        as.numeric(edges$weight)
    K <- column("K", ifelse(hill, 1, 0))
    n <- column("n", ifelse(hill, 2, 1))
    dup <- duplicated(paste(from, to, sep = "\r"))
    if (any(dup)) {
        stop(sprintf("`edges` lists the edge %s -> %s more than once",
            from[dup][1L], to[dup][1L]), call. = FALSE)
    }
    DataFrame(from = from, to = to, fun = fun, weight = weight, K = K, n = n)
}

.per_gene <- function(value, genes, name, default) {
    if (is.numeric(default) && !is.numeric(value)) {
        stop(sprintf("`%s` must be numeric, not %s", name, .fmt_value(value)),
            call. = FALSE)
    }
    if (is.character(default) && !is.character(value)) {
        stop(sprintf("`%s` must be character, not %s", name, .fmt_value(value)),
            call. = FALSE)
    }
    if (!is.null(names(value))) {
        # a named vector sets the genes it names; the others keep the default
        unknown <- setdiff(names(value), genes)
        if (length(unknown)) {
            stop(sprintf("`%s` names gene %s, which is not in the model",
                name, .fmt_value(unknown)), call. = FALSE)
        }
        out <- rep_len(default, length(genes))
        names(out) <- genes
        out[names(value)] <- value
        return(out)
    }
    if (length(value) == 1L) {
        value <- rep(value, length(genes))
    } else if (length(value) != length(genes)) {
        stop(sprintf("`%s` must have length 1 or %d (one per gene), not %d",
            name, length(genes), length(value)), call. = FALSE)
    }
    names(value) <- genes
    value
}

.celltype_means <- function(celltypes, genes) {
    out <- matrix(0, 0L, length(genes), dimnames = list(NULL, genes))
    if (is.null(celltypes)) return(out)
    if (!is.matrix(celltypes) || !is.numeric(celltypes) ||
        is.null(rownames(celltypes)) || is.null(colnames(celltypes))) {
        stop("`celltypes` must be a numeric matrix with cell types as row names and genes as column names",
            call. = FALSE)
    }
    unknown <- setdiff(colnames(celltypes), genes)
    if (length(unknown)) {
        stop(sprintf("`celltypes` names gene %s, which is not in the model",
            .fmt_value(unknown)), call. = FALSE)
    }
    out <- matrix(0, nrow(celltypes), length(genes),
        dimnames = list(rownames(celltypes), genes))
    out[, colnames(celltypes)] <- celltypes
    out
}

#' Edges and true functions of a GRNModel
#'
#' `edgeTable()` returns the model's edges with their functions and
#' parameters; `trueFunction()` returns the cell-level function of one edge as
#' a vectorised R function, for comparing estimates with the truth.
#'
#' @param model A [GRNModel][grnModel].
#' @param from,to Names of the regulator and the target gene.
#' @return `edgeTable()`: a `DataFrame` with columns `from`, `to`, `fun`,
#'   `weight`, `K` and `n`.  `trueFunction()`: a function of one numeric
#'   vector.
#' @examples
#' model <- grnModel(data.frame(from = "X", to = "Y", fun = "hill_act",
#'                              weight = 2))
#' edgeTable(model)
#' f <- trueFunction(model, "X", "Y")
#' f(c(0, 1, 2))
#' @export
edgeTable <- function(model) {
    .check_model(model)
    model@edges
}

#' @rdname edgeTable
#' @export
trueFunction <- function(model, from, to) {
    .check_model(model)
    e <- model@edges
    i <- which(e$from == from & e$to == to)
    if (length(i) != 1L) {
        stop(sprintf("the model has no edge %s -> %s", .fmt_value(from),
            .fmt_value(to)), call. = FALSE)
    }
    if (e$fun[i] %in% names(model@functions)) {
        f <- model@functions[[e$fun[i]]]
        return(function(x) f(x))
    }
    core <- .model_to_core(model)
    function(x) edge_values_cpp(core, i, as.numeric(x))
}

# The list the C++ glue turns into a core Model (0-based gene indices).
.model_to_core <- function(model) {
    e <- model@edges
    genes <- model@genes
    custom <- match(e$fun, names(model@functions)) - 1L
    fun <- as.character(e$fun)
    fun[!is.na(custom)] <- "custom"
    custom[is.na(custom)] <- -1L
    list(p = length(genes),
        from = match(e$from, genes) - 1L, to = match(e$to, genes) - 1L,
        fun = fun, weight = as.numeric(e$weight), K = as.numeric(e$K),
        n = as.numeric(e$n), custom = as.integer(custom),
        intercept = unname(model@intercept), noise = unname(model@noise),
        noise_scale = unname(model@noise.scale),
        noise_shape = unname(model@noise.shape),
        context_sd = unname(model@context.sd),
        type_mean = unname(model@celltypes), type_prop = model@celltype.prop,
        type_alpha = model@celltype.alpha,
        observation = model@observation$model, link = model@observation$link,
        library_size = model@observation$library.size,
        library_sdlog = model@observation$library.sdlog,
        nb_size = model@observation$nb.size)
}
