package admin_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/server/admin"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "an-admin-token-of-32-bytes-or-more"

var start = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// fakeSource is a Source with fixed contents.
type fakeSource struct {
	mu       sync.Mutex
	status   admin.Status
	topics   []admin.Topic
	conns    []admin.Connection
	closed   []string
	notReady error
}

func (f *fakeSource) Status() admin.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeSource) Topics(pattern string, limit int) ([]admin.Topic, error) {
	if pattern == "a/#/b" {
		return nil, errors.New(`whispeer: invalid pattern "a/#/b"`)
	}
	var out []admin.Topic
	for _, t := range f.topics {
		if pattern == "#" || strings.HasPrefix(t.Name, strings.TrimSuffix(pattern, "#")) {
			out = append(out, t)
		}
	}
	return out[:min(limit, len(out))], nil
}

func (f *fakeSource) Connections() []admin.Connection { return f.conns }

func (f *fakeSource) Disconnect(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		if c.ID == id {
			f.closed = append(f.closed, id)
			return nil
		}
	}
	return admin.ErrNotFound
}

func (f *fakeSource) Ready() error { return f.notReady }

func newSource() *fakeSource {
	return &fakeSource{
		status: admin.Status{Version: "v1.2.3", StartedAt: start, Connections: 2, Topics: 3, Subscriptions: 4, MessagesIn: 100, FramesOut: 300},
		topics: []admin.Topic{
			{Name: "chat/a", Subscribers: 2, Messages: 10, LastOffset: 10, Retained: 5},
			{Name: "chat/b", Subscribers: 1, Messages: 1, LastOffset: 1, Retained: 1},
			{Name: "news", Messages: 7, LastOffset: 7},
		},
		conns: []admin.Connection{{ID: "ws:1", RemoteAddr: "127.0.0.1:5000", Transport: "ws", Protocol: "json", User: "alice", ConnectedAt: start, Subscriptions: 2}},
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// do sends a request with the bearer token tok ("" for none) and returns
// the response code and body.
func do(t *testing.T, h http.Handler, method, target, tok string) (int, string, http.Header) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header()
}

func TestHandler_Auth(t *testing.T) {
	h := admin.NewHandler(newSource(), admin.Options{Token: token, Logger: quiet()})
	for _, path := range []string{"/api/status", "/api/topics", "/api/connections"} {
		t.Run(path, func(t *testing.T) {
			code, body, hdr := do(t, h, "GET", path, "")
			if code != http.StatusUnauthorized || !strings.Contains(hdr.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, "missing bearer token") {
				t.Errorf("no token: %d %s %v", code, body, hdr)
			}
			if code, body, _ := do(t, h, "GET", path, "wrong"); code != http.StatusForbidden || !strings.Contains(body, `"error": "wrong admin token"`) {
				t.Errorf("wrong token: %d %s", code, body)
			}
			if code, _, _ := do(t, h, "GET", path, token); code != http.StatusOK {
				t.Errorf("right token: %d", code)
			}
		})
	}
	r := httptest.NewRequest("GET", "/api/status", nil)
	r.Header.Set("Authorization", "Basic "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("basic scheme: %d, want 401", w.Code)
	}
	if code, _, _ := do(t, h, "DELETE", "/api/connections/ws:1", ""); code != http.StatusUnauthorized {
		t.Errorf("DELETE without a token: %d, want 401", code)
	}
}

func TestHandler_DisabledWithoutToken(t *testing.T) {
	h := admin.NewHandler(newSource(), admin.Options{})
	code, body, _ := do(t, h, "GET", "/api/status", "anything")
	if code != http.StatusNotFound || !strings.Contains(body, "disabled") {
		t.Errorf("GET /api/status: %d %s, want 404 disabled", code, body)
	}
	if code, _, _ := do(t, h, "GET", "/healthz", ""); code != http.StatusOK {
		t.Errorf("GET /healthz: %d, want 200 with the API off", code)
	}
}

func TestHandler_Status(t *testing.T) {
	now := start.Add(10 * time.Second)
	src := newSource()
	h := admin.NewHandler(src, admin.Options{Token: token, Now: func() time.Time { return now }})
	get := func() admin.Status {
		code, body, hdr := do(t, h, "GET", "/api/status", token)
		if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s %v", code, body, hdr)
		}
		var st admin.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := get()
	if st.Version != "v1.2.3" || st.Connections != 2 || st.Topics != 3 || st.Subscriptions != 4 || st.MessagesIn != 100 {
		t.Errorf("status %+v", st)
	}
	if want := (admin.Rates{MessagesIn: 10, FramesOut: 30, WindowSeconds: 10}); st.Rates != want {
		t.Errorf("first rates %+v, want %+v (since start)", st.Rates, want)
	}
	src.mu.Lock()
	src.status.MessagesIn, src.status.FramesOut = 150, 400
	src.mu.Unlock()
	now = now.Add(500 * time.Millisecond)
	if r := get().Rates; r.MessagesIn != 10 {
		t.Errorf("rates within a second %+v, want the last window's", r)
	}
	now = now.Add(2 * time.Second)
	if want, r := (admin.Rates{MessagesIn: 20, FramesOut: 40, WindowSeconds: 2.5}), get().Rates; r != want {
		t.Errorf("rates %+v, want %+v", r, want)
	}
}

func TestHandler_Topics(t *testing.T) {
	h := admin.NewHandler(newSource(), admin.Options{Token: token})
	list := func(query string) (int, admin.TopicList, string) {
		code, body, _ := do(t, h, "GET", "/api/topics"+query, token)
		var l admin.TopicList
		json.Unmarshal([]byte(body), &l)
		return code, l, body
	}
	_, l, _ := list("")
	if len(l.Topics) != 3 || l.Truncated || l.Topics[0] != (admin.Topic{Name: "chat/a", Subscribers: 2, Messages: 10, LastOffset: 10, Retained: 5}) {
		t.Errorf("all topics %+v", l)
	}
	if _, l, _ = list("?limit=2"); len(l.Topics) != 2 || !l.Truncated {
		t.Errorf("limit 2: %+v, want 2 topics, truncated", l)
	}
	if _, l, _ = list("?pattern=chat/%23"); len(l.Topics) != 2 || l.Truncated {
		t.Errorf("chat/#: %+v", l)
	}
	if _, _, body := list("?pattern=nothing"); !strings.Contains(body, `"topics": []`) {
		t.Errorf("no topics: %s, want an empty list", body)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?pattern=a/%23/b"} {
		if code, _, body := list(q); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
}

func TestHandler_Connections(t *testing.T) {
	src := newSource()
	h := admin.NewHandler(src, admin.Options{Token: token, Logger: quiet()})
	code, body, _ := do(t, h, "GET", "/api/connections", token)
	var l admin.ConnectionList
	if err := json.Unmarshal([]byte(body), &l); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if len(l.Connections) != 1 || l.Connections[0].User != "alice" || !l.Connections[0].ConnectedAt.Equal(start) {
		t.Errorf("connections %+v", l)
	}
	if code, body, _ := do(t, h, "DELETE", "/api/connections/ws:1", token); code != http.StatusNoContent {
		t.Errorf("DELETE ws:1: %d %s", code, body)
	}
	if code, body, _ := do(t, h, "DELETE", "/api/connections/ws:9", token); code != http.StatusNotFound || !strings.Contains(body, `no connection \"ws:9\"`) {
		t.Errorf("DELETE ws:9: %d %s", code, body)
	}
	if !slices.Equal(src.closed, []string{"ws:1"}) {
		t.Errorf("closed %v", src.closed)
	}
}

func TestHandler_MethodsAndUnknownPaths(t *testing.T) {
	h := admin.NewHandler(newSource(), admin.Options{Token: token})
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"POST", "/api/status", 405, "GET, HEAD"},
		{"DELETE", "/api/connections", 405, "GET, HEAD"},
		{"GET", "/api/connections/ws:1", 405, "DELETE"},
		{"POST", "/healthz", 405, "GET, HEAD"},
		{"GET", "/api/nope", 404, ""},
		{"HEAD", "/api/status", 200, ""},
	} {
		code, body, hdr := do(t, h, tc.method, tc.path, token)
		if code != tc.code || hdr.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q %s; want %d Allow %q", tc.method, tc.path, code, hdr.Get("Allow"), body, tc.code, tc.allow)
		}
	}
}

