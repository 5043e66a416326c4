package server

import (
	"context"

	"github.com/whispeer-io/whispeer"
)

// A subscription that resumes or replays from the store catches up in a
// goroutine of the broker's, at the pace of its connection: a stored
// message is handed over only when the connection's queue is under its
// low-water mark and the session's QoS 1 window can take it, so a replay
// of any length is neither dropped nor queued whole. A catch-up that could
// not deliver every message it should have, such as those retention
// removed before they were read, is reported to the client with an error.

// pacing returns how the broker paces the catch-up of a subscription of
// the session, whose replayed messages go to replay; incomplete is called
// should the catch-up end without delivering every message it should have.
func (s *session) pacing(incomplete func(), replay whispeer.Handler) whispeer.Pacing {
	if s.replayCtx == nil {
		s.replayCtx, s.stopReplays = context.WithCancel(context.Background())
	}
	return whispeer.Pacing{
		Context: s.replayCtx,
		Room:    s.replayRoom,
		Replay:  replay,
		Done: func(recovered bool) {
			if !recovered {
				incomplete()
			}
		},
	}
}

// replayRoom returns nil when the session can take one more stored
// message, or a channel closed when it may: while a subscribe holds the
// deliveries back, while the connection's queue is over its low-water
// mark, or while the QoS 1 window and its queue are full.
func (s *session) replayRoom() <-chan struct{} {
	s.mu.Lock()
	held := s.released
	s.mu.Unlock()
	if held != nil {
		return held
	}
	if ch := s.link.Room(); ch != nil {
		return ch
	}
	return s.window.room()
}
