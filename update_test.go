package main

import "flag"

// update rewrites every golden file and cached oracle output of this
// package from the current code (and, for the tshark cache, from tshark)
// instead of comparing against them: `go test ./... -update`. Each
// package with golden files declares the same flag, and every package
// with tests declares it, so the flag is accepted across ./....
var update = flag.Bool("update", false, "rewrite golden files and cached oracle output instead of comparing against them")
