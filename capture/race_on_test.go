//go:build race

package capture

// raceSlowdown scales latency bounds: the race detector slows the reading
// loop about tenfold.
const raceSlowdown = 10
