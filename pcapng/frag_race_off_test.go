//go:build !race

package pcapng

// floodScale: see frag_race_on_test.go.
const floodScale = 1
