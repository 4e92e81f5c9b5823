//go:build race

package race

// Enabled: the race detector is on.
const Enabled = true

// Slowdown scales latency bounds.
const Slowdown = 10

// Scale divides the sizes of the heaviest tests (a quarter of their
// packets).
const Scale = 4
