package stamp_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/stamp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPlugin_StampsCopy(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 30, 0, 5, time.FixedZone("CET", 3600))
	p := stamp.New(stamp.Options{Node: "eu-1", Now: func() time.Time { return at }})
	b, err := whispeer.New(whispeer.WithPlugin(p))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var got *whispeer.Message
	if _, err := b.Subscribe("a", func(_ context.Context, m *whispeer.Message) error {
		got = m
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"trace": "1", stamp.DefaultNodeHeader: "forged"}
	if err := b.Publish(context.Background(), "a", []byte("p"), whispeer.WithHeaders(own)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"trace":                 "1",
		stamp.DefaultNodeHeader: "eu-1",
		stamp.DefaultTimeHeader: "2026-11-22T09:30:00.000000005Z",
	}
	if !maps.Equal(got.Headers.Map(), want) {
		t.Errorf("headers %v, want %v", got.Headers, want)
	}
	if string(got.Payload) != "p" {
		t.Errorf("payload %q changed", got.Payload)
	}
	if len(own) != 2 || own[stamp.DefaultNodeHeader] != "forged" {
		t.Errorf("the publisher's header map was modified: %v", own)
	}
}

func TestPlugin_CustomHeadersNoNode(t *testing.T) {
	p := stamp.New(stamp.Options{TimeHeader: "received"})
	m, err := p.OnPublish(context.Background(), &whispeer.Message{Topic: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if at, _ := m.Headers.Get("received"); m.Headers.Len() != 1 || !parses(at) {
		t.Errorf("headers %v, want only a parsable received time", m.Headers)
	}
}

// parses reports whether s is a time in RFC 3339 with nanoseconds.
func parses(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}
