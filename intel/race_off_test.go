//go:build !race

package intel

const raceOn, raceSlowdown = false, 1
