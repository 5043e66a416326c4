package admin

import (
	"context"
	"time"
)

// Backend is a Source that serves applications' backends: it publishes,
// reads topics' history and closes a user's connections. The endpoints
// that need it answer 404 for a Source that is not one.
type Backend interface {
	// Publish publishes ps in their order and returns their results, one
	// per publication, once each is as durable as its QoS asks: at QoS 0
	// once routed, at QoS 1 once durable under the store's sync policy, at
	// QoS 2 once durable too, a retry of an id already published under
	// the same publisher answered without being delivered again.
	Publish(ctx context.Context, ps []Publication) []Result
	// History calls fn with the messages of topic from offset from on,
	// oldest first, at most limit of them, and returns the topic's log as
	// the read began. It returns an error classed whispeer.CodeInvalid for
	// an invalid topic.
	History(ctx context.Context, topic string, from uint64, limit int, fn func(*HistoryMessage) error) (TopicInfo, error)
	// DisconnectUser closes the connections authenticated as user, telling
	// their clients the administrator closed them, and returns how many.
	DisconnectUser(user string) int
}

// Publication is one message that the API publishes.
type Publication struct {
	Topic     string
	Payload   []byte // the message's bytes, decoded from their "encoding"
	ID        string // "message_id"; required at QoS 1 and 2
	QoS       uint8
	Headers   map[string]string
	Sealed    bool   // the payload is an envelope, routed untouched
	Publisher string // "api:" and the key's name, or "api:admin"
}

// Result is the outcome of one Publication: where it landed, or the error
// that refused it.
type Result struct {
	Offset uint64 // its offset in its topic's log
	Epoch  uint64 // the topic's epoch
	// Duplicate marks a QoS 2 publication whose id its publisher had
	// published already: it was not delivered again, and Offset is 0.
	Duplicate bool
	Err       error // nil, or an error whose whispeer.Code classes it
}

// TopicInfo describes a topic's log.
type TopicInfo struct {
	Epoch       uint64 // changes when the history is lost
	FirstOffset uint64 // the oldest message kept; LastOffset+1 when none is
	LastOffset  uint64 // the newest message appended; 0 for none
	Messages    int    // messages kept
	Bytes       int64  // their payload bytes
}

// HistoryMessage is one message of a topic's history.
type HistoryMessage struct {
	Offset  uint64
	ID      string
	Time    time.Time
	QoS     uint8
	Headers map[string]string
	Payload []byte
	Sealed  bool // the payload is an envelope
}

// Defaults of Limits.
const (
	DefaultMaxBodyBytes      = 4 << 20
	DefaultMaxBatch          = 1000
	DefaultMaxBatchBodyBytes = 16 << 20
	DefaultHistoryLimit      = 100
	MaxHistoryLimit          = 1000
)

// Limits bound what one request to the publish and history endpoints may
// ask for. A zero field takes its default.
type Limits struct {
	MaxBodyBytes      int // the body of POST /api/publish
	MaxBatch          int // publications in one POST /api/publish/batch
	MaxBatchBodyBytes int // the body of POST /api/publish/batch
}

// withDefaults returns l with its zero fields set to the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = DefaultMaxBatch
	}
	if l.MaxBatchBodyBytes <= 0 {
		l.MaxBatchBodyBytes = DefaultMaxBatchBodyBytes
	}
	return l
}
