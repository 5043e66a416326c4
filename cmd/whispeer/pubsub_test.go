package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/subopt"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

// nativeServer runs a server in the test process with its native TCP
// listener and returns it with the listener's URL.
func nativeServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	return nativeServerWith(t, nil)
}

// nativeServerWith is nativeServer with the configuration changed by
// edit, when it is not nil.
func nativeServerWith(t *testing.T, edit func(*config.Config)) (*server.Server, string) {
	t.Helper()
	cfg := config.Default()
	cfg.Store.Kind = config.StoreMemory // no database in the package directory
	if edit != nil {
		edit(cfg)
	}
	s, err := server.New(cfg, server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.ServeTCP(ln)
	}()
	t.Cleanup(func() {
		s.Shutdown(context.Background())
		<-served
	})
	return s, "tcp://" + ln.Addr().String()
}

func TestPubSub(t *testing.T) {
	_, url := nativeServer(t)
	t.Setenv(envUser, "admin")
	t.Setenv(envPassword, "password")
	ctx := context.Background()
	if _, _, err := execute(t, ctx, "pub", "--url", url, "chat/lobby", "hello"); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	root.SetArgs([]string{"pub", "--url", url, "--qos", "1", "-H", "lang=en", "chat/lobby"})
	root.SetIn(strings.NewReader("from stdin"))
	root.SetOut(io.Discard)
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatal(err)
	}

	out, _, err := execute(t, ctx, "sub", "--url", url, "--last", "2", "--count", "2", "--json", "chat/#")
	if err != nil {
		t.Fatal(err)
	}
	var got []jsonMessage
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m jsonMessage
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
		got = append(got, m)
	}
	if len(got) != 2 || got[0].Payload != "hello" || got[1].Payload != "from stdin" {
		t.Fatalf("sub printed %+v, want hello then from stdin", got)
	}
	if got[1].QoS != 1 || got[1].Headers["lang"] != "en" || got[1].Seq != 2 || !got[1].Replayed {
		t.Errorf("second message %+v, want qos 1, its header, seq 2, replayed", got[1])
	}

	out, _, err = execute(t, ctx, "sub", "--url", url, "--last", "1", "--count", "1", "chat/lobby")
	if err != nil || out != "chat/lobby from stdin\n" {
		t.Fatalf("plain output %q, %v", out, err)
	}
}

func TestPubSub_EndToEnd(t *testing.T) {
	s, url := nativeServer(t)
	keys := filepath.Join(t.TempDir(), "keys.json")
	if _, err := runCmd(t, "keygen", keys); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auth := []string{"--url", url, "--user", "admin", "--password", "password", "--key-file", keys}
	if _, _, err := execute(t, ctx, append([]string{"pub", "--qos", "1"}, append(auth, "secret/plans", "MARKER-for-eyes-only")...)...); err != nil {
		t.Fatal(err)
	}
	var held []byte
	if _, err := s.Broker().Subscribe("secret/plans", func(_ context.Context, m *whispeer.Message) error {
		held = m.Payload
		return nil
	}, whispeer.WithInline(), subopt.Raw, whispeer.WithReplay(1)); err != nil {
		t.Fatal(err)
	}
	if !envelope.IsEnvelope(held) || strings.Contains(string(held), "MARKER") {
		t.Fatalf("the server holds %q, want an envelope", held)
	}
	out, _, err := execute(t, ctx, append([]string{"sub", "--last", "1", "--count", "1"}, append(auth, "secret/#")...)...)
	if err != nil || out != "secret/plans MARKER-for-eyes-only\n" {
		t.Fatalf("sub with the key printed %q, %v", out, err)
	}
}

func TestPub_Errors(t *testing.T) {
	_, url := nativeServer(t)
	ctx := context.Background()
	if _, _, err := execute(t, ctx, "pub", "--url", url, "--user", "admin", "--password", "wrong", "a", "x"); err == nil {
		t.Error("published with a wrong password")
	}
	if _, _, err := execute(t, ctx, "pub", "--url", url, "--user", "admin", "--password", "password", "a/+", "x"); err == nil {
		t.Error("published to a pattern")
	}
	if _, _, err := execute(t, ctx, "pub", "--url", url, "-H", "novalue", "a", "x"); err == nil || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("bad header: %v", err)
	}
}

