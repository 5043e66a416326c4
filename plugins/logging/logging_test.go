package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
	"github.com/whispeer-io/whispeer/plugins/logging"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// refuser rejects publishes to "closed".
type refuser struct{}

func (refuser) Name() string { return "refuser" }

func (refuser) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	if m.Topic == "closed" {
		return nil, errors.New("topic closed")
	}
	return m, nil
}

// records runs f against a broker with the logging plugin at level and
// returns the records it logged.
func records(t *testing.T, level slog.Level, opts logging.Options, f func(b *whispeer.Broker)) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	opts.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
	b, err := whispeer.New(whispeer.WithPlugin(logging.New(opts)), whispeer.WithPlugin(refuser{}),
		whispeer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	f(b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// traffic drives every hook the plugin implements.
func traffic(t *testing.T, b *whispeer.Broker) {
	h := hook.NewSet(b.Plugins(), nil) // as a server runs them
	c := hook.Conn{ID: "ws:1", RemoteAddr: "127.0.0.1:5000", Transport: "ws"}
	h.Connected(c)
	c.User = "alice"
	h.Authenticated(c)
	if _, err := b.Subscribe("chat/#", func(context.Context, *whispeer.Message) error { return nil },
		whispeer.WithInline(), whispeer.WithSubscriber(c.ID)); err != nil {
		t.Fatal(err)
	}
	ctx, from := context.Background(), whispeer.WithPublisher(c)
	err := b.Publish(ctx, "chat/a", []byte("SECRET-PAYLOAD"), from, whispeer.WithID("m1"),
		whispeer.WithHeaders(map[string]string{"authorization": "SECRET-HEADER"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "closed", []byte("SECRET-PAYLOAD"), from); !errors.Is(err, whispeer.ErrRejected) {
		t.Fatalf("Publish(closed) = %v, want ErrRejected", err)
	}
	h.Acked(c, "m1")
	h.Disconnected(c, io.ErrUnexpectedEOF)
}

func TestPlugin_LogsEventsWithoutSecrets(t *testing.T) {
	var raw bytes.Buffer
	recs := records(t, slog.LevelDebug, logging.Options{Headers: true}, func(b *whispeer.Broker) { traffic(t, b) })
	var msgs []string
	for _, r := range recs {
		msgs = append(msgs, r["level"].(string)+" "+r["msg"].(string))
		json.NewEncoder(&raw).Encode(r)
	}
	want := "INFO whispeer: connected,INFO whispeer: authenticated,DEBUG whispeer: subscribed," +
		"DEBUG whispeer: published,DEBUG whispeer: published,WARN whispeer: rejected," +
		"DEBUG whispeer: acked,INFO whispeer: disconnected"
	if got := strings.Join(msgs, ","); got != want {
		t.Errorf("records:\n %s\nwant\n %s", got, want)
	}
	if s := raw.String(); strings.Contains(s, "SECRET") {
		t.Errorf("a payload or header value was logged:\n%s", s)
	}
	pub := recs[3]
	conn := pub["conn"].(map[string]any)
	if pub["topic"] != "chat/a" || pub["id"] != "m1" || pub["bytes"] != float64(14) || conn["user"] != "alice" {
		t.Errorf("publish record %v lacks topic, id, size or user", pub)
	}
	if h := pub["headers"].([]any); len(h) != 1 || h[0] != "authorization" {
		t.Errorf("headers %v, want the names only", h)
	}
	rej := recs[5]
	if rej["plugin"] != "refuser" || rej["reason"] != "topic closed" || rej["op"] != "publish" || rej["topic"] != "closed" {
		t.Errorf("rejection record %v", rej)
	}
	if last := recs[len(recs)-1]; last["reason"] != "unexpected EOF" {
		t.Errorf("disconnect record %v lacks the reason", last)
	}
}

func TestPlugin_InfoLevelSkipsPerMessageRecords(t *testing.T) {
	recs := records(t, slog.LevelInfo, logging.Options{}, func(b *whispeer.Broker) { traffic(t, b) })
	for _, r := range recs {
		if r["level"] == "DEBUG" {
			t.Errorf("debug record at info level: %v", r)
		}
	}
	if len(recs) != 4 { // connected, authenticated, rejected, disconnected
		t.Errorf("%d records, want 4: %v", len(recs), recs)
	}
}

func TestPlugin_LogsDrops(t *testing.T) {
	recs := records(t, slog.LevelInfo, logging.Options{}, func(b *whispeer.Broker) {
		started, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		_, err := b.Subscribe("a", func(ctx context.Context, m *whispeer.Message) error {
			if m.ID == "1" {
				close(started)
				<-release
			}
			return nil
		}, whispeer.WithSubscriber("w"), whispeer.WithQueueSize(1), whispeer.WithOverflow(whispeer.DropNewest))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		b.Publish(ctx, "a", nil, whispeer.WithID("1")) // the handler holds it
		<-started
		b.Publish(ctx, "a", nil, whispeer.WithID("2")) // queued
		b.Publish(ctx, "a", nil, whispeer.WithID("3")) // dropped
	})
	if len(recs) != 1 {
		t.Fatalf("records %v, want one drop", recs)
	}
	r := recs[0]
	if r["msg"] != "whispeer: dropped" || r["level"] != "WARN" || r["id"] != "3" || r["reason"] != "queue_full" || r["subscriber"] != "w" {
		t.Errorf("drop record %v", r)
	}
}

func TestNew_DefaultLogger(t *testing.T) {
	p := logging.New(logging.Options{})
	if p.Name() != logging.Name {
		t.Errorf("Name = %q", p.Name())
	}
}
