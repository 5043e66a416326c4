package client_test

import (
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
)

// TestClient_Presence asks who is subscribed to a topic and receives the
// join and leave events of a subscription, from whispeer's own server.
func TestClient_Presence(t *testing.T) {
	urls := startReal(t, nil, "", "").urls
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			ctx := ctxT(t)
			alice := dial(t, urls[scheme], client.WithCredentials("alice", "alice-pw"), client.WithClientID("alice-"+scheme))
			events := make(chan client.PresenceEvent, 8)
			h, _ := collect(1)
			if _, err := alice.Subscribe("chat/room", h, client.WithPresenceEvents(func(e client.PresenceEvent) { events <- e })); err != nil {
				t.Fatal(err)
			}
			admin := dial(t, urls[scheme], client.WithCredentials("admin", "password"), client.WithClientID("admin-"+scheme))
			sub, err := admin.Subscribe("chat/room", h)
			if err != nil {
				t.Fatal(err)
			}
			if e := recv(t, events); e.Leave || e.Client != (client.PresenceClient{User: "admin", ClientID: "admin-" + scheme}) {
				t.Fatalf("event %+v, want admin's join", e)
			}

			p, err := admin.Presence(ctx, "chat/room")
			want := []client.PresenceClient{{User: "admin", ClientID: "admin-" + scheme}, {User: "alice", ClientID: "alice-" + scheme}}
			if err != nil || p.Count != 2 || p.Users != 2 || p.Truncated || len(p.Clients) != 2 || p.Clients[0] != want[0] || p.Clients[1] != want[1] {
				t.Fatalf("Presence = %+v, %v; want %v", p, err, want)
			}
			if st, err := alice.PresenceStats(ctx, "chat/room"); err != nil || st.Count != 2 || st.Users != 2 || st.Clients != nil {
				t.Fatalf("PresenceStats = %+v, %v", st, err)
			}
			if _, err := alice.Presence(ctx, "admin/secrets"); whispeer.ErrorCode(err) != whispeer.CodeForbidden {
				t.Fatalf("presence outside the ACL: %v", err)
			}
			if _, err := alice.Presence(ctx, "a/#/b"); err == nil {
				t.Fatal("presence of an invalid pattern succeeded")
			}

			sub.Unsubscribe()
			if e := recv(t, events); !e.Leave || e.Client.User != "admin" {
				t.Fatalf("event %+v, want admin's leave", e)
			}
			if _, err := admin.Subscribe("chat/room", h); err != nil {
				t.Fatal(err)
			}
			recv(t, events) // the join
			admin.Close()
			if e := recv(t, events); !e.Leave || e.Client.User != "admin" {
				t.Fatalf("event %+v, want admin's leave at its disconnect", e)
			}
		})
	}
}
