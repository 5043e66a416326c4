package file

import (
	"fmt"
	"log/slog"

	"github.com/whispeer-io/whispeer"
)

// DefaultSegmentSize is the size from which a new segment is started.
const DefaultSegmentSize = 64 << 20

// maxSegmentSize keeps positions within a uint32.
const maxSegmentSize = 1 << 30

// Option configures a Store.
type Option func(*options)

type options struct {
	sync        whispeer.SyncPolicy
	segmentSize int64
	logger      *slog.Logger
}

// WithFsync sets when appends are forced to stable storage (default
// [whispeer.SyncAlways]).
func WithFsync(p whispeer.SyncPolicy) Option { return func(o *options) { o.sync = p } }

// WithSegmentSize sets the size from which a new segment is started
// (default 64 MiB, at most 1 GiB).
func WithSegmentSize(n int64) Option { return func(o *options) { o.segmentSize = n } }

// WithLogger sets where the store reports damaged records it skips and a
// torn tail it cuts (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

func newOptions(opts []Option) (options, error) {
	o := options{segmentSize: DefaultSegmentSize}
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.segmentSize < 1 || o.segmentSize > maxSegmentSize {
		return o, fmt.Errorf("%w: segment size %d not in [1, %d]", whispeer.ErrInvalidOption, o.segmentSize, maxSegmentSize)
	}
	return o, nil
}
