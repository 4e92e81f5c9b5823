//go:build race

package main

// raceOn: the race detector slows the reading loop about tenfold, so
// latency bounds are scaled by raceSlowdown.
const raceOn, raceSlowdown = true, 10
