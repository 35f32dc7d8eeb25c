# The parallel back-end of a call.

# Checks BPPARAM and starts its workers unless they are up (or it is
# serial), so that the several parallel steps of one call reuse them
# instead of starting and stopping workers each time.  Returns TRUE when it
# started them: the caller then stops them on exit (on.exit(bpstop())), and
# a back-end the user started is left as it is.
#' @importFrom BiocParallel bpisup bpstart bpstop bpnworkers
.bp_start <- function(BPPARAM) {
    if (!is(BPPARAM, "BiocParallelParam")) {
        stop(sprintf(paste("`BPPARAM` must be a BiocParallel back-end such as SerialParam() or MulticoreParam(2),",
            "not %s"), .fmt_value(BPPARAM)), call. = FALSE)
    }
    if (bpnworkers(BPPARAM) <= 1L || bpisup(BPPARAM)) return(FALSE)
    # An interrupt (or error) inside bpstart() leaves the workers that had
    # already connected waiting for good: the socket cluster holds them in a
    # local list that is gone once the call unwinds.  This exit handler runs
    # after bpstart()'s own frames have unwound and closed what they knew of,
    # and closes every socket connection opened since: each such worker
    # reads the end of its connection and quits.
    before <- rownames(showConnections(all = TRUE))
    started <- FALSE
    on.exit(if (!started) .bp_abandon(BPPARAM, before))
    bpstart(BPPARAM)
    .bp_own(BPPARAM)
    .bt_local(BPPARAM)
    started <- TRUE
    TRUE
}

# A batchtools registry the call made (and removes at its end) for jobs on
# this machine (socket, multicore or interactive cluster functions), without
# a configuration file: polled every second, its files written
# uncompressed.  batchtools' defaults suit a scheduler's queue (polling every
# 5 s, backing off to 2 min; every job's input and results gzipped for a
# shared file system); for local jobs they only add waiting, and gzip of the
# results of many fits (225 MB for all pairs of 500 genes) costs more than
# the fits.  A configuration file, or a registry the user started, is left
# as it is.
#' @importFrom BiocParallel bpbackend
.bt_local <- function(BPPARAM) {
    if (!is(BPPARAM, "BatchtoolsParam") ||
        !bpbackend(BPPARAM) %in% c("socket", "multicore", "interactive")) {
        return(invisible(FALSE))
    }
    conf <- BPPARAM$registryargs$conf.file
    if (is.null(conf)) conf <- batchtools::findConfFile()
    if (length(conf) && !is.na(conf[1L])) return(invisible(FALSE))
    reg <- BPPARAM$registry
    reg$sleep <- 1
    reg$compress <- FALSE
    invisible(TRUE)
}

# Back-ends the running call started itself, with the process ids of their
# socket workers (SnowParam): an interrupt ends those workers at once
# (.bp_end_owned()) instead of waiting for each to finish what it is doing,
# e.g. loading the package before its first unit (several seconds).  A
# back-end the user started is never in here: its workers stay for reuse.
.bp_owned <- new.env(parent = emptyenv())

.bp_own <- function(BPPARAM) {
    if (!is(BPPARAM, "SnowParam") || is(BPPARAM, "MulticoreParam"))
        return(invisible(NULL))
    # a function of the base environment: the workers need no package to run it
    pid <- function(i) Sys.getpid()
    environment(pid) <- baseenv()
    pids <- tryCatch(unique(unlist(bplapply(seq_len(bpnworkers(BPPARAM)), pid,
        BPPARAM = BPPARAM))), error = function(e) integer())
    .bp_owned$entries <- c(.bp_owned$entries,
        list(list(param = BPPARAM, pids = as.integer(pids))))
    invisible(NULL)
}

.bp_owned_index <- function(BPPARAM) {
    which(vapply(.bp_owned$entries, function(e) identical(e$param, BPPARAM),
        logical(1)))
}

# Ends the workers of a back-end the call started (after an interrupt; see
# .bp_own()); nothing for any other back-end.
.bp_end_owned <- function(BPPARAM) {
    hit <- .bp_owned_index(BPPARAM)
    for (h in hit) tools::pskill(.bp_owned$entries[[h]]$pids)
    invisible(length(hit) > 0L)
}

