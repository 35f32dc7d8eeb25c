# The GRNModel class: its slots, the validity checks that every model
# (made by grnModel(), randomGRN() or by hand with new()) passes, and show().

.validate_grn <- function(object) {
    genes <- object@genes
    e <- object@edges
    msg <- character()
    per_gene <- c("intercept", "noise", "noise.scale", "noise.shape",
        "context.sd")
    for (s in per_gene) {
        if (length(slot(object, s)) != length(genes))
            msg <- c(msg, sprintf("`%s` must have one value per gene", s))
    }
    if (length(msg)) return(msg)
    if (!all(is.finite(object@intercept))) {
        msg <- c(msg, sprintf("`intercept` must be finite, not %s",
            .fmt_value(object@intercept[!is.finite(object@intercept)])))
    }
    for (s in c("noise.scale", "context.sd")) {
        v <- slot(object, s)
        bad <- !is.finite(v) | v < 0
        if (any(bad))
            msg <- c(msg, sprintf(
                "`%s` must be finite and >= 0, not %s for gene %s", s,
                .fmt_value(v[bad]), .fmt_value(genes[bad])))
    }
    bad <- !is.finite(object@noise.shape) | object@noise.shape <= 0
    if (any(bad))
        msg <- c(msg, sprintf(
            "`noise.shape` must be finite and > 0, not %s for gene %s",
            .fmt_value(object@noise.shape[bad]), .fmt_value(genes[bad])))
    bad <- object@noise == "t" & is.finite(object@noise.shape) &
        object@noise.shape <= 2
    if (any(bad))
        msg <- c(msg, sprintf(paste(
            "`noise.shape` (degrees of freedom of t noise) must exceed 2 for",
            "a finite variance, not %s for gene %s"),
            .fmt_value(object@noise.shape[bad]), .fmt_value(genes[bad])))
    for (s in c("weight", "K", "n")) {
        bad <- !is.finite(e[[s]])
        if (any(bad))
            msg <- c(msg, sprintf("edge %s -> %s has a non-finite %s (%s)",
                e$from[bad][1L], e$to[bad][1L], s, .fmt_value(e[[s]][bad][1L])))
    }
    hill <- e$fun %in% c("hill_act", "hill_rep")
    bad <- hill & (e$K <= 0 | e$n <= 0)
    if (any(bad, na.rm = TRUE)) {
        i <- which(bad)[1L]
        msg <- c(msg, sprintf(
            "Hill edge %s -> %s needs K > 0 and n > 0, not K = %s, n = %s",
            e$from[i], e$to[i], format(e$K[i]), format(e$n[i])))
    }
    selfloop <- e$from == e$to
    if (any(selfloop))
        msg <- c(msg, sprintf(
            "edge %s -> %s is a self-loop; the graph must be acyclic",
            e$from[selfloop][1L], e$to[selfloop][1L]))
    if (!length(msg) && nrow(e)) {
        topo <- topological_order_cpp(length(genes), match(e$from, genes),
            match(e$to, genes))
        if (!is.null(topo$cycle)) {
            cyc <- genes[topo$cycle]
            msg <- c(msg, sprintf("the graph has a cycle: %s",
                paste(c(cyc, cyc[1L]), collapse = " -> ")))
        }
    }
    nt <- nrow(object@celltypes)
    if (ncol(object@celltypes) != length(genes))
        msg <- c(msg, "`celltypes` must have one column per gene")
    if (any(!is.finite(object@celltypes)))
        msg <- c(msg, "`celltypes` must be finite")
    p <- object@celltype.prop
    if (length(p) != nt || any(!is.finite(p)) || any(p < 0) ||
        (nt > 0 && abs(sum(p) - 1) > 1e-8)) {
        msg <- c(msg, sprintf("`celltype.prop` must be %d non-negative proportions summing to 1, not %s", nt, .fmt_value(p)))
    }
    if (length(msg)) msg else TRUE
}

#' @rdname grnModel
#' @slot genes,edges,intercept,noise,noise.scale,noise.shape,context.sd,celltypes,celltype.prop,celltype.alpha,observation,functions
#'   The parts of the model, as described for `grnModel()`.
#' @export
setClass("GRNModel", slots = c(genes = "character", edges = "DataFrame",
    intercept = "numeric", noise = "character", noise.scale = "numeric",
    noise.shape = "numeric", context.sd = "numeric", celltypes = "matrix",
    celltype.prop = "numeric", celltype.alpha = "numeric", observation = "list",
    functions = "list"), validity = .validate_grn)

#' @rdname grnModel
#' @param object A `GRNModel`.
#' @importFrom methods show
#' @export
setMethod("show", "GRNModel", function(object) {
    e <- object@edges
    cat(sprintf("GRNModel with %d genes and %d edges\n", length(object@genes),
        nrow(e)))
    if (nrow(e)) {
        tab <- table(e$fun)
        cat("  edge functions:", paste(sprintf("%s (%d)", names(tab), tab),
            collapse = ", "), "\n")
    }
    nz <- table(object@noise)
    cat("  noise:", paste(sprintf("%s (%d)", names(nz), nz), collapse = ", "),
        "\n")
    roots <- sum(!object@genes %in% e$to)
    cat(sprintf("  roots: %d; genes with sample context: %d\n",
        roots, sum(object@context.sd > 0)))
    if (nrow(object@celltypes)) {
        cat(sprintf("  cell types: %s (alpha = %s)\n",
            paste(rownames(object@celltypes), collapse = ", "),
            format(object@celltype.alpha)))
    }
    cat("  observation:", object@observation$model,
        if (object@observation$model != "none")
            sprintf("(link %s)", object@observation$link) else "", "\n")
})
