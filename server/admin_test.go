package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/plugins/metrics/metricstest"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
)

const adminToken = "an-admin-token-for-the-server-tests-0123"

func withAdmin(c *config.Config) { c.Admin.Token = adminToken }

// httpURL returns the http:// address of the test server's WebSocket
// listener, where the admin API is mounted by default.
func (ts *testServer) httpURL() string { return "http" + strings.TrimPrefix(ts.url, "ws") }

// adminGet GETs path with the admin token and decodes the JSON answer into
// v, returning the status code.
func adminGet(t *testing.T, url string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestAdmin_OnTheServerPort(t *testing.T) {
	ts := newTestServer(t, withAdmin)
	alice := ts.authed(t, "alice")
	alice.subscribe("chat/#")
	bob := ts.nativeAuthed(t, "tcp", "bob")
	bob.publish(wire.Publish{Topic: []byte("chat/bob"), Payload: []byte(`"x"`), QoS: wire.AtLeastOnce, ID: []byte("m1")})
	bob.expect(wire.TypePubAck)
	alice.expectMessage("chat/bob", `"x"`) // not acked: in flight

	var st admin.Status
	if code := adminGet(t, ts.httpURL()+"/api/status", &st); code != 200 {
		t.Fatalf("status: %d", code)
	}
	if st.Connections != 2 || st.Topics != 1 || st.Subscriptions != 1 || st.MessagesIn != 1 || st.FramesOut == 0 || st.Version == "" {
		t.Errorf("status %+v", st)
	}
	var tl admin.TopicList
	adminGet(t, ts.httpURL()+"/api/topics?pattern=chat/%2B", &tl)
	want := admin.Topic{Name: "chat/bob", Subscribers: 1, Messages: 1, LastOffset: 1, Retained: 1, FirstOffset: 1}
	if len(tl.Topics) == 1 && tl.Topics[0].Epoch != 0 {
		want.Epoch = tl.Topics[0].Epoch // the in-memory history's, drawn at random
	}
	if len(tl.Topics) != 1 || tl.Topics[0] != want {
		t.Errorf("topics %+v, want %+v with an epoch", tl, want)
	}
	var cl admin.ConnectionList
	adminGet(t, ts.httpURL()+"/api/connections", &cl)
	if len(cl.Connections) != 2 {
		t.Fatalf("connections %+v", cl)
	}
	a, b := cl.Connections[0], cl.Connections[1]
	if a.ID != alice.sess.id || a.Protocol != "json" || a.User != "alice" || a.Subscriptions != 1 || a.InFlight != 1 || a.Transport != "ws" {
		t.Errorf("alice's connection %+v", a)
	}
	if b.ID != bob.sess.id || b.Protocol != "native" || b.Transport != "tcp" || b.User != "bob" {
		t.Errorf("bob's connection %+v", b)
	}
	if code := adminGet(t, ts.httpURL()+"/api/status", nil); code != 200 {
		t.Errorf("status again: %d", code)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(ts.httpURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s without a token: %s", path, resp.Status)
		}
	}
	resp, _ := http.Get(ts.httpURL() + "/api/status")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/status without a token: %s", resp.Status)
	}
}

func TestAdmin_DisconnectNative(t *testing.T) {
	ts := newTestServer(t, withAdmin)
	c := ts.nativeAuthed(t, "tcp", "bob")
	req, _ := http.NewRequest(http.MethodDelete, ts.httpURL()+"/api/connections/"+c.sess.id, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %s", resp.Status)
	}
	if text := c.expectError(wire.CodeForbidden, true, 0); !strings.Contains(text, "closed by the server's administrator") {
		t.Errorf("ERROR %q", text)
	}
	if err := ts.Disconnect(c.sess.id); err != nil && err != admin.ErrNotFound {
		t.Errorf("Disconnect again: %v", err)
	}
	if err := ts.Disconnect("ws:999"); err != admin.ErrNotFound {
		t.Errorf("Disconnect(ws:999) = %v, want ErrNotFound", err)
	}
}