# bpstop() of a back-end the call started: also when its workers are gone
# (ended after an interrupt), and it forgets their process ids.
.bp_stop <- function(BPPARAM) {
    hit <- .bp_owned_index(BPPARAM)
    if (length(hit)) .bp_owned$entries <- .bp_owned$entries[-hit]
    # bpstop() of a BatchtoolsParam removes the registry the call's bpstart()
    # made, after waiting 5 s by default for a user to abort the removal; no
    # user is at that prompt inside a call
    op <- options(BIOCPARALLEL_BATCHTOOLS_REMOVE_REGISTRY_WAIT = 0)
    on.exit(options(op))
    tryCatch(bpstop(BPPARAM), error = function(e) NULL,
        warning = function(w) NULL)
    invisible(NULL)
}

# Clean-up of a bpstart() that did not return (see .bp_start()).
.bp_abandon <- function(BPPARAM, before) {
    if (isTRUE(tryCatch(bpisup(BPPARAM), error = function(e) FALSE)))
        .bp_stop(BPPARAM)
    now <- showConnections(all = TRUE)
    new <- now[setdiff(rownames(now), before), , drop = FALSE]
    for (id in rownames(new)[new[, "class"] %in% c("sockconn", "servsockconn") &
        new[, "isopen"] == "opened"]) {
        try(close(getConnection(as.integer(id))), silent = TRUE)
    }
    invisible(NULL)
}

# How many work units a call splits `n` items into: a few per worker, so
# that a slow unit does not hold the others up and the progress moves, but
# few enough that start-up and transfer stay a small share of each unit's
# work; serially one unit, or `serial` when progress is shown.
# `per.worker`: units per worker (1 for units of equal cost that carry a
# large shared input).
.n_units <- function(n, BPPARAM, progress, per.worker = 4L, serial = 20L) {
    nw <- bpnworkers(BPPARAM)
    # a batchtools job starts an R session of its own: one unit per worker
    if (is(BPPARAM, "BatchtoolsParam")) per.worker <- 1L
    want <- if (nw > 1L) per.worker * nw else if (progress) serial else 1L
    max(1L, min(want, n))
}

# Splits items 1..length(group) into at most `nunits` units of about equal
# size, keeping the items of one group (e.g. the pairs of one regulator)
# together and in their order.  The one splitting rule of every parallel
# call (fitPairwise, the audit's steps, the study, the aggregation).
# `interleave = TRUE`: unit u takes every nunits-th item from item u
# (items of mixed cost, no groups), so that the units cost about the same.
.work_units <- function(group, nunits, interleave = FALSE) {
    n <- length(group)
    if (!n) return(list())
    if (nunits <= 1L) return(list(seq_len(n)))
    if (interleave)
        return(unname(split(seq_len(n), (seq_len(n) - 1L) %% min(nunits, n))))
    f <- match(group, unique(group))
    size <- tabulate(f)
    # a group's unit: where its middle falls in the cumulative item count
    mid <- cumsum(size) - size / 2
    unit <- pmin(nunits, floor(mid / n * nunits) + 1)
    out <- split(seq_len(n), unit[f])
    unname(out[lengths(out) > 0L])
}

