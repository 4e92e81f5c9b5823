package policy

import "flag"

// update is the flag every package accepts so that `go test ./... -update`
// rewrites the golden files of the packages that have them; this package
// has none, and ignores it.
var _ = flag.Bool("update", false, "rewrite golden files and cached oracle output instead of comparing against them")
