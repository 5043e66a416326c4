package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/server/admin"
)

const key = "a-backend-key-of-32-bytes-or-more-0123"

// fakeBackend is a Source that records what it is asked to publish.
type fakeBackend struct {
	*fakeSource
	mu        sync.Mutex
	published []admin.Publication
}

func (f *fakeBackend) Publish(_ context.Context, ps []admin.Publication) []admin.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]admin.Result, len(ps))
	for i, p := range ps {
		f.published = append(f.published, p)
		out[i] = admin.Result{Offset: uint64(len(f.published)), Epoch: 7}
	}
	return out
}

func (f *fakeBackend) History(context.Context, string, uint64, int, func(*admin.HistoryMessage) error) (admin.TopicInfo, error) {
	return admin.TopicInfo{Epoch: 7, FirstOffset: 1}, nil
}

func (f *fakeBackend) DisconnectUser(string) int { return 0 }

func newBackendHandler() (*admin.Handler, *fakeBackend) {
	b := &fakeBackend{fakeSource: newSource()}
	h := admin.NewHandler(b, admin.Options{Token: token, Logger: quiet(),
		Keys:   []admin.Key{{Name: "app", Secret: key, Publish: []string{"chat/#"}, Read: []string{"chat/#"}}},
		Limits: admin.Limits{MaxBodyBytes: 256, MaxBatch: 3, MaxBatchBodyBytes: 1024}})
	return h, b
}

// post sends body with the bearer token tok.
func post(h http.Handler, path, tok, body string) (int, string) {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func TestPublish_Refusals(t *testing.T) {
	h, b := newBackendHandler()
	for _, tt := range []struct {
		name, path, tok, body string
		code                  int
		has                   string
	}{
		{"no credentials", "/api/publish", "", `{"topic":"chat/a","payload":1}`, 401, `"code": "unauthorized"`},
		{"wrong key", "/api/publish", "nope", `{"topic":"chat/a","payload":1}`, 403, `"code": "forbidden"`},
		{"bad JSON", "/api/publish", key, `{"topic":"chat/a","payload":`, 400, `"code": "invalid"`},
		{"two values", "/api/publish", key, `{"topic":"chat/a","payload":1} {}`, 400, "more than one JSON value"},
		{"unknown field", "/api/publish", key, `{"topic":"chat/a","payload":1,"channel":"x"}`, 400, `unknown field \"channel\"`},
		{"no payload", "/api/publish", key, `{"topic":"chat/a"}`, 400, `field \"payload\" is required`},
		{"no topic", "/api/publish", key, `{"payload":1}`, 400, "invalid topic"},
		{"wildcard topic", "/api/publish", key, `{"topic":"chat/#","payload":1}`, 400, "invalid topic"},
		{"qos 3", "/api/publish", key, `{"topic":"chat/a","payload":1,"qos":3}`, 400, `field \"qos\"`},
		{"qos 2 without id", "/api/publish", key, `{"topic":"chat/a","payload":1,"qos":2}`, 400, `field \"message_id\" is required`},
		{"bad encoding", "/api/publish", key, `{"topic":"chat/a","payload":1,"encoding":"hex"}`, 400, `field \"encoding\"`},
		{"bad base64", "/api/publish", key, `{"topic":"chat/a","payload":{"base64":"!"},"encoding":"base64"}`, 400, "base64"},
		{"text not a string", "/api/publish", key, `{"topic":"chat/a","payload":1,"encoding":"text"}`, 400, "must be a string"},
		{"topic the key may not publish to", "/api/publish", key, `{"topic":"news","payload":1}`, 403, `may not publish to \"news\"`},
		{"oversized body", "/api/publish", key, `{"topic":"chat/a","payload":"` + strings.Repeat("x", 300) + `"}`, 413, `"code": "too_large"`},
		{"empty batch", "/api/publish/batch", key, `{"messages":[]}`, 400, "1 to 3 messages"},
		{"too large a batch", "/api/publish/batch", key, `{"messages":[` + strings.Repeat(`{"topic":"chat/a","payload":1},`, 3) + `{"topic":"chat/a","payload":1}]}`, 413, "1 to 3 messages, got 4"},
		{"oversized batch body", "/api/publish/batch", key, `{"messages":[{"topic":"chat/a","payload":"` + strings.Repeat("x", 1100) + `"}]}`, 413, "1024 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := post(h, tt.path, tt.tok, tt.body); code != tt.code || !strings.Contains(body, tt.has) {
				t.Errorf("%d %s, want %d with %s", code, body, tt.code, tt.has)
			}
		})
	}
	if len(b.published) != 0 {
		t.Errorf("published %+v", b.published)
	}
}

