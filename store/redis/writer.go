package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
	"github.com/whispeer-io/whispeer/store/internal/record"
)

// Appends wait in a queue of DefaultMaxQueue for the store's writer,
// which sends up to maxBatch of them to Redis in one pipeline and waits
// for their replies before the next: one round trip for many appends, in
// the order they were queued, so that a publisher's messages keep their
// order whether it waited for each or not. Within a pipeline, a run of
// consecutive appends to one topic is one call of the append script, of
// at most maxRun messages and maxRunBytes of records (a larger record
// goes alone): one script, one read of the topic's state and one publish
// for the run, where Redis's cost per call, not per message, is most of
// what it spends.
const (
	DefaultMaxQueue = 1 << 15
	maxBatch        = 512
	maxRun          = 64
	maxRunBytes     = 64 << 10
)

// ErrBusy is returned by AppendAsync when DefaultMaxQueue appends already
// wait for Redis, as while it does not answer.
var ErrBusy = &whispeer.Error{Code: whispeer.CodeUnavailable, Message: "whispeer: redis store: too many appends waiting for Redis"}

// appendSHA is the SHA-1 of the append script, which EVALSHA names.
var appendSHA = func() string {
	sum := sha1.Sum([]byte(appendLua))
	return hex.EncodeToString(sum[:])
}()

// pending is one append waiting for the writer.
type pending struct {
	topic string
	rec   string // the record
	size  string // the payload's length
	at    string // the time, in milliseconds since the Unix epoch
	dedup string // the de-duplication key, or ""
	done  func(off, ep uint64, err error)
}

// prepare returns the append of m, its done still to set.
func (s *Store) prepare(m *whispeer.Message) *pending {
	rec := record.AppendMessage(make([]byte, 0, 64+len(m.Payload)), 0, 0, m)
	p := &pending{topic: m.Topic, rec: rueidis.BinaryString(rec),
		size: strconv.Itoa(len(m.Payload)), at: strconv.FormatInt(m.Time.UnixMilli(), 10)}
	if m.QoS == whispeer.ExactlyOnce && s.opt.dedup > 0 {
		p.dedup = s.dedupKey(m)
	}
	return p
}

// AppendAsync queues m's append and returns without waiting for Redis:
// m is numbered when the writer's pipeline reaches Redis, after every
// append queued before it, and its Seq is not set. A broker with a
// backplane appends so its QoS 0 messages, and its QoS 1 messages whose
// publisher does not wait, so that a publisher's appends are pipelined.
// Without done (QoS 0) it fails with ErrBusy when the queue is full, and
// a failure after it returned is logged by the store's writer and the
// message lost, as QoS 0 allows. With done, a full queue is waited on
// until ctx ends, and done is called once, as Append's is: when Redis
// has the message, as durable as the options ask, or with the error that
// kept it from being.
func (s *Store) AppendAsync(ctx context.Context, m *whispeer.Message, done func(error)) error {
	release, err := s.check()
	if err != nil {
		return err
	}
	defer release()
	p := s.prepare(m)
	p.done = func(_, _ uint64, err error) {
		switch {
		case done == nil:
			if err != nil {
				s.failed.Add(1)
			}
		case err != nil:
			done(fmt.Errorf("redis append: %w", err))
		default:
			s.durable(m, done)
		}
	}
	if done != nil {
		ctx, cancel := s.bound(ctx)
		defer cancel()
		if err := s.enqueue(ctx, p); err != nil {
			return fmt.Errorf("redis append: %w", err)
		}
		return nil
	}
	select {
	case s.queue <- p:
		return nil
	default:
		return ErrBusy
	}
}

