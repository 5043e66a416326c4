package bench

import (
	"math"
	"slices"
)

// Median returns the middle of xs (the mean of the two middle values for an
// even count), or NaN for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile returns the p-th percentile (0–100) of sorted by the
// nearest-rank method: the smallest value that at least p% of the values
// are less than or equal to. It returns NaN for none.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p/100*float64(n) - 1e-9)) // 1e-9: 99.9% of 1000 is 999, not 999.0000000001
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Spread returns the smallest and largest of xs, or NaN, NaN for none.
func Spread(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(xs), slices.Max(xs)
}
