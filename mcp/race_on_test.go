//go:build race

package mcp

const raceOn, raceSlowdown = true, 10
