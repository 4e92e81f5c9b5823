// Package race tells tests whether they run under the race detector
// (go test -race), and how much to relax or shrink for it: one
// definition for every package's tests.
//
// Under the detector the analysis runs about ten times slower and fresh
// memory costs far more, so latency bounds are scaled by Slowdown and
// the heaviest tests divide their sizes by Scale. What they assert holds
// at any size, and .ci/run runs every test again without the detector,
// at full size and with the bounds as meant.
package race
