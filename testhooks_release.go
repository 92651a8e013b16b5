//go:build !ocirt_testhooks

package main

// testPausePoint: a release build has no pause points (see testhooks.go).
func testPausePoint() func(string) { return nil }

// signalCatcherDisabled: a release build always catches signals in C where
// it can (see testhooks.go).
func signalCatcherDisabled() bool { return false }
