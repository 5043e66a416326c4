package bench

import (
	"bufio"
	"io"
	"sync"
)

// batcher is a buffered writer that its own goroutine flushes whenever
// something was written: writes coalesce into large ones while the writer
// is busy, and go out at once when it is not (the nats.go client's scheme).
type batcher struct {
	mu   sync.Mutex // guards bw and err
	bw   *bufio.Writer
	err  error
	kick chan struct{}
	done chan struct{}
}

// newBatcher returns a batcher writing to w through a buffer of size bytes.
func newBatcher(w io.Writer, size int) *batcher {
	b := &batcher{bw: bufio.NewWriterSize(w, size), kick: make(chan struct{}, 1), done: make(chan struct{})}
	go b.loop()
	return b
}

// write calls fn with the buffer under the lock, then wakes the flusher.
func (b *batcher) write(fn func(*bufio.Writer) error) error {
	b.mu.Lock()
	err := b.err
	if err == nil {
		err = fn(b.bw)
	}
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
	return err
}

// flush writes out whatever is buffered.
func (b *batcher) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = b.bw.Flush()
	}
	return b.err
}

// loop flushes after every kick until close.
func (b *batcher) loop() {
	for {
		select {
		case <-b.kick:
			b.flush()
		case <-b.done:
			return
		}
	}
}

// close flushes and stops the flusher goroutine.
func (b *batcher) close() {
	b.flush()
	close(b.done)
}
