#' bulkcausal: recoverability of causal gene-regulatory relations from bulk data
#'
#' Bulk RNA profiles pool the RNA of many cells.  Luo, Sun and Zhang (2026,
#' arXiv 2606.00568) show that causal relations among genes survive this
#' aggregation only when it is linear (sum, mean) and the regulatory
#' functions are affine.  bulkcausal makes the result testable: it simulates
#' cell-level gene-regulatory structural causal models ([grnModel()],
#' [randomGRN()], [simulateCells()]), pools cells into bulk samples with
#' linear and non-linear aggregations keeping the truth at both levels
#' ([simulateBulk()]), and aggregates real single cells into pseudobulk
#' ([aggregateCells()], [poolCells()]).  A C++17 header library does the
#' computing; results are identical for the same seed on any number of
#' threads.
#'
#' @references Luo, Sun and Zhang (2026). On the Recoverability of Causal
#'   Relations from Bulk Gene Expression Data. arXiv 2606.00568.
#'
#'   Fan, Gong and Zhang (2024). On the Recoverability of Causal Relations
#'   from Temporally Aggregated I.I.D. Data. ICML. arXiv 2406.02191.
#' @keywords internal
#' @useDynLib bulkcausal, .registration = TRUE
#' @importFrom Rcpp sourceCpp
"_PACKAGE"
