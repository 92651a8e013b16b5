package main

import "testing"

func TestRoundRatios(t *testing.T) {
	for _, tc := range []struct {
		name         string
		mine, theirs []float64
		want         string
	}{
		{"lowest and highest of the rounds", []float64{190, 210, 200}, []float64{200, 200, 200}, " (rounds 0.95-1.05)"},
		{"each round against its own", []float64{100, 300}, []float64{50, 600}, " (rounds 0.50-2.00)"},
		{"one round has no spread", []float64{100}, []float64{100}, ""},
		{"rounds that do not pair up", []float64{100, 100}, []float64{100}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := roundRatios(tc.mine, tc.theirs); got != tc.want {
				t.Errorf("roundRatios(%v, %v) = %q, want %q", tc.mine, tc.theirs, got, tc.want)
			}
		})
	}
}
