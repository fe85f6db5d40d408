//go:build !race

package e2e_test

// raceDetector tells tests the race detector is on; see race_on_test.go.
const raceDetector = false
