//go:build race

package e2e_test

// raceDetector tells tests the race detector is on: it multiplies memory
// use several times, so memory bounds mean nothing under it.
const raceDetector = true
