package netconn

import "time"

// Defaults of the options that every transport has.
const (
	DefaultMaxConnections  = 10000
	DefaultMaxPendingBytes = 4 << 20
	DefaultWriteTimeout    = 10 * time.Second
	DefaultMaxStall        = 2 * time.Second
	DefaultPingInterval    = 30 * time.Second
	DefaultCloseTimeout    = 5 * time.Second
)

// SetDefault sets *v to def when it is zero: how the transports fill in
// the options a caller left unset.
func SetDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