# Runs .f(task, ...) on every task of .tasks, on the workers of BPPARAM
# (serially when it has one), and returns the results in task order.  `sizes`:
# each task's count of `what` (pairs, replicates, genes), which the progress bar
# counts as each task returns.
#' @importFrom BiocParallel bpiterate bplapply
.run_units <- function(.tasks, .f, ..., BPPARAM,
    sizes = rep(1L, length(.tasks)), what = "tasks", progress = FALSE,
    label = NULL) {
    # (dotted names: the arguments passed on to .f may be called anything)
    tasks <- .tasks
    fun <- .f
    tick <- .progress_bar(sum(sizes), what, progress, label)
    out <- vector("list", length(tasks))
    if (bpnworkers(BPPARAM) <= 1L || length(tasks) <= 1L) {
        for (i in seq_along(tasks)) {
            out[i] <- list(fun(tasks[[i]], ...))
            tick(sizes[i])
        }
        return(out)
    }
    # an error on a worker reads as it would serially
    rethrow <- function(e) stop(.remote_message(e), call. = FALSE)
    # workers need not load the package for units of the compiled core
    units <- .portable_units(fun, tasks, list(...))
    fun <- units$fun
    if (is(BPPARAM, "BatchtoolsParam")) {
        # batchtools runs all jobs before any result returns, and its
        # bpiterate() needs an empty registry, which a back-end reused for
        # several steps does not have: bplapply() (which clears it)
        res <- tryCatch(bplapply(tasks, fun, ..., BPPARAM = BPPARAM),
            bperror = rethrow)
        tick(sum(sizes))
        return(unname(res))
    }
    i <- 0L
    next_task <- function() {
        if (i >= length(tasks)) return(NULL)
        i <<- i + 1L
        list(id = i, task = tasks[[i]])
    }
    # An interrupt makes BiocParallel wait for the units the workers are
    # running before it returns; the stop flag (a file the workers' compiled
    # loops look for) ends those units within a fraction of a second.  It is
    # created by a calling handler, before that wait.
    stop.file <- tempfile("bulkcausal-stop-")
    on.exit(unlink(stop.file), add = TRUE)
    # Workers of a back-end this call started are ended at once instead;
    # BiocParallel's clean-up then fails to reach them, and that error is
    # turned back into the interrupt it follows.
    ended <- FALSE
    raise_flag <- function(c) {
        file.create(stop.file, showWarnings = FALSE)
        ended <<- .bp_end_owned(BPPARAM)
    }
    after_end <- function(e) if (ended) .resignal_interrupt()
    # results are put in place as they arrive, so the bar moves with them
    withCallingHandlers(tryCatch(bpiterate(next_task, units$call, .fun = fun,
        ..., .stop.file = stop.file, REDUCE = function(acc, r) {
            acc[r$id] <- list(r$value)
            tick(sizes[r$id])
            acc
        }, init = out, BPPARAM = BPPARAM), bperror = rethrow),
        interrupt = raise_flag, error = after_end)
}

# Units that run without the package's namespace.  A fresh worker (a
# SnowParam worker, a batchtools job) that unserialises a function of this
# package loads its namespace first, and with it the Bioconductor classes it
# imports: about 5 s per worker on the package's test machine, longer on a
# cluster's shared file system, and paid again by every batchtools job.
# Units that compute in the compiled core need none of that: .portable()
# copies such a unit function, and the package functions and constants it
# uses, into an environment under the base environment (with the functions
# of R's own packages it imports, such as methods::is), and the copy loads
# only the core's shared library (with Rcpp's namespace, which its compiled
# code calls into) on the worker, in a few milliseconds.  Returns NULL when
# the function needs anything else (a function of an imported package that R
# does not attach by default, an S4 generic, an environment), so that the
# unit runs as it is.
#' @importFrom codetools findGlobals
.portable <- function(f) {
    ns <- topenv(environment(.portable))
    env <- new.env(parent = baseenv())
    default <- c("base", "stats", "utils", "methods", "graphics", "grDevices",
        "datasets")
    todo <- list(f)
    while (length(todo)) {
        g <- todo[[1L]]
        todo <- todo[-1L]
        for (nm in findGlobals(g)) {
            if (exists(nm, envir = env, inherits = FALSE)) next
            if (!exists(nm, envir = ns, inherits = FALSE)) {
                if (exists(nm, envir = parent.env(ns), inherits = FALSE)) {
                    # imported: from R's own packages (stats, methods, ...),
                    # which a worker need not have attached, the function
                    # itself (it travels as a reference to its namespace,
                    # loaded in a moment); from any other package, not portable
                    obj <- get(nm, envir = parent.env(ns))
                    home <- if (is.function(obj) && !is.primitive(obj))
                        environmentName(topenv(environment(obj)))
                    if (!is.null(home) && !home %in% default) return(NULL)
                    assign(nm, obj, envir = env)
                }
                next  # base, or a local name
            }
            obj <- get(nm, envir = ns, inherits = FALSE)
            if (inherits(obj, "NativeSymbolInfo")) {
                # the compiled routine, found by its registered name once the
                # library is loaded
                obj <- obj$name
            } else if (is.function(obj)) {
                if (isS4(obj) || is.primitive(obj)) return(NULL)
                todo <- c(todo, obj)
                environment(obj) <- env
            } else if (!.plain(obj)) {
                return(NULL)
            }
            assign(nm, obj, envir = env)
        }
    }
    environment(f) <- env
    # (the wrapper finds these two in env on the worker; named here too so
    # that the code reads as it runs)
    .portable_f <- f
    .portable_load <- .load_core
    environment(.portable_load) <- env
    env$.portable_f <- .portable_f
    env$.portable_load <- .portable_load
    wrapper <- function(...) {
        .portable_load()
        .portable_f(...)
    }
    environment(wrapper) <- env
    wrapper
}

