//go:build !race

package scan

// raceSlowdown: see race_on_test.go.
const raceSlowdown = 1

// raceScale: see race_on_test.go.
const raceScale = 1
