//go:build !race

package main

const raceOn, raceSlowdown = false, 1
