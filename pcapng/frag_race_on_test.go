//go:build race

package pcapng

// floodScale divides the hostile fragment floods under the race detector,
// which makes each packet about 50 times as slow: a million fragments
// would take a minute.
const floodScale = 10