func TestPublish_Accepted(t *testing.T) {
	h, b := newBackendHandler()
	code, body := post(h, "/api/publish", key, `{"topic":"chat/a","payload":{"a": [1, 2]},"headers":{"k":"v"},"message_id":"m","qos":1}`)
	if code != 200 || !strings.Contains(body, `"offset":1`) || !strings.Contains(body, `"epoch":7`) {
		t.Fatalf("%d %s", code, body)
	}
	p := b.published[0]
	if p.Topic != "chat/a" || string(p.Payload) != `{"a": [1, 2]}` || p.ID != "m" || p.QoS != 1 || p.Headers["k"] != "v" || p.Publisher != "api:app" {
		t.Errorf("published %+v", p)
	}
	code, body = post(h, "/api/publish/batch", key, `{"messages":[{"topic":"chat/b","payload":"é\n","encoding":"text"},{"topic":"x","payload":1},{"topic":"chat/c","payload":{"base64":"AAE="},"encoding":"base64"}]}`)
	want := []string{`"offset":2`, `"code":"forbidden"`, `"offset":3`}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("batch %d %s lacks %s", code, body, w)
		}
	}
	if string(b.published[1].Payload) != "é\n" || string(b.published[2].Payload) != "\x00\x01" {
		t.Errorf("decoded payloads %q %q", b.published[1].Payload, b.published[2].Payload)
	}
	if code, body := post(h, "/api/publish", token, `{"topic":"news","payload":1}`); code != 200 || b.published[3].Publisher != "api:admin" {
		t.Errorf("the admin token: %d %s %+v", code, body, b.published[3])
	}
}

func TestPublish_MethodsAndDisabled(t *testing.T) {
	h, _ := newBackendHandler()
	if code, body, hdr := do(t, h, "GET", "/api/publish", key); code != 405 || hdr.Get("Allow") != "POST" || !strings.Contains(body, `"code": "invalid"`) {
		t.Errorf("GET /api/publish: %d %s %v", code, body, hdr)
	}
	off := admin.NewHandler(&fakeBackend{fakeSource: newSource()}, admin.Options{Logger: quiet()})
	if code, _ := post(off, "/api/publish", key, `{}`); code != 404 {
		t.Errorf("without a token or a key: %d", code)
	}
	plain := admin.NewHandler(newSource(), admin.Options{Token: token, Logger: quiet()})
	if code, body := post(plain, "/api/publish", token, `{"topic":"a","payload":1}`); code != 404 || !strings.Contains(body, "publishes nothing") {
		t.Errorf("a source that is no backend: %d %s", code, body)
	}
}

func TestPublish_KeyRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &fakeBackend{fakeSource: newSource()}
		h := admin.NewHandler(b, admin.Options{Token: token, Logger: quiet(),
			Keys: []admin.Key{{Name: "app", Secret: key, Publish: []string{"#"}, MaxPublishRate: 3}}})
		batch := `{"messages":[{"topic":"a","payload":1},{"topic":"a","payload":2}]}`
		if code, body := post(h, "/api/publish/batch", key, batch); code != 200 {
			t.Fatalf("a batch within the rate: %d %s", code, body)
		}
		if code, body := post(h, "/api/publish", key, `{"topic":"a","payload":3}`); code != 200 {
			t.Fatalf("the third message: %d %s", code, body)
		}
		if code, body := post(h, "/api/publish", key, `{"topic":"a","payload":4}`); code != 429 || !strings.Contains(body, `"code": "limit"`) {
			t.Errorf("past the rate: %d %s", code, body)
		}
		if code, _ := post(h, "/api/publish", token, `{"topic":"a","payload":5}`); code != 200 {
			t.Errorf("the admin token has no rate: %d", code)
		}
		time.Sleep(time.Second)
		if code, body := post(h, "/api/publish/batch", key, batch); code != 200 {
			t.Errorf("a second later: %d %s", code, body)
		}
		if n := len(b.published); n != 6 {
			t.Errorf("%d messages published, want 6", n)
		}
	})
}
