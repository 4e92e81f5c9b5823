//go:build race

package intel

// raceOn: the race detector slows loading about tenfold, so time
// bounds are scaled by raceSlowdown.
const raceOn, raceSlowdown = true, 10
