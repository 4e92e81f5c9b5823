//go:build !race

package mcp

const raceOn, raceSlowdown = false, 1
