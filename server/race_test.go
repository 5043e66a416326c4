//go:build race

package server

// raceEnabled is set when the race detector is on, which slows the
// thousand-connection tests down by an order of magnitude.
const raceEnabled = true
