//go:build !race

package race

// Enabled: the race detector is on.
const Enabled = false

// Slowdown scales latency bounds.
const Slowdown = 1

// Scale divides the sizes of the heaviest tests.
const Scale = 1
