package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/internal/msgid"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// QoS is a delivery guarantee, the broker's type.
type QoS = whispeer.QoS

// The delivery guarantees. At ExactlyOnce a publish and a delivery take
// two steps each (docs/protocol-native.md, "QoS flows").
const (
	AtMostOnce  = whispeer.AtMostOnce
	AtLeastOnce = whispeer.AtLeastOnce
	ExactlyOnce = whispeer.ExactlyOnce
)

// flagDup is the dup bit of a PUB's flags, the byte after the type.
const flagDup = 0x08

// maxQueued is how many bytes may wait for the writer of a live connection
// before Publish waits for it to catch up.
const maxQueued = 1 << 20

// topicLimits leave the size limits to the server: the client checks
// only the syntax of topics and patterns.
var topicLimits = match.Limits{MaxBytes: 1<<16 - 1, MaxLevels: 1 << 16}

// PublishOption configures one publish.
type PublishOption func(*pubConfig)

type pubConfig struct {
	qos     QoS
	id      string
	headers map[string]string // WithHeaders
	encoded Headers           // WithEncodedHeaders
}

// WithQoS sets the delivery guarantee (default AtMostOnce). At
// AtLeastOnce, Publish returns once the server has acknowledged the
// message; at ExactlyOnce, once the server has accepted it (PUBREC) and
// confirmed its release (PUBCOMP), the PUB and then the PUBREL sent again
// after every reconnect until then, so that the server stores and
// delivers the message once (see WithClientID).
func WithQoS(q QoS) PublishOption { return func(p *pubConfig) { p.qos = q } }

// WithID sets the message id (at most 255 bytes). Without it the client
// generates a unique one for QoS 1 and for sealed payloads, and leaves a
// plain QoS 0 message to the server to name.
func WithID(id string) PublishOption { return func(p *pubConfig) { p.id = id } }

// WithHeaders attaches headers to the message, encoded with the keys in
// sorted order. Headers are not encrypted: the server sees them, since it
// may route by them. It replaces the headers of an earlier
// WithEncodedHeaders.
func WithHeaders(h map[string]string) PublishOption {
	return func(p *pubConfig) { p.headers, p.encoded = h, Headers{} }
}

// WithEncodedHeaders attaches h to the message as it is, in its order and
// with its repeated keys: a received Message's Headers, to pass a message
// on, or headers made with [whispeer.NewHeaders]. Subscribers receive the
// same bytes. No key may be empty. Like WithHeaders, it replaces the
// headers of an earlier option.
func WithEncodedHeaders(h Headers) PublishOption {
	return func(p *pubConfig) { p.encoded, p.headers = h, nil }
}

// pending is a QoS 1 publish awaiting its PUBACK, or a QoS 2 one
// awaiting its PUBREC, then (released) its PUBCOMP.
type pending struct {
	id    string // views idb unless the id was given
	idb   [msgid.Len]byte
	frame []byte // the PUB frame, kept to be sent again after a reconnect
	qseq  uint64 // the order in which pending publishes were queued
	done  chan struct{}
	err   error // set before done is closed

	released bool // a QoS 2 PUBREC came: frame is the PUBREL
}

// sealScratch is where a sealed QoS 0 publish is encoded, outside the
// lock: its generated id and its frame.
type sealScratch struct {
	id    [msgid.Len]byte
	frame []byte
}

var scratch = sync.Pool{New: func() any { return &sealScratch{frame: make([]byte, 0, 1024)} }}

