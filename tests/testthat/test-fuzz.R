# Malformed input never kills R: every export, one argument at a time
# replaced by a malformed value (helper-fuzz.R), each case run in a separate
# R process with a time limit.  A case may return or fail with an R error;
# it may not end the process (a signal) or hang.  BULKCAUSAL_FUZZ=long runs
# every value of the pool (about 2,600 cases) instead of the short set.

test_that("no malformed input crashes or hangs R", {
    skip_on_os("windows")
    skip_if_not_installed("callr")
    res <- fuzz_drive(test_path("helper-fuzz.R"), limit = 20)
    out <- file.path(Sys.getenv("BULKCAUSAL_FUZZ_OUT", tempdir()), "fuzz_results.csv")
    utils::write.csv(res, out, row.names = FALSE)
    bad <- res[is.na(res$outcome) | res$outcome %in% c("crash", "hang"), ]
    expect_true(nrow(res) > 500)
    expect_equal(nrow(bad), 0L, info = paste(bad$case, bad$outcome, bad$message, collapse = "\n"))
    # both outcomes occur: malformed values are refused, and some (NULL for
    # an optional argument, 0.5 for a level) are valid and return
    expect_setequal(unique(res$outcome), c("ok", "error"))
    # and the errors say what is wrong in the package's words
    vague <- res[res$outcome == "error" & grepl(fuzz_internal, res$message), ]
    expect_equal(nrow(vague), 0L, info = paste(vague$case, vague$message, collapse = "\n"))
})
