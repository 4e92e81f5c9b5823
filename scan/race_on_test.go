//go:build race

package scan

// raceSlowdown scales latency bounds: the race detector slows the
// analysis about tenfold. The bounds are checked unscaled by the tests
// run without it (.ci/run runs the worst-case tests both ways).
const raceSlowdown = 10