func TestHandler_HealthAndMetrics(t *testing.T) {
	src := newSource()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "whispeer_topics 3\n") })
	open := admin.NewHandler(src, admin.Options{Token: token, Metrics: metrics})
	if code, body, _ := do(t, open, "GET", "/healthz", ""); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz: %d %s", code, body)
	}
	if code, body, _ := do(t, open, "GET", "/readyz", ""); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Errorf("readyz: %d %s", code, body)
	}
	if code, body, _ := do(t, open, "GET", "/metrics", ""); code != 200 || body != "whispeer_topics 3\n" {
		t.Errorf("metrics: %d %s", code, body)
	}
	src.notReady = errors.New("broker closed")
	if code, body, _ := do(t, open, "GET", "/readyz", ""); code != 503 || !strings.Contains(body, "broker closed") {
		t.Errorf("readyz when not ready: %d %s", code, body)
	}
	if code, body, _ := do(t, admin.NewHandler(src, admin.Options{}), "GET", "/metrics", ""); code != 404 || !strings.Contains(body, "plugins.enabled") {
		t.Errorf("metrics off: %d %s", code, body)
	}

	guarded := admin.NewHandler(newSource(), admin.Options{Token: token, AuthHealth: true, Metrics: metrics})
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _, _ := do(t, guarded, "GET", path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token under AuthHealth: %d, want 401", path, code)
		}
		if code, _, _ := do(t, guarded, "GET", path, token); code != http.StatusOK {
			t.Errorf("%s with the token: %d", path, code)
		}
	}
}

func TestHandler_Register(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /ws", http.NotFoundHandler())
	admin.NewHandler(newSource(), admin.Options{Token: token}).Register(mux)
	if code, _, _ := do(t, mux, "GET", "/api/status", token); code != http.StatusOK {
		t.Errorf("GET /api/status on a shared mux: %d", code)
	}
}
