# The real datasets of the empirical analysis (empirical_nonlinearity.R),
# each loaded from the package that ships it: no download at run time.
# Sourced by that script and by the package's tests, which check the
# dimensions the analysis relies on, and by the vignette "Auditing your own
# data", which draws the stored results with the two figure functions at
# the end of this file (one plotting code for the script and the vignette).
#
# empirical_datasets() returns a named list; each entry has
#   kind        "bulk" or "single cell"
#   package     the package holding the data (Debian package or CRAN in
#               `install`)
#   source, technology, scale, licence   what the vignette tabulates
#   counts      TRUE when the values are counts (fitted on the rate scale,
#               count-aware); FALSE for values taken as they are
#   log.base    2 for microarray intensities stored as log2 (made linear
#               with 2^x before fitting); NA otherwise
#   group       for single cells: the colData column the pseudobulk pools
#               stay within (cell type, condition or time point), or NA
#   dims        c(genes, columns) the analysis expects
#   load()      a SummarizedExperiment (bulk) or SingleCellExperiment
#               (cells) with one assay, "values", on the stored scale
empirical_datasets <- function() {
    eset_se <- function(e) {
        SummarizedExperiment::SummarizedExperiment(list(values = Biobase::exprs(e)),
            colData = methods::as(Biobase::pData(e), "DataFrame"))
    }
    # an object whose one assay becomes "values"
    as_values <- function(x) {
        SummarizedExperiment::assayNames(x) <- "values"
        x
    }
    get_data <- function(names, package) {
        env <- new.env()
        utils::data(list = names, package = package, envir = env)
        env
    }
    list(
        ALL = list(kind = "bulk", package = "ALL", install = "apt-get install r-bioc-all",
            source = "Chiaretti et al. 2004, acute lymphoblastic leukaemia (Bioconductor ALL)",
            technology = "Affymetrix HG-U95Av2 arrays, RMA", scale = "log2 intensities, made linear",
            licence = "Artistic-2.0", counts = FALSE, log.base = 2, group = NA, dims = c(12625, 128),
            load = function() eset_se(get_data("ALL", "ALL")$ALL)),
        bladderbatch = list(kind = "bulk", package = "bladderbatch",
            install = "apt-get install r-bioc-bladderbatch",
            source = "Dyrskjot et al. 2004, bladder cancer and normal mucosa (Bioconductor bladderbatch)",
            technology = "Affymetrix HG-U133A arrays, RMA", scale = "log2 intensities, made linear",
            licence = "Artistic-2.0", counts = FALSE, log.base = 2, group = NA, dims = c(22283, 57),
            load = function() eset_se(get_data("bladderdata", "bladderbatch")$bladderEset)),
        flu = list(kind = "bulk", package = "qusage", install = "apt-get install r-bioc-qusage",
            source = "Huang et al. 2011 (GEO GSE30550), blood of 17 people exposed to influenza, 15 time points (qusage eset.full)",
            technology = "Affymetrix HG-U133A 2.0 arrays", scale = "log2 intensities, made linear",
            licence = "GPL (>= 2)", counts = FALSE, log.base = 2, group = NA, dims = c(4147, 252),
            load = function() {
                env <- get_data("fluExample", "qusage")
                meta <- env$flu.meta[match(colnames(env$eset.full), env$flu.meta$SampleID), ]
                SummarizedExperiment::SummarizedExperiment(list(values = env$eset.full),
                    colData = methods::as(meta, "DataFrame"))
            }),
        geuvadis = list(kind = "bulk", package = "DEGreport", install = "apt-get install r-bioc-degreport",
            source = "gEUvadis lymphoblastoid cell lines of 85 people (DEGreport humanGender)",
            technology = "Illumina RNA-seq, reads per gene", scale = "counts",
            licence = "MIT", counts = TRUE, log.base = NA, group = NA, dims = c(10101, 85),
            load = function() as_values(get_data("humanGender", "DEGreport")$humanGender)),
        pbmc4k = list(kind = "single cell", package = "SoupX", install = "install.packages(\"SoupX\")",
            source = "10x Genomics pbmc4k, blood mononuclear cells of one donor, half the cells, with cell-type annotation (SoupX PBMC_sc)",
            technology = "10x Chromium v2, UMI counts", scale = "counts",
            licence = "GPL-2", counts = TRUE, log.base = NA, group = "Annotation", dims = c(33694, 2170),
            load = function() {
                env <- get_data(c("PBMC_sc", "PBMC_metaData"), "SoupX")
                m <- methods::as(env$PBMC_sc$toc, "CsparseMatrix")
                SingleCellExperiment::SingleCellExperiment(list(values = m),
                    colData = methods::as(env$PBMC_metaData[colnames(m), , drop = FALSE], "DataFrame"))
            }),
        kang = list(kind = "single cell", package = "harmony", install = "install.packages(\"harmony\")",
            source = "Kang et al. 2018, blood mononuclear cells, control and interferon-beta stimulated, 1,000 cells each (harmony pbmc.ctrl, pbmc.stim)",
            technology = "10x Chromium v1, UMI counts", scale = "counts",
            licence = "GPL-3", counts = TRUE, log.base = NA, group = "condition", dims = c(9015, 2000),
            load = function() {
                env <- get_data("pbmc_stim", "harmony")
                m <- cbind(env$pbmc.ctrl, env$pbmc.stim)
                colnames(m) <- paste0(rep(c("ctrl_", "stim_"), c(ncol(env$pbmc.ctrl), ncol(env$pbmc.stim))),
                    colnames(m))
                cond <- rep(c("ctrl", "stim"), c(ncol(env$pbmc.ctrl), ncol(env$pbmc.stim)))
                SingleCellExperiment::SingleCellExperiment(list(values = m),
                    colData = S4Vectors::DataFrame(condition = cond, row.names = colnames(m)))
            }),
        pbmc283 = list(kind = "single cell", package = "bulkcausal", install = "(this package)",
            source = "283 cells of 10x Genomics pbmc3k (sctransform's subset), with cell types (bulkcausal pbmc283)",
            technology = "10x Chromium v1, UMI counts", scale = "counts",
            licence = "CC BY 4.0 (10x Genomics); package GPL-3", counts = TRUE, log.base = NA, group = "type", dims = c(914, 283),
            load = function() as_values(get_data("pbmc283", "bulkcausal")$pbmc283)),
        zeisel = list(kind = "single cell", package = "SAVER", install = "install.packages(\"SAVER\")",
            source = "Zeisel et al. 2015, mouse cortex and hippocampus, 200 cells (SAVER linnarsson)",
            technology = "STRT-seq (Fluidigm C1), UMI counts", scale = "counts",
            licence = "GPL-2", counts = TRUE, log.base = NA, group = NA, dims = c(3529, 200),
            load = function() {
                m <- get_data("linnarsson", "SAVER")$linnarsson
                SingleCellExperiment::SingleCellExperiment(list(values = m))
            }),
        HSMM = list(kind = "single cell", package = "HSMMSingleCell",
            install = "apt-get install r-bioc-hsmmsinglecell",
            source = "Trapnell et al. 2014, differentiating human skeletal muscle myoblasts at 0, 24, 48 and 72 h (HSMMSingleCell)",
            technology = "Fluidigm C1, full-length RNA-seq", scale = "FPKM, taken as values",
            licence = "Artistic-2.0", counts = FALSE, log.base = NA, group = "Hours", dims = c(47192, 271),
            load = function() {
                env <- get_data(c("HSMM_expr_matrix", "HSMM_sample_sheet", "HSMM_gene_annotation"), "HSMMSingleCell")
                SingleCellExperiment::SingleCellExperiment(list(values = as.matrix(env$HSMM_expr_matrix)),
                    colData = methods::as(env$HSMM_sample_sheet, "DataFrame"),
                    rowData = methods::as(env$HSMM_gene_annotation, "DataFrame"))
            })
    )
}

