package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Size is a number of bytes written as text, such as "512MiB", "2GiB" or
// "1073741824" (see parseSize). In TOML it may also be a bare whole number
// of bytes.
type Size string

var sizeType = reflect.TypeFor[Size]()

// sizeUnits are the units a size may end with, and their multipliers:
// decimal (KB = 1000) and binary (KiB = 1024). Longer suffixes come first
// so that "MiB" is not read as "B".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// errSize describes the sizes parseSize accepts.
var errSize = errors.New(`want a whole number of bytes, optionally followed by B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, such as "512MiB"`)

// parseSize parses a positive size such as "512MiB", "2GiB", "1500MB" or
// "1073741824" into bytes. The number is a whole decimal number with no
// sign, spaces or fraction; the unit is spelled exactly as in sizeUnits.
func parseSize(s string) (int64, error) {
	digits, mult := s, int64(1)
	for _, u := range sizeUnits {
		if d, ok := strings.CutSuffix(s, u.suffix); ok {
			digits, mult = d, u.mult
			break
		}
	}
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("invalid size %q: %w", s, errSize)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("size %q must be positive", s)
	}
	return n * mult, nil
}