// enqueue queues p, waiting for room until ctx is done.
func (s *Store) enqueue(ctx context.Context, p *pending) error {
	select {
	case s.queue <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write sends what is queued to Redis, a batch at a time, until the store
// closes; then it fails what is left with ErrStoreClosed.
func (s *Store) write() {
	defer close(s.written)
	batch := make([]*pending, 0, maxBatch)
	for {
		select {
		case p := <-s.queue:
			batch = append(batch[:0], p)
		case <-s.stop:
			for {
				select {
				case p := <-s.queue:
					p.done(0, 0, whispeer.ErrStoreClosed)
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case p := <-s.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		s.flush(batch)
	}
}

// flush appends batch in one pipeline, a run of one topic's appends
// per call of the append script, and hands each append its outcome. A
// call that Redis refused for not knowing the script (it restarted) is
// run again with the script's text; the others of its node failed the
// same way after it, and are run again after it, in order.
func (s *Store) flush(batch []*pending) {
	ctx, cancel := s.bound(context.Background())
	defer cancel()
	var runs [][]*pending
	var calls []scriptCall
	for len(batch) > 0 {
		n := runLen(batch)
		c := s.call(batch[:n])
		runs, calls = append(runs, batch[:n]), append(calls, c)
		batch = batch[n:]
	}
	cmds := make(rueidis.Commands, len(calls))
	for i, c := range calls {
		cmds[i] = s.c.B().Evalsha().Sha1(appendSHA).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
	}
	for i, r := range s.c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			r = appendScript.Exec(ctx, s.c, calls[i].keys, calls[i].args)
		}
		settle(runs[i], r)
	}
}

// runLen returns how many appends at the start of batch one call of the
// append script takes: those of the first one's topic, up to maxRun and
// maxRunBytes.
func runLen(batch []*pending) int {
	n, size := 1, len(batch[0].rec)
	for n < len(batch) && n < maxRun && batch[n].topic == batch[0].topic {
		if size += len(batch[n].rec); size > maxRunBytes {
			break
		}
		n++
	}
	return n
}

// scriptCall is the keys and arguments of one call of the append script.
type scriptCall struct{ keys, args []string }

// call returns the call of the append script that appends run, appends of
// one topic.
func (s *Store) call(run []*pending) scriptCall {
	topic := run[0].topic
	keys := s.keys(topic)
	args := make([]string, 4, 4+4*len(run))
	args[0] = strconv.FormatUint(epoch.New(), 10)
	if s.opt.publish {
		keys = append(keys, s.Channel(topic))
		args[3] = "1"
		if !s.opt.noPatterns {
			args[1] = s.patternChannel(topic)
		}
	}
	if s.opt.dedup > 0 {
		args[2] = strconv.FormatInt(max(s.opt.dedup.Milliseconds(), 1), 10)
	}
	for _, p := range run {
		d := ""
		if p.dedup != "" {
			keys, d = append(keys, p.dedup), "1"
		}
		args = append(args, p.rec, p.size, p.at, d)
	}
	return scriptCall{keys, args}
}

// settle hands each append of run its outcome from r, the reply of the
// append script: {epoch, reply of each append}.
func settle(run []*pending, r rueidis.RedisResult) {
	vs, err := r.ToArray()
	if err == nil && len(vs) != len(run)+1 {
		err = fmt.Errorf("%w: redis append script replied %d values for %d messages", whispeer.ErrCorrupt, len(vs), len(run))
	}
	var ep uint64
	if err == nil {
		ep, err = parseEpoch(vs[0])
	}
	if err != nil {
		for _, p := range run {
			p.done(0, 0, err)
		}
		return
	}
	for i, p := range run {
		p.done(appended(vs[i+1], ep))
	}
}

// appended returns the offset and epoch of one append from v, its reply
// from the append script: its offset, or {offset, epoch} of the append it
// repeats, which fails with whispeer.ErrDuplicate.
func appended(v rueidis.RedisMessage, ep uint64) (uint64, uint64, error) {
	if dup, err := v.ToArray(); err == nil {
		off, ep, err := offsetEpoch(dup)
		if err == nil {
			err = fmt.Errorf("%w: at offset %d of epoch %d", whispeer.ErrDuplicate, off, ep)
		}
		return off, ep, err
	}
	off, err := v.AsInt64()
	if err != nil || off < 1 {
		return 0, 0, fmt.Errorf("%w: redis offset %d: %v", whispeer.ErrCorrupt, off, err)
	}
	return uint64(off), ep, nil
}