// Publish publishes payload to topic. At QoS 0 it returns once the message
// is queued for the connection (or, while disconnected, buffered; see
// WithPublishBuffer); at QoS 1 once the server acknowledged it, and if ctx
// ends first it returns ctx's error and stops sending the message again
// after a reconnect, though it may still be delivered. With a keyring the
// payload is sealed for topic before it leaves the client. Publish does
// not keep payload after it returns.
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, opts ...PublishOption) error {
	var o pubConfig
	if len(opts) > 0 {
		o = applyPublishOptions(opts)
	}
	if err := c.validate(topic); err != nil {
		return err
	}
	p := wire.Publish{Topic: bytesOf(topic), ID: bytesOf(o.id)}
	if o.headers != nil || o.encoded.Len() > 0 {
		h, err := wireHeaders(o)
		if err != nil {
			return fmt.Errorf("%w: headers: %w", whispeer.ErrInvalidOption, err)
		}
		p.Headers = h
	}
	switch o.qos {
	case AtMostOnce:
		if !c.seal {
			p.Payload = payload
			return c.enqueue(ctx, nil, &p, nil)
		}
		return c.publishSealed(ctx, topic, o.id, payload, &p)
	case AtLeastOnce, ExactlyOnce:
		if o.qos == ExactlyOnce && !c.granted(wire.CapQoS2) {
			return fmt.Errorf("%w: publishing at QoS 2: the server did not grant qos2", ErrUnsupported)
		}
		p.QoS = wire.QoS(o.qos)
		return c.publishAcked(ctx, topic, o.id, payload, &p)
	default:
		return fmt.Errorf("%w: publishing at QoS %d", ErrUnsupported, o.qos)
	}
}

// wireHeaders returns the headers that o's options attach, in the wire's
// form.
func wireHeaders(o pubConfig) (wire.Headers, error) {
	if o.headers != nil {
		return wire.HeadersFromMap(o.headers)
	}
	return wire.DecodeHeaders(o.encoded.Encoded())
}

// validate checks topic's syntax, once while a client publishes to the
// same topic again and again.
func (c *Client) validate(topic string) error {
	if last := c.valid.Load(); last != nil && *last == topic {
		return nil
	}
	if err := match.ValidateTopic(topic, topicLimits); err != nil {
		return fmt.Errorf("%w %q: %w", whispeer.ErrInvalidTopic, topic, err)
	}
	t := topic
	c.valid.Store(&t)
	return nil
}

