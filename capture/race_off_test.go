//go:build !race

package capture

const raceSlowdown = 1
