//go:build race

package whispeer_test

// raceEnabled is set when the race detector is on.
const raceEnabled = true
