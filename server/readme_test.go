package server

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/server/config"
)

// The frames below are copied verbatim from the PopSub README, whitespace
// and comments' neighbours included, so that a client written for PopSub
// works unchanged.

const (
	readmeLogin = `{
  "type": "login",
  "username": "admin",
  "password": "password"
}`
	readmeSubscribe   = `{ "type": "subscribe", "topic": "chat" }`
	readmeUnsubscribe = `{ "type": "unsubscribe", "topic": "chat" }`
	readmePublishQoS0 = `{
  "type": "publish",
  "topic": "chat",
  "payload": "Hello world!"
}`
	readmePublishQoS1 = `{
  "type": "publish",
  "topic": "my_critical_topic",
  "payload": "Important message!",
  "message_id": "some_unique_message_id_123",
  "qos": 1
}`
	readmeAck = `{
  "type": "ack",
  "message_id": "some_unique_message_id_123"
}`
	readmeTab1Publish = `{
  "type": "publish",
  "topic": "chat",
  "payload": "Hello from Tab` + "\u202f" + `1!"
}`
)

// deliveryRE is the delivery frame of DESIGN.md, field for field.
var deliveryRE = regexp.MustCompile(`^\{"type":"message","topic":"([^"]*)","payload":(.*),"timestamp":(\d+),"message_id":"([^"]+)","qos":([01])\}$`)

func TestREADME_LoginAuthSubscribePublish(t *testing.T) {
	ts := newTestServer(t, nil)
	tab1, tab2 := ts.dial(t), ts.dial(t)

	tab1.send(readmeLogin)
	resp := tab1.read()
	token := resp.str("token")
	if resp.str("type") != "login_response" || strings.Count(token, ".") != 2 {
		t.Fatalf("login response %v", resp)
	}
	claims, err := ts.issuer.Verify(token)
	if err != nil || claims.Subject != "admin" || !claims.ExpiresAt.After(time.Now()) {
		t.Fatalf("token claims %+v, %v", claims, err)
	}

	auth := `{
  "type": "auth",
  "token": "` + token + `"
}`
	for _, c := range []*client{tab1, tab2} {
		c.send(auth)
		c.expectRaw(`{"type":"authenticated","status":"authenticated"}`)
		c.send(readmeSubscribe)
		c.expectRaw(`{"type":"subscribed","topic":"chat"}`)
	}

	before := time.Now().Unix()
	tab1.send(readmeTab1Publish)
	for _, c := range []*client{tab2, tab1} {
		raw := c.readRaw()
		m := deliveryRE.FindSubmatch(raw)
		if m == nil {
			t.Fatalf("delivery %s does not have the documented form", raw)
		}
		if string(m[1]) != "chat" || string(m[2]) != `"Hello from Tab`+"\u202f"+`1!"` || string(m[5]) != "0" {
			t.Fatalf("delivery %s", raw)
		}
		if stamp := string(m[3]); stamp < "1689475200" || len(stamp) != len("1689475200") {
			t.Fatalf("timestamp %s is not Unix seconds", stamp)
		}
	}
	if after := time.Now().Unix(); after < before {
		t.Fatal("clock went backwards")
	}

	tab1.send(readmePublishQoS0)
	tab2.expectMessage("chat", `"Hello world!"`)
	tab1.expectMessage("chat", `"Hello world!"`)

	tab2.send(readmeUnsubscribe)
	tab2.expectRaw(`{"type":"unsubscribed","topic":"chat"}`)
	tab1.send(readmePublishQoS0)
	tab1.expectMessage("chat", `"Hello world!"`)
	tab2.sync() // nothing arrived for tab2 after its unsubscribe
}

func TestREADME_QoS1PublishAndAck(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.QoS.AckTimeout = time.Hour })
	pub, sub := ts.authed(t, "admin"), ts.authed(t, "admin")
	sub.subscribe("my_critical_topic")

	pub.send(readmePublishQoS1)
	pub.expectRaw(`{"type":"puback","message_id":"some_unique_message_id_123"}`)

	raw := sub.readRaw()
	m := deliveryRE.FindSubmatch(raw)
	if m == nil || string(m[1]) != "my_critical_topic" || string(m[2]) != `"Important message!"` ||
		string(m[4]) != "some_unique_message_id_123" || string(m[5]) != "1" {
		t.Fatalf("delivery %s", raw)
	}
	sub.send(readmeAck)
	sub.sync()
	if n, q := ts.window(t, sub).len(); n != 0 || q != 0 {
		t.Fatalf("after the ack: %d in flight, %d queued", n, q)
	}
}

func TestREADME_ReconnectAndReplay(t *testing.T) {
	ts := newTestServer(t, nil) // replay.size = 10
	pub := ts.authed(t, "admin")

	// 1. Client A subscribes to chat.
	a := ts.authed(t, "admin")
	a.send(readmeSubscribe)
	a.expect("subscribed")
	// 2. Three messages are published to chat.
	for _, p := range []string{`"one"`, `"two"`, `"three"`} {
		pub.publish("chat", p)
		a.expectMessage("chat", p)
	}
	// 3. Client A disconnects.
	a.c.CloseNow()
	// 4. Client A reconnects and resubscribes to chat.
	a = ts.authed(t, "admin")
	a.send(readmeSubscribe)
	a.expect("subscribed")
	// It receives the last 3 messages, then live ones.
	for _, p := range []string{`"one"`, `"two"`, `"three"`} {
		a.expectMessage("chat", p)
	}
	pub.publish("chat", `"four"`)
	a.expectMessage("chat", `"four"`)
}

func TestREADME_WSPath(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dialPath(t, "/ws")
	c.send(`{"type":"auth","token":"x"}`)
	c.expectRaw(`{"type":"error","error":"authentication failed","message":"authentication failed"}`)
}

// window returns the in-flight window of c's session on the server.
func (ts *testServer) window(t *testing.T, c *client) *inflight {
	t.Helper()
	return windowOf(t, c.sess)
}

// windowOf returns the in-flight window of a session.
func windowOf(t *testing.T, s *session) *inflight {
	t.Helper()
	s.mu.Lock()
	w := s.window
	s.mu.Unlock()
	if w == nil {
		t.Fatal("no window: the client never subscribed")
	}
	return w
}
