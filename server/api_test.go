package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
	memstore "github.com/whispeer-io/whispeer/store/memory"
)

const backendKey = "a-backend-key-for-the-server-tests-01234"

// withKeys turns the admin API on with the admin token and a key that may
// publish to and read chat/#.
func withKeys(c *config.Config) { withKeysTB(c) }

// withKeysTB is withKeys.
func withKeysTB(c *config.Config) {
	c.Admin.Token = adminToken
	c.Admin.Keys = []config.APIKey{{Name: "backend", Key: backendKey, Publish: []string{"chat/#"}, Read: []string{"chat/#"}}}
}

// api sends a request with the bearer token tok and a JSON body, and
// returns the status and the body.
func api(t *testing.T, method, url, tok, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAPI_PublishReachesSubscribers(t *testing.T) {
	ts := newTestServer(t, withKeys)
	js := ts.authed(t, "alice")
	js.subscribe("chat/#")
	nc := ts.nativeAuthed(t, "tcp", "admin")
	nc.subscribe(1, "chat/#", wire.AtMostOnce, wire.Resume{})

	code, body := api(t, "POST", ts.httpURL()+"/api/publish", backendKey,
		`{"topic":"chat/room","payload":{"text": "hi"},"headers":{"k":"v"},"message_id":"m1"}`)
	var p admin.Published
	if code != 200 || json.Unmarshal([]byte(body), &p) != nil || p.Offset != 1 || p.Epoch == 0 {
		t.Fatalf("publish: %d %s", code, body)
	}
	if raw := string(js.readRaw()); !strings.Contains(raw, `"payload":{"text": "hi"}`) || !strings.Contains(raw, `"message_id":"m1"`) {
		t.Errorf("JSON delivery %s: not the payload's bytes", raw)
	}
	if m := nc.expectMessage(1, "chat/room", `{"text": "hi"}`); m.id != "m1" || m.headers["k"] != "v" {
		t.Errorf("native delivery %+v", m)
	}

	code, body = api(t, "POST", ts.httpURL()+"/api/publish", backendKey, `{"topic":"chat/room","payload":"bytes \u00e9","encoding":"text"}`)
	if code != 200 {
		t.Fatalf("text publish: %d %s", code, body)
	}
	nc.expectMessage(1, "chat/room", "bytes é")
	code, body = api(t, "POST", ts.httpURL()+"/api/publish", backendKey, `{"topic":"chat/room","payload":{"base64":"AP8="},"encoding":"base64"}`)
	if code != 200 {
		t.Fatalf("base64 publish: %d %s", code, body)
	}
	nc.expectMessage(1, "chat/room", "\x00\xff")
}

func TestAPI_SealedPassthrough(t *testing.T) {
	ts := newTestServer(t, withKeys)
	kr := envelope.NewKeyring() // the application's: the server never sees it
	if _, err := kr.Generate(); err != nil {
		t.Fatal(err)
	}
	eng, err := envelope.NewEngine(envelope.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := eng.Seal(nil, "chat/secret", "s1", []byte("the plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	nc := ts.nativeAuthed(t, "tcp", "admin")
	nc.subscribe(1, "chat/#", wire.AtMostOnce, wire.Resume{})
	body := `{"topic":"chat/secret","payload":{"base64":"` + base64.StdEncoding.EncodeToString(sealed) +
		`"},"encoding":"base64","sealed":true,"message_id":"s1"}`
	if code, resp := api(t, "POST", ts.httpURL()+"/api/publish", backendKey, body); code != 200 {
		t.Fatalf("publish: %d %s", code, resp)
	}
	m := nc.expectMessage(1, "chat/secret", string(sealed))
	if !m.Envelope {
		t.Fatal("MSG without the envelope flag")
	}
	if opened, err := eng.Open(nil, m.topic, m.id, []byte(m.payload)); err != nil || string(opened) != "the plaintext" {
		t.Fatalf("opened %q, %v", opened, err)
	}

	bad := `{"topic":"chat/secret","payload":"not an envelope","encoding":"text","sealed":true}`
	if code, resp := api(t, "POST", ts.httpURL()+"/api/publish", backendKey, bad); code != 400 || !strings.Contains(resp, "declared an envelope") {
		t.Errorf("a false envelope: %d %s", code, resp)
	}
}

func TestAPI_QoS1AnsweredOnceDurable(t *testing.T) {
	hs := &holdingStore{Store: memstore.New(), n: make(chan struct{}, 100)}
	b, err := whispeer.New(whispeer.WithStore(hs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ts := newTestServer(t, withKeys, WithBroker(b))

	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		code, body := api(t, "POST", ts.httpURL()+"/api/publish/batch", backendKey,
			`{"messages":[{"topic":"chat/a","payload":1,"qos":1},{"topic":"chat/a","payload":2,"qos":1}]}`)
		done <- answer{code, body}
	}()
	<-hs.n
	<-hs.n
	select {
	case a := <-done:
		t.Fatalf("answered before durable: %d %s", a.code, a.body)
	default:
	}
	hs.release(nil)
	a := <-done
	var br admin.BatchResponse
	if a.code != 200 || json.Unmarshal([]byte(a.body), &br) != nil || len(br.Results) != 2 ||
		br.Results[0].Offset != 1 || br.Results[1].Offset != 2 || br.Results[0].Error != "" {
		t.Fatalf("batch: %d %s", a.code, a.body)
	}

	go func() {
		code, body := api(t, "POST", ts.httpURL()+"/api/publish", backendKey, `{"topic":"chat/a","payload":3,"qos":1}`)
		done <- answer{code, body}
	}()
	<-hs.n
	hs.release(whispeer.ErrStoreClosed)
	if a := <-done; a.code != http.StatusServiceUnavailable || !strings.Contains(a.body, `"code": "unavailable"`) {
		t.Fatalf("failed append: %d %s", a.code, a.body)
	}
}

func TestAPI_QoS2Deduplicated(t *testing.T) {
	ts := newTestServer(t, withKeys)
	nc := ts.nativeAuthed(t, "tcp", "admin")
	nc.subscribe(1, "chat/#", wire.AtMostOnce, wire.Resume{})
	pub := `{"topic":"chat/x","payload":1,"qos":2,"message_id":"once"}`
	code, body := api(t, "POST", ts.httpURL()+"/api/publish", backendKey, pub)
	if code != 200 || !strings.Contains(body, `"offset":1`) {
		t.Fatalf("first: %d %s", code, body)
	}
	code, body = api(t, "POST", ts.httpURL()+"/api/publish", backendKey, pub)
	if code != 200 || !strings.Contains(body, `"duplicate":true`) {
		t.Fatalf("retry: %d %s", code, body)
	}
	// The admin token publishes under a name of its own: not a retry.
	code, body = api(t, "POST", ts.httpURL()+"/api/publish", adminToken, pub)
	if code != 200 || !strings.Contains(body, `"offset":2`) {
		t.Fatalf("another publisher: %d %s", code, body)
	}
	nc.expectMessage(1, "chat/x", "1")
	nc.expectMessage(1, "chat/x", "1")
	nc.sync() // and no third
}

func TestAPI_KeyPermissions(t *testing.T) {
	ts := newTestServer(t, withKeys)
	for _, tt := range []struct {
		name, method, path, tok, body string
		code                          int
		has                           string
	}{
		{"publish outside the key's topics", "POST", "/api/publish", backendKey, `{"topic":"news","payload":1}`, 403, `may not publish to \"news\"`},
		{"admin endpoint with a key", "GET", "/api/connections", backendKey, "", 403, "needs admin = true"},
		{"history outside the key's topics", "GET", "/api/topics/news/history", backendKey, "", 403, `may not read \"news\"`},
		{"no token", "POST", "/api/publish", "", `{"topic":"chat/a","payload":1}`, 401, "missing bearer token"},
		{"wrong token", "POST", "/api/publish", "wrong", `{"topic":"chat/a","payload":1}`, 403, "wrong admin token"},
		{"admin token anywhere", "POST", "/api/publish", adminToken, `{"topic":"news","payload":1}`, 200, `"offset":1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := api(t, tt.method, ts.httpURL()+tt.path, tt.tok, tt.body)
			if code != tt.code || !strings.Contains(body, tt.has) {
				t.Errorf("%d %s, want %d with %q", code, body, tt.code, tt.has)
			}
		})
	}
}

func TestAPI_HistoryPages(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { withKeys(c); c.Replay.Size = 100 })
	var batch strings.Builder
	batch.WriteString(`{"messages":[`)
	for i := range 5 {
		if i > 0 {
			batch.WriteByte(',')
		}
		batch.WriteString(`{"topic":"chat/log","payload":{"n": ` + string(rune('1'+i)) + `}}`)
	}
	batch.WriteString(`,{"topic":"chat/log","payload":{"base64":"/w=="},"encoding":"base64"}]}`)
	if code, body := api(t, "POST", ts.httpURL()+"/api/publish/batch", backendKey, batch.String()); code != 200 {
		t.Fatalf("batch: %d %s", code, body)
	}
	type page struct {
		Epoch    uint64 `json:"epoch"`
		Next     uint64 `json:"next"`
		Last     uint64 `json:"last_offset"`
		Messages []struct {
			Offset   uint64          `json:"offset"`
			Payload  json.RawMessage `json:"payload"`
			Encoding string          `json:"encoding"`
		} `json:"messages"`
	}
	var got []string
	var epoch uint64
	from := "0"
	for range 4 {
		code, body := api(t, "GET", ts.httpURL()+"/api/topics/chat%2Flog/history?limit=2&from="+from, backendKey, "")
		var p page
		if code != 200 || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("history: %d %s", code, body)
		}
		epoch = p.Epoch
		for _, m := range p.Messages {
			got = append(got, string(m.Payload)+m.Encoding)
		}
		from = strconv.FormatUint(p.Next, 10)
		if len(p.Messages) == 0 {
			break
		}
	}
	want := []string{`{"n": 1}`, `{"n": 2}`, `{"n": 3}`, `{"n": 4}`, `{"n": 5}`, `{"base64":"/w=="}base64`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("history %q, want %q", got, want)
	}
	if code, body := api(t, "GET", ts.httpURL()+"/api/topics/chat%2Flog/history?epoch=1234&from=1", backendKey, ""); code != 409 || !strings.Contains(body, `"code": "conflict"`) || epoch == 1234 {
		t.Errorf("stale epoch: %d %s", code, body)
	}
	if code, body := api(t, "GET", ts.httpURL()+"/api/topics/chat%2Flog/history?limit=100000", backendKey, ""); code != 400 {
		t.Errorf("limit past the most: %d %s", code, body)
	}
	var tp admin.Topic
	code, body := api(t, "GET", ts.httpURL()+"/api/topics/chat%2Flog", backendKey, "")
	if code != 200 || json.Unmarshal([]byte(body), &tp) != nil || tp.Name != "chat/log" || tp.LastOffset != 6 || tp.Epoch != epoch {
		t.Errorf("topic: %d %s", code, body)
	}
	if code, body := api(t, "GET", ts.httpURL()+"/api/topics/chat%2Fnone", backendKey, ""); code != 404 {
		t.Errorf("unknown topic: %d %s", code, body)
	}
}

func TestAPI_DisconnectUser(t *testing.T) {
	ts := newTestServer(t, withKeys)
	a1 := ts.nativeAuthed(t, "tcp", "alice")
	a2 := ts.authed(t, "alice")
	bob := ts.authed(t, "bob")
	var cl admin.ConnectionList
	adminGet(t, ts.httpURL()+"/api/connections?user=alice", &cl)
	if len(cl.Connections) != 2 || cl.Connections[0].User != "alice" || cl.Connections[1].User != "alice" {
		t.Fatalf("alice's connections %+v", cl)
	}
	if code, body := api(t, "DELETE", ts.httpURL()+"/api/users/alice/connections", backendKey, ""); code != 403 {
		t.Errorf("a key without admin: %d %s", code, body)
	}
	code, body := api(t, "DELETE", ts.httpURL()+"/api/users/alice/connections", adminToken, "")
	if code != 200 || !strings.Contains(body, `"closed": 2`) {
		t.Fatalf("disconnect: %d %s", code, body)
	}
	if text := a1.expectError(wire.CodeForbidden, true, 0); !strings.Contains(text, "administrator") {
		t.Errorf("native ERROR %q", text)
	}
	if st := a2.closeStatus(); st != websocket.StatusPolicyViolation {
		t.Errorf("JSON connection closed with %v", st)
	}
	bob.sync() // bob stays
}

func TestAPI_Limits(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { withKeys(c); c.Server.MaxMessageBytes = 1024 })
	big := `{"topic":"chat/a","payload":"` + strings.Repeat("x", 70<<10) + `","encoding":"text"}`
	if code, body := api(t, "POST", ts.httpURL()+"/api/publish", backendKey, big); code != 413 || !strings.Contains(body, "too_large") {
		t.Errorf("body past the limit: %d %s", code, body)
	}
	payload := `{"topic":"chat/a","payload":"` + strings.Repeat("x", 2000) + `","encoding":"text"}`
	if code, body := api(t, "POST", ts.httpURL()+"/api/publish", backendKey, payload); code != 413 || !strings.Contains(body, "payload too large") {
		t.Errorf("payload past the broker's limit: %d %s", code, body)
	}
	var many bytes.Buffer
	many.WriteString(`{"messages":[`)
	for i := range admin.DefaultMaxBatch + 1 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{"topic":"chat/a","payload":1}`)
	}
	many.WriteString(`]}`)
	if code, body := api(t, "POST", ts.httpURL()+"/api/publish/batch", backendKey, many.String()); code != 413 || !strings.Contains(body, "1 to 1000 messages") {
		t.Errorf("batch past the limit: %d %s", code, body)
	}
	mixed := `{"messages":[{"topic":"chat/a","payload":1},{"topic":"news","payload":2},{"topic":"chat/+","payload":3},{"topic":"chat/a","payload":4,"headers":{"":"x"}}]}`
	code, body := api(t, "POST", ts.httpURL()+"/api/publish/batch", backendKey, mixed)
	var br admin.BatchResponse
	if code != 200 || json.Unmarshal([]byte(body), &br) != nil || len(br.Results) != 4 {
		t.Fatalf("mixed batch: %d %s", code, body)
	}
	if r := br.Results; r[0].Offset != 1 || r[1].Code != "forbidden" || r[2].Code != "invalid" || r[3].Code != "invalid" {
		t.Errorf("mixed batch results %+v", r)
	}
}