# ---- figures -----------------------------------------------------------
# Both take the tables the script writes (empirical_table.csv and
# empirical_depth.csv, stored in inst/extdata/empirical) and need ggplot2.

# the three scales of the analysis: legend text and colours (Okabe-Ito)
empirical_scales <- function() {
    data.frame(scale = c("rate", "values", "log"),
        label = c("rate scale (count-aware) / linear values",
            "normalised counts, no correction", "log1p of normalised values"),
        colour = c("#0072B2", "#E69F00", "#CC79A7"))
}

# Share of pairs non-linear with its interval over genes, one row per
# dataset and level, one point per scale; bulk and single cells in two
# panels.
empirical_share_plot <- function(tab, title = NULL) {
    sc <- empirical_scales()
    lab <- paste(tab$dataset, tab$level, sep = ": ")
    tab$panel <- factor(lab, levels = rev(unique(lab)))
    ggplot2::ggplot(tab, ggplot2::aes(x = share.nonlinear, y = panel,
            colour = scale)) +
        ggplot2::geom_pointrange(ggplot2::aes(xmin = share.lower,
                xmax = share.upper),
            position = ggplot2::position_dodge(width = 0.6), size = 0.3) +
        ggplot2::geom_vline(xintercept = 0.05, linetype = 2) +
        ggplot2::facet_grid(kind ~ ., scales = "free_y", space = "free_y") +
        ggplot2::scale_colour_manual(breaks = sc$scale,
            values = stats::setNames(sc$colour, sc$scale),
            labels = stats::setNames(sc$label, sc$scale)) +
        ggplot2::labs(x = paste("share of pairs non-linear (BH-adjusted",
                "p < 0.05)\nwith its 95% interval over genes"),
            y = NULL, colour = NULL, title = title) +
        ggplot2::theme_bw() +
        ggplot2::theme(legend.position = "bottom",
            legend.direction = "vertical")
}

# Cell level: share of pairs non-linear against the depth of the pair's
# sparser gene, per scale, one panel per dataset; depth bins with fewer
# than min.pairs pairs are left out.
empirical_depth_plot <- function(depth, min.pairs = 20, title = NULL) {
    sc <- empirical_scales()
    ggplot2::ggplot(depth[depth$pairs >= min.pairs, ],
            ggplot2::aes(x = depth, y = share.nonlinear, colour = scale)) +
        ggplot2::geom_line() + ggplot2::geom_point(ggplot2::aes(size = pairs)) +
        ggplot2::scale_x_log10() + ggplot2::facet_wrap(~dataset) +
        ggplot2::geom_hline(yintercept = 0.05, linetype = 2) +
        ggplot2::scale_colour_manual(breaks = sc$scale,
            values = stats::setNames(sc$colour, sc$scale),
            labels = stats::setNames(sc$label, sc$scale)) +
        ggplot2::scale_size_area(max_size = 3) +
        ggplot2::labs(x = "mean counts per cell (the sparser gene of the pair)",
            y = "share non-linear (BH p < 0.05)", colour = NULL,
            title = title) +
        ggplot2::theme_bw() +
        ggplot2::theme(legend.position = "bottom",
            legend.direction = "vertical")
}
