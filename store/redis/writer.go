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
// order whether it waited for each or not.
const (
	DefaultMaxQueue = 1 << 15
	maxBatch        = 512
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
	keys, args []string
	done       func(off, ep uint64, err error)
}

// prepare returns the append of m, its done still to set.
func (s *Store) prepare(m *whispeer.Message) *pending {
	rec := record.AppendMessage(make([]byte, 0, 64+len(m.Payload)), 0, 0, m)
	keys := s.keys(m.Topic)
	args := []string{strconv.FormatUint(epoch.New(), 10), rueidis.BinaryString(rec),
		strconv.Itoa(len(m.Payload)), strconv.FormatInt(m.Time.UnixMilli(), 10), "", ""}
	if m.QoS == whispeer.ExactlyOnce && s.opt.dedup > 0 {
		keys = append(keys, s.dedupKey(m))
		args[5] = strconv.FormatInt(max(s.opt.dedup.Milliseconds(), 1), 10)
	}
	if s.opt.publish {
		keys = append(keys, s.Channel(m.Topic))
	}
	if s.opt.publish && !s.opt.noPatterns {
		args[4] = s.patternChannel(m.Topic)
	}
	return &pending{keys: keys, args: args}
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
	key := p.keys[0]
	p.done = func(_, _ uint64, err error) {
		switch {
		case done == nil:
			if err != nil {
				s.failed.Add(1)
			}
		case err != nil:
			done(fmt.Errorf("redis append: %w", err))
		default:
			s.durable(m, key, done)
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

// flush appends batch in one pipeline and hands each append its outcome.
// An append that Redis refused for not knowing the script (it restarted)
// is run again with the script's text; the others of its node failed the
// same way after it, and are run again after it, in order.
func (s *Store) flush(batch []*pending) {
	ctx, cancel := s.bound(context.Background())
	defer cancel()
	cmds := make(rueidis.Commands, len(batch))
	for i, p := range batch {
		cmds[i] = s.c.B().Evalsha().Sha1(appendSHA).Numkeys(int64(len(p.keys))).Key(p.keys...).Arg(p.args...).Build()
	}
	for i, r := range s.c.DoMulti(ctx, cmds...) {
		p := batch[i]
		if err := r.Error(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			r = appendScript.Exec(ctx, s.c, p.keys, p.args)
		}
		vs, err := r.ToArray()
		if err != nil {
			p.done(0, 0, err)
			continue
		}
		off, ep, err := offsetEpoch(vs)
		if err == nil && len(vs) > 2 {
			err = fmt.Errorf("%w: at offset %d of epoch %d", whispeer.ErrDuplicate, off, ep)
		}
		p.done(off, ep, err)
	}
}
