package server

import (
	"context"
	"sync"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/admin"
)

// The server's side of the HTTP API for applications' backends
// (server/admin): publishing, a topic's history and description, and
// closing a user's connections.

// Publish publishes ps for the admin API, in their order, each under its
// publisher's name, and returns once each is as durable as its QoS asks
// (see admin.Backend). The QoS 1 messages are appended together and
// awaited together; a QoS 2 message waits for its own sync, de-duplicated
// by its publisher's name and id.
func (s *Server) Publish(ctx context.Context, ps []admin.Publication) []admin.Result {
	res := make([]admin.Result, len(ps))
	var wg sync.WaitGroup
	for i := range ps {
		s.publishFor(ctx, &ps[i], &res[i], &wg)
	}
	wg.Wait()
	return res
}

// publishFor publishes p into r; a QoS 1 publish is added to wg, which is
// done once it is durable.
func (s *Server) publishFor(ctx context.Context, p *admin.Publication, r *admin.Result, wg *sync.WaitGroup) {
	if len(p.Headers) > 0 {
		if _, err := wire.HeadersFromMap(p.Headers); err != nil {
			r.Err = &whispeer.Error{Code: whispeer.CodeInvalid, Message: "headers: " + errorText(err)}
			return
		}
	}
	var rc whispeer.Receipt
	opts := append(make([]whispeer.PublishOption, 0, 6),
		whispeer.WithPublisher(whispeer.PublisherName(p.Publisher)), whispeer.WithReceipt(&rc))
	if p.ID != "" {
		opts = append(opts, whispeer.WithID(p.ID))
	}
	if p.QoS != 0 {
		opts = append(opts, whispeer.WithQoS(whispeer.QoS(p.QoS)))
	}
	if p.Headers != nil {
		opts = append(opts, whispeer.WithHeaders(p.Headers))
	}
	if p.Sealed {
		opts = append(opts, whispeer.WithSealedPayload())
	}
	var err error
	if whispeer.QoS(p.QoS) == whispeer.AtLeastOnce {
		wg.Add(1)
		err = s.broker.PublishAsync(ctx, p.Topic, p.Payload, func(err error) {
			r.Err = err
			wg.Done()
		}, opts...)
		if err != nil {
			wg.Done()
		}
	} else {
		err = s.broker.Publish(ctx, p.Topic, p.Payload, opts...)
	}
	if err != nil {
		r.Err = err
		return
	}
	r.Offset, r.Epoch = rc.Offset, rc.Epoch
	r.Duplicate = whispeer.QoS(p.QoS) == whispeer.ExactlyOnce && rc.Offset == 0
}

// History reads topic's history for the admin API: see
// whispeer.Broker.History.
func (s *Server) History(ctx context.Context, topic string, from uint64, limit int, fn func(*admin.HistoryMessage) error) (admin.TopicInfo, error) {
	var hm admin.HistoryMessage
	info, err := s.broker.History(ctx, topic, from, limit, func(m *whispeer.Message) error {
		hm = admin.HistoryMessage{Offset: m.Seq, ID: m.ID, Time: m.Time, QoS: uint8(m.QoS),
			Headers: m.Headers.Map(), Payload: m.Payload, Sealed: m.Sealed}
		return fn(&hm)
	})
	if err != nil {
		return admin.TopicInfo{}, err
	}
	return admin.TopicInfo{Epoch: info.Epoch, FirstOffset: info.First, LastOffset: info.Last,
		Messages: info.Messages, Bytes: info.Bytes}, nil
}

// Topic describes topic for the admin API, or returns admin.ErrNoTopic
// when nothing was published to it or subscribed to it and it has no
// history.
func (s *Server) Topic(topic string) (admin.Topic, error) {
	ts, err := s.Topics(topic, 1)
	if err != nil {
		return admin.Topic{}, err
	}
	if len(ts) == 1 && ts[0].Name == topic {
		return ts[0], nil
	}
	info, err := s.broker.TopicInfo(context.Background(), topic)
	if err != nil {
		return admin.Topic{}, err
	}
	if info.Last == 0 {
		return admin.Topic{}, admin.ErrNoTopic
	}
	return admin.Topic{Name: topic, LastOffset: info.Last, Retained: info.Messages, Epoch: info.Epoch, FirstOffset: info.First}, nil
}

// DisconnectUser closes the connections authenticated as user, telling
// their clients that the administrator closed them, and returns how many.
func (s *Server) DisconnectUser(user string) int {
	n := 0
	for _, c := range s.ops.conns.all() {
		if c.connInfo().User == user {
			c.sess.closeWith(errClosedByAdmin)
			n++
		}
	}
	return n
}

var (
	_ admin.Backend        = (*Server)(nil)
	_ admin.TopicDescriber = (*Server)(nil)
)
