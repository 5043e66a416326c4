package server

import (
	"context"
	stdjson "encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/server/config"
)

// TestFanout_1000Connections subscribes 1,000 WebSocket clients to one
// topic and checks that every one receives every message, in order.
func TestFanout_1000Connections(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	const conns = 1000
	messages := 100
	if raceEnabled {
		messages = 20
	}
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0 })
	subs := make([]*client, conns)
	for i := range subs {
		subs[i] = ts.authed(t, "admin")
		subs[i].subscribe("fan/out")
	}
	pub := ts.authed(t, "admin")

	for i := range messages {
		pub.publish("fan/out", `{"n":`+strconv.Itoa(i)+`}`)
	}
	pub.sync()
	// The frames wait in the sockets' buffers; reading the connections one
	// after the other keeps the test free of a thousand reader goroutines.
	for i, c := range subs {
		if err := receiveAll(c, messages); err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
	}
	if st := ts.Stats().WebSocket; st.SlowConsumers != 0 {
		t.Fatalf("%d slow consumers", st.SlowConsumers)
	}
}

// receiveAll reads n messages and checks they are numbered 0 to n-1. It
// runs outside the test goroutine, so it returns errors instead of failing.
func receiveAll(c *client, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		_, data, err := c.c.Read(ctx)
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		var m struct {
			Type    string `json:"type"`
			Payload struct {
				N int `json:"n"`
			} `json:"payload"`
		}
		if err := stdjson.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if m.Type != "message" || m.Payload.N != i {
			return fmt.Errorf("message %d: got %s", i, data)
		}
	}
	return nil
}
