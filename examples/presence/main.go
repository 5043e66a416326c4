// Command presence shows who is subscribed to a topic: a whispeer server
// on a loopback port, two Go clients in one chat room, one of them told
// when the other joins and leaves, a presence request, and the admin
// API's view of the same room.
//
// It runs a short demonstration and exits:
//
//	go run ./examples/presence
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

const room = "chat/room"

// adminToken is the admin API's bearer token in this demonstration; a
// real one is 32 random bytes kept in WHISPEER_ADMIN_TOKEN.
const adminToken = "presence-example-admin-token-0123456789"

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	cfg := config.Default()
	cfg.Store.Kind = config.StoreNone // nothing written to disk
	cfg.Admin.Token = adminToken
	cfg.Presence.JoinLeaveLimit = 100 // the default: events while a topic has at most 100 clients
	cfg.Auth.Users = []config.User{
		{Username: "ann", Password: "ann-pw", Publish: []string{"chat/#"}, Subscribe: []string{"chat/#"}},
		{Username: "bob", Password: "bob-pw", Publish: []string{"chat/#"}, Subscribe: []string{"chat/#"}},
	}
	// The demonstration's plain-text passwords and default secret are
	// allowed on a loopback host; the warnings about them are not shown.
	srv, err := server.New(cfg, server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln) // WebSocket: the native protocol in binary messages, and the admin API
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer srv.Shutdown(ctx)
	wsURL := "ws://" + ln.Addr().String() + "/ws"

	ann, err := client.Dial(ctx, wsURL, client.WithCredentials("ann", "ann-pw"), client.WithClientID("ann-laptop"))
	if err != nil {
		return err
	}
	defer ann.Close()
	events := make(chan client.PresenceEvent, 4)
	if _, err := ann.Subscribe(room, func(context.Context, *client.Message) error { return nil },
		client.WithPresenceEvents(func(e client.PresenceEvent) { events <- e })); err != nil {
		return err
	}

	bob, err := client.Dial(ctx, wsURL, client.WithCredentials("bob", "bob-pw"), client.WithClientID("bob-phone"))
	if err != nil {
		return err
	}
	if _, err := bob.Subscribe(room, func(context.Context, *client.Message) error { return nil }); err != nil {
		return err
	}
	show(<-events)

	p, err := ann.Presence(ctx, room)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d clients, %d users\n", room, p.Count, p.Users)
	for _, c := range p.Clients {
		fmt.Printf("  %s (%s)\n", c.User, c.ClientID)
	}

	body, err := adminGet(ctx, "http://"+ln.Addr().String()+"/api/topics/"+url.PathEscape(room)+"/presence")
	if err != nil {
		return err
	}
	fmt.Printf("GET /api/topics/%s/presence:\n%s", url.PathEscape(room), body)

	bob.Close() // leaving the server leaves every topic
	show(<-events)
	return nil
}

// show prints a join or a leave.
func show(e client.PresenceEvent) {
	verb := "joined"
	if e.Leave {
		verb = "left"
	}
	fmt.Printf("%s (%s) %s %s\n", e.Client.User, e.Client.ClientID, verb, room)
}

// adminGet GETs an admin API endpoint with the bearer token.
func adminGet(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("admin API: %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}
