package server

import (
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// presenceAuthed connects over transport with the presence capability
// and authenticates as user.
func (ts *testServer) presenceAuthed(t testing.TB, transport, user string) *nclient {
	t.Helper()
	c := ts.dialNative(t, transport, nil, wire.CapPresence)
	if c.welcome.Caps != wire.CapPresence {
		t.Fatalf("WELCOME caps %v, want presence", c.welcome.Caps)
	}
	token, _ := ts.issuer.Issue(user)
	c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
	c.expect(wire.TypeAuthOK)
	return c
}

// expectJoinLeave reads a JOINLEAVE on sid of user.
func (c *nclient) expectJoinLeave(sid uint32, leave bool, user string) {
	c.t.Helper()
	j := c.expect(wire.TypeJoinLeave).JoinLeave
	if j.SID != sid || j.Leave != leave || string(j.User) != user || len(j.Client) == 0 {
		c.t.Fatalf("JOINLEAVE %+v, want sid %d leave %v of %q", j, sid, leave, user)
	}
}

// askPresence sends a PRESENCE and returns the answer, copied.
func (c *nclient) askPresence(id uint32, topic string, stats bool) (wire.PresenceInfo, [][2]string) {
	c.t.Helper()
	c.send(&wire.Frame{Type: wire.TypePresence, Presence: wire.Presence{ID: id, Stats: stats, Topic: []byte(topic)}})
	info := c.expect(wire.TypePresenceInfo).PresenceInfo
	if info.ID != id {
		c.t.Fatalf("PRESENCEINFO id %d, want %d", info.ID, id)
	}
	var clients [][2]string
	for u, cl := range info.Clients.All() {
		clients = append(clients, [2]string{string(u), string(cl)})
	}
	info.Text = append([]byte(nil), info.Text...)
	info.Clients = wire.PresenceClients{}
	return info, clients
}

func TestPresence_Native(t *testing.T) {
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			ts := newTestServer(t, nil)
			alice := ts.presenceAuthed(t, transport, "alice")
			alice.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 4, Presence: true, Topic: []byte("chat/room")}})
			alice.expect(wire.TypeSubAck)

			admin := ts.presenceAuthed(t, transport, "admin")
			admin.subscribe(1, "chat/room", wire.AtMostOnce, wire.Resume{})
			alice.expectJoinLeave(4, false, "admin")
			admin.subscribe(2, "chat/room", wire.AtMostOnce, wire.Resume{}) // a second subscription: no second join

			info, clients := admin.askPresence(7, "chat/room", false)
			if info.Code != wire.CodeOK || info.Count != 2 || info.Users != 2 || info.Truncated || len(clients) != 2 ||
				clients[0][0] != "admin" || clients[1][0] != "alice" {
				t.Fatalf("PRESENCEINFO %+v %v", info, clients)
			}
			if info, clients := admin.askPresence(8, "chat/room", true); info.Count != 2 || info.Users != 2 || len(clients) != 0 {
				t.Fatalf("stats %+v %v", info, clients)
			}
			json := ts.authed(t, "bob") // a JSON client on the same topic
			json.subscribe("chat/bob")
			json.send(`{"type":"subscribe","topic":"chat/room","presence":true}`)
			json.expectError("permission denied") // bob may subscribe to chat/bob only

			admin.send(&wire.Frame{Type: wire.TypeUnsubscribe, Unsubscribe: wire.Unsubscribe{SID: 1}})
			admin.sync() // still present through sid 2
			admin.send(&wire.Frame{Type: wire.TypeUnsubscribe, Unsubscribe: wire.Unsubscribe{SID: 2}})
			alice.expectJoinLeave(4, true, "admin")
			admin.subscribe(3, "chat/room", wire.AtMostOnce, wire.Resume{})
			alice.expectJoinLeave(4, false, "admin")
			if transport == "tcp" {
				admin.nc.Close()
			} else {
				admin.ws.CloseNow()
			}
			alice.expectJoinLeave(4, true, "admin") // a disconnect leaves
			if info, _ := alice.askPresence(9, "chat/room", false); info.Count != 1 {
				t.Fatalf("after admin left: %+v", info)
			}
		})
	}
}

func TestPresence_NativeRefusals(t *testing.T) {
	ts := newTestServer(t, nil)
	bob := ts.presenceAuthed(t, "tcp", "bob")
	if info, _ := bob.askPresence(1, "chat/room", false); info.Code != wire.CodeForbidden {
		t.Fatalf("presence of a topic bob may not subscribe to: %+v", info)
	}
	if info, _ := bob.askPresence(2, "a/#/b", true); info.Code != wire.CodeInvalid {
		t.Fatalf("presence of an invalid pattern: %+v", info)
	}
	if info, _ := bob.askPresence(3, "chat/bob", false); info.Code != wire.CodeOK || info.Count != 0 {
		t.Fatalf("presence of chat/bob: %+v", info)
	}

	plain := ts.nativeAuthed(t, "tcp", "admin") // no presence capability
	plain.send(&wire.Frame{Type: wire.TypePresence, Presence: wire.Presence{ID: 1, Topic: []byte("t")}})
	plain.expectError(wire.CodeInvalid, false, wire.TypePresence)
	plain.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 1, Presence: true, Topic: []byte("t")}})
	plain.expect(wire.TypeSubAck)
	watcher := ts.presenceAuthed(t, "tcp", "admin")
	watcher.subscribe(1, "t", wire.AtMostOnce, wire.Resume{})
	plain.sync() // its SUB's presence flag was ignored: no JOINLEAVE before the PONG

	anon := ts.dialNative(t, "ws", nil, wire.CapPresence)
	anon.send(&wire.Frame{Type: wire.TypePresence, Presence: wire.Presence{ID: 5, Topic: []byte("t")}})
	if info := anon.expect(wire.TypePresenceInfo).PresenceInfo; info.ID != 5 || info.Code != wire.CodeUnauthorized {
		t.Fatalf("PRESENCE before AUTH: %+v", info)
	}

	off := newTestServer(t, func(c *config.Config) { c.Presence.Enabled = false })
	if c := off.dialNative(t, "tcp", nil, wire.CapPresence); c.welcome.Caps.Has(wire.CapPresence) {
		t.Fatal("presence granted by a server with presence disabled")
	}
}

func TestPresence_NativeListBoundedByFrameLimit(t *testing.T) {
	ts := newTestServer(t, nil)
	for range 20 {
		ts.authed(t, "admin").subscribe("big")
	}
	small := ts.dialHello(t, "tcp", nil, wire.Hello{Version: wire.Version, Caps: wire.CapPresence, MaxFrame: 200})
	token, _ := ts.issuer.Issue("admin")
	small.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
	small.expect(wire.TypeAuthOK)
	info, clients := small.askPresence(1, "big", false)
	if info.Count != 20 || !info.Truncated || len(clients) == 0 || len(clients) >= 20 {
		t.Fatalf("PRESENCEINFO for a 200-byte frame limit: %+v, %d clients", info, len(clients))
	}
}
