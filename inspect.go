package whispeer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/whispeer-io/whispeer/internal/match"
)

// TopicStats describes one topic as the broker sees it, for introspection
// such as an admin API.
type TopicStats struct {
	Name string
	// Seq is the last sequence number (offset) assigned in the topic; 0
	// before its first message.
	Seq uint64
	// Messages counts the messages routed to the topic by this broker.
	Messages uint64
	// Retained is the number of messages kept for replay: the topic's log
	// in the store, or its in-memory history (see WithHistory).
	Retained int
	// Subscribers counts the live subscriptions whose pattern matches the
	// topic.
	Subscribers int
}

// Topics describes the topics matching pattern ("#" for all), sorted by
// name; with limit > 0, only the first limit of them. A topic exists once
// a message has been published to it or a subscription named it. The
// figures are a snapshot taken topic by topic while traffic flows; the call
// costs a match per topic returned, so use a limit on a broker with many
// topics.
func (b *Broker) Topics(pattern string, limit int) ([]TopicStats, error) {
	if err := match.ValidatePattern(pattern, b.limits); err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidPattern, truncate(pattern), err)
	}
	var names []string
	b.topics.Range(func(k, _ any) bool {
		if name := k.(string); match.Matches(pattern, name) {
			names = append(names, name)
		}
		return true
	})
	slices.SortFunc(names, strings.Compare)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]TopicStats, 0, len(names))
	for _, name := range names {
		v, ok := b.topics.Load(name)
		if !ok {
			continue
		}
		ts := v.(*topicState).info(len(b.subs.Match(name)))
		if ti, err := b.st.s.Topic(context.Background(), name); err == nil {
			ts.Retained = ti.Messages
		}
		out = append(out, ts)
	}
	return out, nil
}

// info returns the topic's description with its subscriber count.
func (ts *topicState) info(subscribers int) TopicStats {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return TopicStats{
		Name:        ts.name,
		Seq:         ts.seq,
		Messages:    ts.messages,
		Subscribers: subscribers,
	}
}

// Closed reports whether the broker has been closed (see [Broker.Close]).
func (b *Broker) Closed() bool { return b.closed.Load() }

// History calls fn with the messages of topic's history, its log in the
// broker's store or its in-memory history, from offset from on, oldest
// first, at most limit of them (no limit when limit <= 0), and returns
// what the history held when the read began. Messages already trimmed are
// skipped, so the first may have an offset above from. The read stops
// before a message that its topic's subscribers have not been handed yet,
// an [ExactlyOnce] message awaiting the store's sync and those behind it,
// and at the first error fn returns, which History returns. Messages are
// as subscribers get them replayed: a payload the broker sealed at rest
// is opened, an envelope stays one (Message.Sealed). fn must not modify
// them.
func (b *Broker) History(ctx context.Context, topic string, from uint64, limit int, fn func(*Message) error) (TopicInfo, error) {
	if err := match.ValidateTopic(topic, b.limits); err != nil {
		return TopicInfo{}, fmt.Errorf("%w %q: %w", ErrInvalidTopic, truncate(topic), err)
	}
	if b.closed.Load() {
		return TopicInfo{}, ErrClosed
	}
	info, err := b.st.s.Topic(ctx, topic)
	if err != nil {
		return TopicInfo{}, fmt.Errorf("store: %w", err)
	}
	below := uint64(noGate)
	if v, ok := b.topics.Load(topic); ok {
		ts := v.(*topicState)
		ts.mu.Lock()
		below = ts.gatedFrom()
		ts.mu.Unlock()
	}
	err = b.st.s.Read(ctx, topic, max(from, 1), limit, func(m *Message) error {
		if m.Seq >= below {
			return errBelow
		}
		d, err := b.st.fromStore(m)
		if err != nil {
			b.log.Warn("whispeer: skipping a stored message", "topic", m.Topic, "seq", m.Seq, "error", err)
			return nil
		}
		return fn(d)
	})
	if err == errBelow {
		err = nil
	}
	return info, err
}
