package netconn

// writeNow writes the queue from the calling goroutine, a reader flushing
// its Batch, as far as the socket takes it without waiting: no writer
// goroutine to start and schedule for the common case of a socket with
// room. What the socket does not take is put back at the head of the queue
// for the writer goroutine, which also takes over whatever was queued
// meanwhile. q.mu is held and q.writing set; it releases q.mu.
func (q *Queue) writeNow() {
	batch, frames := q.take(q.spare)
	q.spare = nil
	q.mu.Unlock()

	total := 0
	for _, b := range batch {
		total += len(b)
	}
	n, err := q.tryWrite(batch)
	switch {
	case err != nil:
		clear(batch)
		q.written = putChunks(q.written)
		q.Kill(err)
		q.mu.Lock()
		q.wroteBatch()
		q.spare = batch[:0]
		q.exit()
	case n == total:
		q.owner.Wrote(frames)
		clear(batch)
		q.written = putChunks(q.written)
		q.mu.Lock()
		q.wroteBatch()
		q.spare = batch[:0]
		if len(q.queue) > 0 || q.flush { // sent or closed meanwhile
			q.mu.Unlock()
			q.startWriter()
			return
		}
		q.exit()
	default:
		q.putBack(batch, skip(batch, n), frames, total-n)
		q.startWriter()
	}
}

// putBack puts rest, what a write left of batch (a suffix of it), at the
// head of the queue, with the chunks it is in; q.mu is not held. The
// batch's slice becomes the queue and the queue's slice, emptied, the
// spare, so that a socket that keeps filling up costs no allocation.
func (q *Queue) putBack(batch, rest [][]byte, frames, size int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := copy(batch, rest)
	merged := append(batch[:k], q.queue...)
	if n := len(merged); n < len(batch) {
		clear(batch[n:]) // what rest moved out of
	}
	clear(q.queue)
	q.queue, q.spare = merged, q.queue[:0]
	if q.run >= 0 {
		q.run += k
	}
	if q.msg >= 0 {
		q.msg += k
	}
	q.chunks = append(q.chunks, q.written...)
	clear(q.written)
	q.written = q.written[:0]
	q.frames += frames
	q.pending += size
	q.inWrite = 0
}

// skip returns bufs without their first n bytes.
func skip(bufs [][]byte, n int) [][]byte {
	for n > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if n > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