// TestPubSub_ExactlyOnce publishes one message twice at QoS 2 under the
// same client and message id, as a publisher that retries does: the
// server keeps it once, and sub --qos 2 prints it once, at QoS 2.
func TestPubSub_ExactlyOnce(t *testing.T) {
	_, url := nativeServer(t)
	t.Setenv(envUser, "admin")
	t.Setenv(envPassword, "password")
	ctx := context.Background()
	for _, args := range [][]string{
		{"--id", "o-9", "orders", "nine"},
		{"--id", "o-9", "orders", "nine"},
		{"--id", "o-10", "orders", "ten"},
	} {
		if _, _, err := execute(t, ctx, append([]string{"pub", "--url", url, "--qos", "2", "--client-id", "shop-1"}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := execute(t, ctx, "sub", "--url", url, "--qos", "2", "--last", "10", "--count", "2", "--json", "orders")
	if err != nil {
		t.Fatal(err)
	}
	var got []jsonMessage
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m jsonMessage
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%v in %q", err, out)
		}
		got = append(got, m)
	}
	if len(got) != 2 || got[0].Payload != "nine" || got[1].Payload != "ten" || got[0].QoS != 2 || got[0].ID != "o-9" {
		t.Fatalf("sub printed %+v, want nine then ten at QoS 2", got)
	}
}

// TestPubSub_Durable runs sub --durable twice with the same client id: the
// second run prints what was published between the runs, and not what
// the first printed.
func TestPubSub_Durable(t *testing.T) {
	srv, url := nativeServer(t)
	t.Setenv(envUser, "admin")
	t.Setenv(envPassword, "password")
	ctx := context.Background()
	pub := func(id, payload string) {
		t.Helper()
		if _, _, err := execute(t, ctx, "pub", "--url", url, "--qos", "2", "--client-id", "shop", "--id", id, "orders", payload); err != nil {
			t.Fatal(err)
		}
	}
	sub := func(count string) (string, error) {
		out, _, err := execute(t, ctx, "sub", "--url", url, "--qos", "2", "--durable", "--client-id", "billing", "--count", count, "orders")
		return out, err
	}
	done := make(chan string, 1)
	go func() {
		out, err := sub("1")
		if err != nil {
			t.Error(err)
		}
		done <- out
	}()
	for srv.Broker().Stats().Subscriptions == 0 { // the first run has subscribed
		time.Sleep(time.Millisecond)
	}
	pub("o-1", "one")
	if out := <-done; out != "orders one\n" {
		t.Fatalf("the first run printed %q, want one", out)
	}
	pub("o-2", "two")
	pub("o-3", "three")
	if out, err := sub("2"); err != nil || out != "orders two\norders three\n" {
		t.Fatalf("the second run printed %q, %v; want two then three", out, err)
	}
	if _, _, err := execute(t, ctx, "sub", "--url", url, "--durable", "orders"); err == nil || !strings.Contains(err.Error(), "--durable needs") {
		t.Fatalf("sub --durable at QoS 1: %v", err)
	}
}

// TestParseHeaders keeps pub's -H flags in their order, a repeated key
// included.
func TestParseHeaders(t *testing.T) {
	h, err := parseHeaders([]string{"b=1", "a=x=y", "b=", "c=3"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, v := range h.All() {
		got = append(got, k, v)
	}
	if want := []string{"b", "1", "a", "x=y", "b", "", "c", "3"}; !slices.Equal(got, want) {
		t.Errorf("headers %q, want %q", got, want)
	}
	if h, err := parseHeaders(nil); err != nil || h.Len() != 0 {
		t.Errorf("no flags: %d headers, %v", h.Len(), err)
	}
}
