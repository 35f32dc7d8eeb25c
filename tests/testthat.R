library(testthat)
library(bulkcausal)

test_check("bulkcausal")
