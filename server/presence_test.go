package server

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
)

// expectPresenceEvent reads the next frame and checks that it is a join
// or a leave of user on topic.
func (c *client) expectPresenceEvent(typ, topic, user string) frame {
	c.t.Helper()
	f := c.expect(typ)
	if f.str("topic") != topic || f.str("user") != user || f.str("client_id") == "" {
		c.t.Fatalf("got %v, want a %s of %q on %q", f, typ, user, topic)
	}
	return f
}

func TestPresence_JSONJoinLeave(t *testing.T) {
	ts := newTestServer(t, nil)
	alice := ts.authed(t, "alice")
	alice.send(`{"type":"subscribe","topic":"chat/room","presence":true}`)
	alice.expect("subscribed")

	admin := ts.dial(t)
	token, _ := ts.issuer.Issue("admin")
	admin.send(`{"type":"auth","token":"` + token + `","client_id":"admin-phone"}`)
	admin.expect("authenticated")
	admin.subscribe("chat/room")
	join := alice.expectPresenceEvent("join", "chat/room", "admin")
	if join.str("client_id") != "admin-phone" {
		t.Errorf("join client_id = %q, want the client's own id", join.str("client_id"))
	}
	admin.subscribe("chat/#") // another topic: no event on chat/room

	admin.send(`{"type":"presence","topic":"chat/room"}`)
	p := admin.expect("presence")
	clients, _ := p["clients"].([]any)
	if p["count"] != 2.0 || p["truncated"] != false || len(clients) != 2 {
		t.Fatalf("presence = %v, want alice and admin", p)
	}
	first, _ := clients[0].(map[string]any)
	if first["user"] != "admin" || first["client_id"] != "admin-phone" {
		t.Errorf("first client = %v, want admin (sorted by user)", first)
	}
	admin.send(`{"type":"presence_stats","topic":"chat/room"}`)
	admin.expectRaw(`{"type":"presence_stats","topic":"chat/room","clients":2,"users":2}`)

	admin.send(`{"type":"unsubscribe","topic":"chat/room"}`)
	admin.expect("unsubscribed")
	alice.expectPresenceEvent("leave", "chat/room", "admin")
	admin.subscribe("chat/room")
	alice.expectPresenceEvent("join", "chat/room", "admin")
	admin.c.CloseNow() // a disconnect leaves every topic
	alice.expectPresenceEvent("leave", "chat/room", "admin")

	alice.send(`{"type":"presence","topic":"chat/room"}`)
	p = alice.expect("presence")
	if p["count"] != 1.0 {
		t.Errorf("presence after admin left = %v, want alice alone", p)
	}
	alice.send(`{"type":"presence_stats","topic":"chat/#"}`)
	alice.expectRaw(`{"type":"presence_stats","topic":"chat/#","clients":0,"users":0}`)
}

func TestPresence_JSONPermissions(t *testing.T) {
	ts := newTestServer(t, nil)
	bob := ts.authed(t, "bob") // may subscribe to chat/bob only
	bob.send(`{"type":"presence","topic":"chat/room"}`)
	bob.expectError(`permission denied: may not ask the presence of "chat/room"`)
	bob.send(`{"type":"presence_stats","topic":"chat/#"}`)
	bob.expectError("permission denied")
	bob.send(`{"type":"presence","topic":"chat/bob"}`)
	bob.expect("presence")
	bob.send(`{"type":"presence","topic":"a/#/b"}`)
	bob.expectError("invalid topic")
	bob.send(`{"type":"presence"}`)
	bob.expectError(`missing field "topic"`)

	anon := ts.dial(t)
	anon.send(`{"type":"presence","topic":"chat/bob"}`)
	anon.expectError("not authenticated")

	off := newTestServer(t, func(c *config.Config) { c.Presence.Enabled = false })
	a := off.authed(t, "admin")
	a.send(`{"type":"presence","topic":"x"}`)
	a.expectError("presence is disabled")
	a.send(`{"type":"subscribe","topic":"x","presence":true}`)
	a.expect("subscribed")
}

func TestPresence_JSONBounds(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Presence.ListLimit, c.Presence.JoinLeaveLimit = 2, 2 })
	watcher := ts.authed(t, "admin")
	watcher.send(`{"type":"subscribe","topic":"t","presence":true}`)
	watcher.expect("subscribed")
	second := ts.authed(t, "admin")
	second.subscribe("t")
	watcher.expectPresenceEvent("join", "t", "admin") // two clients: within the limit
	third := ts.authed(t, "admin")
	third.subscribe("t")
	watcher.sync() // a third join, past the limit, sends nothing before the pong
	third.c.CloseNow()
	for {
		watcher.send(`{"type":"presence_stats","topic":"t"}`)
		if f := watcher.expect("presence_stats"); f["clients"] == 2.0 {
			break
		}
	}
	watcher.send(`{"type":"presence","topic":"t"}`)
	p := watcher.expect("presence")
	if p["count"] != 2.0 {
		t.Fatalf("presence = %v, want 2 clients", p)
	}
	third = ts.authed(t, "admin")
	third.subscribe("t")
	watcher.sync()
	watcher.send(`{"type":"presence","topic":"t"}`)
	if p := watcher.expect("presence"); p["count"] != 3.0 || p["truncated"] != true || len(p["clients"].([]any)) != 2 {
		t.Fatalf("presence = %v, want 2 of 3 clients listed, truncated", p)
	}
	second.c.CloseNow() // three clients counting the one leaving: no event
	for {
		watcher.send(`{"type":"presence_stats","topic":"t"}`)
		if f := watcher.expect("presence_stats"); f["clients"] == 2.0 {
			break
		}
	}
}

func TestPresence_AdminAPI(t *testing.T) {
	ts := newTestServer(t, withAdmin)
	alice := ts.authed(t, "alice")
	alice.subscribe("chat/room")
	base := ts.httpURL() + "/api/topics/" + url.PathEscape("chat/room") + "/presence"

	var p admin.Presence
	if code := adminGet(t, base, &p); code != http.StatusOK {
		t.Fatalf("GET presence: %d", code)
	}
	if p.Topic != "chat/room" || p.Count != 1 || p.Users != 1 || p.Truncated || len(p.Clients) != 1 ||
		p.Clients[0].User != "alice" || p.Clients[0].Conn != alice.sess.id {
		t.Errorf("presence = %+v", p)
	}
	if code := adminGet(t, ts.httpURL()+"/api/topics/nobody/presence", &p); code != http.StatusOK || p.Count != 0 || p.Clients == nil {
		t.Errorf("empty topic: %d %+v", code, p)
	}
	for _, tc := range []struct {
		url  string
		code int
	}{
		{base + "?limit=0", http.StatusBadRequest},
		{ts.httpURL() + "/api/topics/" + url.PathEscape("a/#/b") + "/presence", http.StatusBadRequest},
	} {
		if code := adminGet(t, tc.url, nil); code != tc.code {
			t.Errorf("GET %s = %d, want %d", tc.url, code, tc.code)
		}
	}
	for _, auth := range []string{"", "Bearer wrong-token"} {
		req, _ := http.NewRequest(http.MethodGet, base, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET with %q = %d, want 401 or 403", auth, resp.StatusCode)
		}
	}
	off := newTestServer(t, func(c *config.Config) { withAdmin(c); c.Presence.Enabled = false })
	if code := adminGet(t, off.httpURL()+"/api/topics/x/presence", nil); code != http.StatusNotFound {
		t.Errorf("presence disabled: %d, want 404", code)
	}
}