# Loads the compiled core into a worker that has not loaded the package (see
# .portable()); nothing where it is loaded already.
.load_core <- function() {
    if ("bulkcausal" %in% names(getLoadedDLLs())) return(invisible(NULL))
    loadNamespace("Rcpp")
    library.dynam("bulkcausal", "bulkcausal",
        dirname(find.package("bulkcausal")))
    invisible(NULL)
}

# Whether a value needs no package to be used on a worker: NULL, atomic
# vectors, and lists (data frames) of such, without S4 objects, functions
# or environments.
.plain <- function(x) {
    if (is.null(x)) return(TRUE)
    if (isS4(x) || is.environment(x) || is.function(x)) return(FALSE)
    if (is.atomic(x))
        return(is.null(attr(x, "class")) || is.factor(x) ||
            inherits(x, c("Date", "POSIXct")))
    if (!is.list(x)) return(FALSE)
    if (!is.null(attr(x, "class")) && !is.data.frame(x)) return(FALSE)
    all(vapply(x, .plain, logical(1)))
}

# The unit function and the runner of one unit, in their portable form when
# the function and everything sent with it are (see .portable()).
.portable_units <- function(fun, tasks, args) {
    if (!.plain(tasks) || !.plain(args))
        return(list(fun = fun, call = .unit_call))
    pf <- .portable(fun)
    pc <- .portable(.unit_call)
    if (is.null(pf) || is.null(pc)) return(list(fun = fun, call = .unit_call))
    list(fun = pf, call = pc)
}

# Signals an interrupt again (to the caller's handlers, as the user's
# Ctrl-C would reach them) and, when none takes it, returns to the top
# level as an interrupt does.
.resignal_interrupt <- function() {
    signalCondition(structure(list(), class = c("interrupt", "condition")))
    invokeRestart("abort")
}

# The message of the first error a worker raised (as a serial run would
# have given it), from BiocParallel's summary of the failed tasks.
.remote_message <- function(e) {
    m <- conditionMessage(e)
    if (!grepl("first remote error:", m, fixed = TRUE)) return(m)
    m <- sub("(?s).*first remote error:\\s*", "", m, perl = TRUE)
    trimws(sub("^Error( in .*?)?: ", "", m, perl = TRUE))
}

# One unit on a worker: its result tagged with its position.  Its compiled
# loops stop when `.stop.file` appears (the caller was interrupted).
.unit_call <- function(.x, .fun, ..., .stop.file = "") {
    set_stop_file_cpp(.stop.file)
    on.exit(set_stop_file_cpp(""))
    list(id = .x$id, value = .fun(.x$task, ...))
}

# A progress bar of `total` items: "<label> 120/380 pairs [===>--] 32%,
# 14s left", drawn by the progress package (on the console's message
# stream, so suppressMessages() silences it).  Returns a function that
# advances it by n.  `show = FALSE`: a function that does nothing.
.progress_bar <- function(total, what, show, label = NULL) {
    if (!isTRUE(show) || total <= 0) return(function(n = 1L) invisible(NULL))
    fmt <- paste0(if (!is.null(label)) paste0(label, " "), ":current/:total ",
        what, " [:bar] :percent, :eta left")
    pb <- progress::progress_bar$new(format = fmt, total = total, clear = FALSE,
        show_after = 0, force = TRUE)
    # the bar is drawn at 0 so that a long first unit shows something
    pb$tick(0)
    function(n = 1L) {
        if (!pb$finished) pb$tick(n)
        invisible(NULL)
    }
}

# The threads per worker a settings list asks for (1 when it does not say).
.threads_of <- function(s) if (is.null(s$num.threads)) 1L else s$num.threads
