package netconn

import "time"

// keepHeld is the largest number of held queues whose slot a Batch keeps
// between batches.
const keepHeld = 1024

// Batch defers the start of writer goroutines while a reader handles the
// frames of one read: a queue sent to through the Batch, its own
// connection's or a subscriber's, starts its writer when the Batch is
// flushed rather than at once, so that a burst of publishes leaves every
// connection it reaches in one vectored write. A Batch belongs to one
// reader goroutine, which must flush it before it blocks.
type Batch struct {
	held []*Queue
	full []Waiter // queues past their high-water mark (flow.go)
	cfg  *Config  // the reader's own connection's, from Cork
}

// Flush starts the writers of the queues held since the last Flush, then,
// should the batch have filled queues past their high-water mark, waits for
// them to drain, up to the reader's MaxStall.
func (b *Batch) Flush() {
	for i, q := range b.held {
		q.release()
		b.held[i] = nil
	}
	b.held = b.held[:0]
	if cap(b.held) > keepHeld {
		b.held = nil
	}
	if len(b.full) > 0 {
		var max time.Duration
		if b.cfg != nil {
			max = b.cfg.MaxStall
		}
		b.stall(max)
	}
}

// fansOut reports whether the batch holds queues of at least two
// connections besides the reader's own: its flush will write to each.
func (b *Batch) fansOut() bool { return len(b.held) > 2 }