// applyPublishOptions returns the configuration opts make. It is a
// function of its own so that a Publish without options does not pay for
// the configuration escaping to the heap.
func applyPublishOptions(opts []PublishOption) pubConfig {
	var o pubConfig
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// publishSealed publishes a sealed payload at QoS 0, sealing it before
// taking the lock.
func (c *Client) publishSealed(ctx context.Context, topic, id string, payload []byte, p *wire.Publish) error {
	sc := scratch.Get().(*sealScratch)
	if id == "" {
		c.ids.Fill(&sc.id)
		id = unsafe.String(&sc.id[0], msgid.Len)
		p.ID = sc.id[:]
	}
	frame, err := c.encode(sc.frame[:0], topic, id, payload, p)
	if err == nil {
		err = c.enqueue(ctx, frame, nil, nil)
	}
	if cap(frame) <= 64<<10 {
		sc.frame = frame[:0]
		scratch.Put(sc)
	}
	return err
}

// publishAcked publishes at QoS 1 and waits for the PUBACK, or at QoS 2
// (p.QoS) and waits for the PUBCOMP.
func (c *Client) publishAcked(ctx context.Context, topic, id string, payload []byte, p *wire.Publish) error {
	select {
	case c.window <- struct{}{}:
	default:
		select {
		case c.window <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	pd := &pending{done: make(chan struct{})}
	if id == "" {
		c.ids.Fill(&pd.idb)
		id = unsafe.String(&pd.idb[0], msgid.Len)
	}
	pd.id = id
	p.ID = bytesOf(id)
	frame, err := c.encode(make([]byte, 0, len(topic)+len(id)+len(payload)+96), topic, id, payload, p)
	if err == nil {
		pd.frame = frame
		err = c.enqueue(ctx, frame, nil, pd)
	}
	if err != nil {
		<-c.window
		return err
	}
	select {
	case <-pd.done:
		return pd.err
	case <-ctx.Done():
		if c.abandon(pd, ctx.Err()) {
			return ctx.Err()
		}
		return pd.err
	}
}

// encode appends p's PUB frame to dst. With a keyring it seals payload
// straight into the frame: the payload is the frame's last field, so the
// envelope is appended after the encoded head and the length fixed after.
func (c *Client) encode(dst []byte, topic, id string, payload []byte, p *wire.Publish) ([]byte, error) {
	n := len(dst)
	if !c.seal {
		p.Payload = payload
		out, err := wire.AppendPublish(dst, p)
		if err != nil {
			return dst, fmt.Errorf("%w: %w", whispeer.ErrInvalidOption, err)
		}
		return out, nil
	}
	p.Envelope, p.Payload = true, nil
	out, err := wire.AppendPublish(dst, p)
	if err != nil {
		return dst, fmt.Errorf("%w: %w", whispeer.ErrInvalidOption, err)
	}
	out, err = c.engine.Seal(out, topic, id, payload)
	if err != nil {
		return dst, fmt.Errorf("seal: %w", err)
	}
	if size := len(out) - n - 4; size > wire.MaxFrameSize {
		return dst, fmt.Errorf("%w: sealed frame of %d bytes", whispeer.ErrPayloadTooLarge, size)
	}
	binary.BigEndian.PutUint32(out[n:], uint32(len(out)-n-4))
	return out, nil
}

// enqueue queues a PUB frame: frame if it is encoded already, else p,
// encoded in place. pd, for QoS 1, enters the in-flight set.
func (c *Client) enqueue(ctx context.Context, frame []byte, p *wire.Publish, pd *pending) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.waitRoomLocked(ctx); err != nil {
		return err
	}
	if pd != nil {
		if _, dup := c.inflight[pd.id]; dup {
			return fmt.Errorf("%w: message id %q already in flight", whispeer.ErrInvalidOption, pd.id)
		}
	}
	n := len(c.pend)
	if frame != nil {
		c.pend = append(c.pend, frame...)
	} else {
		var err error
		if c.pend, err = wire.AppendPublish(c.pend, p); err != nil {
			return fmt.Errorf("%w: %w", whispeer.ErrInvalidOption, err)
		}
	}
	if size := len(c.pend) - n - 4; size > c.maxOut {
		c.pend = c.pend[:n]
		return fmt.Errorf("%w: frame of %d bytes, server limit %d", whispeer.ErrPayloadTooLarge, size, c.maxOut)
	}
	if c.cur == nil && len(c.pend) > c.cfg.buffer {
		c.pend = c.pend[:n]
		return ErrBufferFull
	}
	if pd != nil {
		c.qseq++
		pd.qseq = c.qseq
		c.inflight[pd.id] = pd
	} else {
		c.sent++
	}
	if n == 0 {
		c.wakeLocked()
	}
	return nil
}

// waitRoomLocked returns once a publish may be queued: at once while
// disconnected (or fails, with buffering off), else when the writer has
// room. c.mu is held; it is released while waiting.
func (c *Client) waitRoomLocked(ctx context.Context) error {
	for {
		switch {
		case c.closing:
			return ErrClosed
		case c.cur == nil && c.cfg.buffer == 0:
			return ErrDisconnected
		case c.cur == nil || len(c.pend) < maxQueued:
			return nil
		}
		ch := c.changedLocked()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			c.mu.Lock()
			return ctx.Err()
		}
		c.mu.Lock()
	}
}

// onPubAck completes the QoS 1 publish that a PUBACK acknowledges.
func (c *Client) onPubAck(a *wire.Ack) {
	c.mu.Lock()
	if p := c.inflight[string(a.ID)]; p != nil && !p.once() {
		var err error
		if a.Code != wire.CodeOK {
			err = serverError(a.Code, false, wire.TypePublish, a.Text)
		}
		c.finishLocked(p, err)
	}
	c.mu.Unlock()
}

// abandon gives up waiting for p's PUBACK; it reports false when p was
// already finished. c.mu is not held.
func (c *Client) abandon(p *pending, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[p.id] != p {
		return false
	}
	c.finishLocked(p, err)
	return true
}

// finishLocked completes p with err (nil: acknowledged). c.mu is held.
func (c *Client) finishLocked(p *pending, err error) {
	delete(c.inflight, p.id)
	if err == nil {
		c.sent++ // before Publish can return
	}
	p.err = err
	close(p.done)
	<-c.window
	c.notifyLocked()
}
