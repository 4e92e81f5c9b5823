//go:build race

package scan

// raceSlowdown scales latency bounds: the race detector slows the
// analysis about tenfold. The bounds are checked unscaled by the tests
// run without it (.ci/run runs the worst-case tests both ways).
const raceSlowdown = 10

// raceScale divides the sizes of the heaviest tests under the race
// detector (a quarter of their packets): what they assert holds at any
// size, and .ci/run runs them again at full size without the detector,
// where their time and memory bounds are meant.
const raceScale = 4
