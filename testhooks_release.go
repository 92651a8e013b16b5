//go:build !ocirt_testhooks

package main

// testPausePoint: a release build has no pause points (see testhooks.go).
func testPausePoint() func(string) { return nil }
