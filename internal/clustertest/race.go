//go:build race

package clustertest

// raceEnabled says the tests run with the race detector, and so does the
// binary they build.
const raceEnabled = true
