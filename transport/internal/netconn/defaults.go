package netconn

import "time"

// SetDefault sets *v to def when it is zero: how the transports fill in
// the options a caller left unset.
func SetDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