func TestAdmin_MetricsMoveWithTraffic(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) {
		c.QoS.AckTimeout = time.Hour // nothing is resent during the test
	})
	scrape := func() metricstest.Families {
		return metricstest.ScrapeURL(t, http.DefaultClient, ts.httpURL()+"/metrics")
	}
	before := scrape()
	if v, _ := before.Value("whispeer_messages_in_total"); v != 0 {
		t.Fatalf("messages_in before traffic: %v", v)
	}
	alice := ts.authed(t, "alice")
	alice.subscribe("chat/#")
	bob := ts.authed(t, "bob")
	for _, id := range []string{"p1", "p2"} {
		bob.send(`{"type":"publish","topic":"chat/bob","payload":"abcd","qos":1,"message_id":"` + id + `"}`)
		bob.expect("puback")
	}
	first := alice.expectMessage("chat/bob", `"abcd"`)
	alice.expectMessage("chat/bob", `"abcd"`)
	alice.send(`{"type":"publish","topic":"chat/secret","payload":"x"}`)
	alice.expectError("permission denied")
	f := scrape()
	for name, want := range map[string]float64{
		"whispeer_connections":           2,
		"whispeer_connections_total":     2,
		"whispeer_authentications_total": 2,
		"whispeer_subscriptions":         1,
		"whispeer_topics":                1,
		"whispeer_messages_in_total":     2,
		"whispeer_bytes_in_total":        12, // the JSON payload "abcd", quotes included
		"whispeer_messages_out_total":    2,
		"whispeer_qos1_inflight":         2,
		"whispeer_denied_total":          1,
	} {
		if got, ok := f.Value(name); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, reason := range []string{"qos_queue_full", "qos_expired", "undeliverable", "evicted"} {
		if _, ok := f.Value("whispeer_dropped_messages_total", "reason", reason); !ok {
			t.Errorf("no whispeer_dropped_messages_total{reason=%q}", reason)
		}
	}
	if n, _ := f.Value("whispeer_delivery_latency_seconds"); n < 0 {
		t.Errorf("latency histogram %v", n)
	}
	alice.send(`{"type":"ack","message_id":"` + first.str("message_id") + `"}`)
	alice.sync()
	if v, _ := scrape().Value("whispeer_acks_total"); v != 1 {
		t.Errorf("acks_total = %v, want 1", v)
	}
}

func TestAdmin_SeparateListenerAndReadiness(t *testing.T) {
	cfg := testConfig()
	cfg.Admin = config.Admin{Token: adminToken, Listen: "127.0.0.1:0", AuthHealth: true}
	cfg.Server.TCPPort = 0
	srv, err := New(cfg, WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Ready(); err == nil || !strings.Contains(err.Error(), "not listening") {
		t.Errorf("Ready before Serve = %v", err)
	}
	ln, aln := loopback(t, srv), must(srv.ListenAdmin())
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	go func() { served <- srv.ServeAdmin(aln) }()
	base := "http://" + aln.Addr().String()
	// An answer on the WebSocket port shows that Serve runs, and Serve
	// records its address before it serves.
	resp, err := http.Get("http://" + ln.Addr().String() + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := adminGet(t, base+"/readyz", nil); code != 200 {
		t.Errorf("readyz while serving: %d", code)
	}
	resp, err = http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("healthz without a token under auth_health: %s", resp.Status)
	}
	resp, err = http.Get("http://" + ln.Addr().String() + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/api/status on the WebSocket port with admin.listen set: %s", resp.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	if err := srv.Ready(); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("Ready after Shutdown = %v", err)
	}
}

func TestAdmin_WithMetricsForAGivenBroker(t *testing.T) {
	mp := metrics.New(metrics.Options{})
	b, err := whispeer.New(whispeer.WithPlugin(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ts := newTestServer(t, nil, WithBroker(b), WithMetrics(mp))
	ts.authed(t, "bob").publish("chat/bob", `1`)
	f := metricstest.ScrapeURL(t, http.DefaultClient, ts.httpURL()+"/metrics")
	if _, ok := f.Value("whispeer_qos1_retries_total"); !ok {
		t.Error("the server's counters are missing")
	}
	cfg := testConfig()
	if _, err := New(cfg, WithBroker(b), WithMetrics(mp), WithLogger(discard())); err == nil || !strings.Contains(err.Error(), "a metrics plugin serves one server") {
		t.Errorf("a second server on the same metrics plugin: %v", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAdmin_ListenAndServeStartsTheAdminListener(t *testing.T) {
	cfg := testConfig()
	cfg.Server.Port, cfg.Server.TCPPort = freePort(t), 0
	adminAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg.Admin = config.Admin{Token: adminToken, Listen: adminAddr}
	log, logged := signalLogger()
	srv, err := New(cfg, WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx) }()
	awaitLog(t, logged, "whispeer: admin API listening")
	if code := adminGet(t, "http://"+adminAddr+"/api/status", nil); code != http.StatusOK {
		t.Errorf("GET /api/status on admin.listen: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	if _, err := http.Get("http://" + adminAddr + "/healthz"); err == nil {
		t.Error("the admin listener still answers after shutdown")
	}
}
