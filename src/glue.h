// Shared pieces of the Rcpp glue: converting R values to core types,
// polling for interrupts and progress, and turning core errors into R errors.
#ifndef BULKCAUSAL_GLUE_H
#define BULKCAUSAL_GLUE_H

#include <Rcpp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bulkcausal/aggregate.hpp"
#include "bulkcausal/parallel.hpp"
#include "bulkcausal/scm.hpp"

namespace glue {

// A seed from R (a whole number in [0, 2^53]) as the core's 64-bit seed.
std::uint64_t as_seed(double seed);

// Checks for a user interrupt without leaving C++ by longjmp, and prints a
// progress line on stderr when `verbose`.  Runs on the main thread only.
bulkcausal::PollFn make_poll(bool verbose, const std::string& what);

// Sets the stop flag of the work units a worker runs: a file path whose
// existence makes every poll return false (the caller was interrupted);
// "" clears it.
void set_stop_file(const std::string& path);

// For loops of small steps outside the core's task runner (one column or
// pair at a time): throws bulkcausal::Cancelled when the user interrupted
// or the stop flag is up.  Looks at most every 20 ms, so it may be called
// once per step however short.  Main thread only.
void check_stop();

// Rebuilds the core Model from the list .model_to_core() makes in R.
bulkcausal::Model model_from_list(const Rcpp::List& m);

bulkcausal::Groups groups_from_list(const Rcpp::List& groups);

bulkcausal::AggSpec agg_spec(const std::string& fun, double pseudo, bool na_rm);

// An R error for a value the aggregation refused, naming row and column.
[[noreturn]] void stop_value_error(const bulkcausal::ValueError& e, const std::string& fun,
                                   const Rcpp::RObject& rownames, const Rcpp::RObject& colnames);

// Asks the kernel to back a large, not yet touched output buffer with huge
// pages (Linux transparent huge pages in "madvise" mode), so that filling it
// costs a fault per 2 MiB rather than per 4 KiB.  A hint only: it changes no
// value, and does nothing where it is not supported.
void advise_huge_pages(void* data, std::size_t bytes);

}  // namespace glue

#endif
