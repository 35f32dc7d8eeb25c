# How long an interrupt takes to stop a parallel call (issue 16): the
# fitPairwise() of all ordered pairs of 500 genes x 2,000 cells (eight work
# units of about 5 s with two workers), run in a child R process and
# interrupted `wait` seconds after the package is loaded, either
#   - "caller": SIGINT to the R process alone (RStudio's stop button,
#     `kill -INT <pid>`), or
#   - "group": SIGINT to its process group (a terminal's Ctrl-C, which
#     reaches forked and socket workers as well).
# Prints the seconds from the signal to the child's exit, how the call
# ended, and the R processes (workers) left behind two seconds later (then
# killed).  A wait of 1 s falls in the workers' start-up, 3 s in SnowParam
# workers' loading of the package before their first unit, 12 s in their
# units.
# Needs a POSIX shell (kill, setsid) and the processx package.
#   Rscript bench/bench_interrupts.R
#   BENCH_INTERRUPT_WAITS=2,10 Rscript bench/bench_interrupts.R   (seconds after loading)
suppressPackageStartupMessages(library(processx))
source("bench/lib/timing.R")

WAITS <- as.numeric(strsplit(Sys.getenv("BENCH_INTERRUPT_WAITS", "1,3,12"), ",")[[1]])
BACKENDS <- c(serial = "BiocParallel::SerialParam()", multicore = "BiocParallel::MulticoreParam(2)",
    snow = "BiocParallel::SnowParam(2)")

child_script <- function(backend) {
    f <- tempfile(fileext = ".R")
    writeLines(c(
        "suppressPackageStartupMessages(library(bulkcausal))",
        "set.seed(1)",
        "x <- matrix(rnorm(500 * 2000), 500, dimnames = list(sprintf('g%03d', 1:500), NULL))",
        "cat('started', Sys.getpid(), '\\n')",
        sprintf(paste("r <- tryCatch(fitPairwise(x, verbose = FALSE, BPPARAM = %s),",
            "interrupt = function(e) 'interrupt', error = function(e) paste('error:', conditionMessage(e)))"), backend),
        "cat('ended', if (is.character(r)) r else 'finished', '\\n')"), f)
    f
}

r_pids <- function() as.integer(system("pgrep -x R", intern = TRUE, ignore.stderr = TRUE))

one <- function(name, wait, mode) {
    before <- r_pids()
    out <- tempfile()
    # setsid: the child leads its own process group, so "group" reaches its
    # workers and nothing else; its output goes to a file (workers left
    # behind would hold a pipe open)
    p <- process$new("setsid", c("-w", "Rscript", child_script(BACKENDS[[name]])), stdout = out, stderr = "")
    pid <- NULL
    t0 <- Sys.time()
    while (is.null(pid) && p$is_alive() && difftime(Sys.time(), t0, units = "secs") < 120) {
        hit <- grep("^started", readLines(out, warn = FALSE), value = TRUE)
        if (length(hit)) pid <- as.integer(strsplit(hit[1], " ")[[1]][2])
        Sys.sleep(0.05)
    }
    if (is.null(pid)) stop("the child did not start")
    Sys.sleep(wait)
    t1 <- Sys.time()
    system(paste0("kill -INT ", if (mode == "group") "-", pid))
    p$wait(120000)
    secs <- as.numeric(Sys.time() - t1, units = "secs")
    ended <- sub("^ended ", "", grep("^ended", readLines(out, warn = FALSE), value = TRUE))
    Sys.sleep(2)
    # R processes that this trial started and that outlived it (workers)
    left <- setdiff(r_pids(), before)
    if (length(left)) tools::pskill(left)
    data.frame(backend = name, signal = mode, wait = wait, seconds = round(secs, 2),
        ended = if (length(ended)) trimws(ended) else "(no result)", workers.left = length(left))
}

cat(machine_line(), "\n")
res <- do.call(rbind, lapply(names(BACKENDS), function(b) do.call(rbind, lapply(WAITS, function(w) {
    rbind(one(b, w, "caller"), one(b, w, "group"))
}))))
print(res, row.names = FALSE)
