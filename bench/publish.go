package bench

import (
	"context"
	"time"
)

// publishBatch is how many publishes go out between two window checks.
const publishBatch = 16

// stallAfter is how long a publisher waits for delivery progress before it
// takes the missing messages as lost and goes on.
const stallAfter = 200 * time.Millisecond

// publishLoop publishes p round-robin over topics until stop closes,
// keeping at most window publishes ahead of delivery. It returns the
// number of stalls (windows given up on) and the first publish error.
func (f *flock) publishLoop(ctx context.Context, pub Client, topics []string, p []byte, window int64, stop <-chan struct{}) (stalls int, err error) {
	var forgiven int64
	for k := 0; ; {
		select {
		case <-stop:
			return stalls, nil
		case <-ctx.Done():
			return stalls, ctx.Err()
		default:
		}
		for range publishBatch {
			if err := pub.Publish(ctx, topics[k%len(topics)], p); err != nil {
				return stalls, err
			}
			k++
		}
		f.published.Add(publishBatch)
		if !f.throttle(window, &forgiven, stop) {
			stalls++
		}
	}
}

// throttle blocks while the publisher is more than window publishes ahead
// of delivery. It returns false after a stall: no progress for stallAfter,
// when it forgives the gap so that a lossy target keeps being driven.
func (f *flock) throttle(window int64, forgiven *int64, stop <-chan struct{}) bool {
	last := f.delivered()
	if f.published.Load()-last-*forgiven <= window {
		return true
	}
	f.waiting.Store(true)
	defer f.waiting.Store(false)
	timer := time.NewTimer(stallAfter)
	defer timer.Stop()
	for {
		d := f.delivered()
		ahead := f.published.Load() - d - *forgiven
		if ahead <= window {
			return true
		}
		if d != last {
			last = d
			timer.Reset(stallAfter)
		}
		select {
		case <-f.wake:
		case <-stop:
			return true
		case <-timer.C:
			*forgiven += ahead - window
			return false
		}
	}
}
