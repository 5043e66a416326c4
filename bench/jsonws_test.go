package bench

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// fakePopSub is a minimal PopSub JSON server: login, auth, subscribe and
// publish to every subscriber of the topic, with the delivery frame of the
// design brief.
type fakePopSub struct {
	mu         sync.Mutex
	subs       map[string][]net.Conn
	subscribed chan string // each topic subscribed to, once it takes deliveries
}

func (f *fakePopSub) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go f.handle(c)
	}
}

func (f *fakePopSub) handle(c net.Conn) {
	defer c.Close()
	if _, err := ws.Upgrade(c); err != nil {
		return
	}
	for {
		b, err := wsutil.ReadClientText(c)
		if err != nil {
			return
		}
		var m struct{ Type, Topic, Token string }
		var raw struct {
			Payload json.RawMessage `json:"payload"`
		}
		json.Unmarshal(b, &m)
		json.Unmarshal(b, &raw)
		f.answer(c, m.Type, m.Topic, raw.Payload)
	}
}

func (f *fakePopSub) answer(c net.Conn, typ, topic string, payload json.RawMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch typ {
	case "login":
		wsutil.WriteServerText(c, []byte(`{"type":"login_response","token":"tok"}`))
	case "auth":
		wsutil.WriteServerText(c, []byte(`{"type": "authenticated", "status": "authenticated"}`))
	case "subscribe":
		f.subs[topic] = append(f.subs[topic], c)
		f.subscribed <- topic
	case "publish":
		frame := `{"type":"message","topic":"` + topic + `","payload":` + string(payload) + `,"timestamp":1,"message_id":"m","qos":0}`
		for _, s := range f.subs[topic] {
			wsutil.WriteServerText(s, []byte(frame))
		}
	}
}

func TestJSONClient_FakeServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &fakePopSub{subs: map[string][]net.Conn{}, subscribed: make(chan string, 1)}
	go srv.serve(ln)
	url := "ws://" + ln.Addr().String() + "/"
	token, err := wsLogin(ctx, url, "admin", "password")
	if err != nil || token != "tok" {
		t.Fatalf("login = %q, %v", token, err)
	}
	sub, err := dialJSON(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.auth(ctx, token); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 100)
	sub.Subscribe(ctx, "a", func(p []byte) { got <- string(p) })
	select { // the subscriber takes the publishes that follow
	case <-srv.subscribed:
	case <-ctx.Done():
		t.Fatal("the subscription never reached the server")
	}
	pub, err := dialJSON(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	want := string(payload(64))
	for range 10 {
		pub.Publish(ctx, "a", []byte(want))
	}
	for i := range 10 {
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("message %d = %q, want %q", i, p, want)
			}
		case <-ctx.Done():
			t.Fatalf("got %d of 10 messages", i)
		}
	}
}
