// Command plugins-server runs a whispeer server with plugins and its admin
// API: the built-in logging, metrics and typecheck plugins, plus a plugin
// of its own that refuses users outside office hours. A WebSocket client
// publishes, a mistyped publish is refused with the reason, and the
// program then reads the admin API and the metrics as an operator would.
//
// A server configured with plugins.enabled makes its broker with those
// plugins itself. A program with plugins of its own makes the broker, as
// here, and hands it and its metrics plugin to the server.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
	"github.com/whispeer-io/whispeer/plugins/logging"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/plugins/typecheck"
	"github.com/whispeer-io/whispeer/server"
	"github.com/whispeer-io/whispeer/server/config"
)

// officeHours is a plugin of the program's own: it refuses authentications
// of users listed as day-only outside 08:00–18:00.
type officeHours struct{ dayOnly map[string]bool }

func (officeHours) Name() string { return "office-hours" }

func (p officeHours) OnAuthenticate(c hook.Conn) error {
	if h := time.Now().Hour(); p.dayOnly[c.User] && (h < 8 || h >= 18) {
		return errors.New("come back during office hours")
	}
	return nil
}

var _ hook.Auth = officeHours{}

const adminToken = "example-admin-token-0123456789abcdef"

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	mp := metrics.New(metrics.Options{})
	types, err := typecheck.New(typecheck.Rule{Pattern: "sensor/#", Fields: map[string]typecheck.Kind{"temp": typecheck.Number}})
	if err != nil {
		log.Fatal(err)
	}
	// Plugins run in this order: the logger sees every publish, the
	// metrics plugin, last, only those the others let through.
	b, err := whispeer.New(
		whispeer.WithPlugin(logging.New(logging.Options{Logger: logger})),
		whispeer.WithPlugin(officeHours{dayOnly: map[string]bool{"intern": true}}),
		whispeer.WithPlugin(types),
		whispeer.WithPlugin(mp),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	cfg := config.Default()
	cfg.Admin.Token = adminToken // turns the admin API on
	srv, err := server.New(cfg, server.WithBroker(b), server.WithMetrics(mp), server.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	base := "http://" + ln.Addr().String()

	publish(ln.Addr().String())
	fmt.Println("GET /api/status:", get(base+"/api/status", "connections", "topics", "messages_in"))
	fmt.Println("GET /api/topics:", get(base+"/api/topics", "topics"))
	fmt.Println("GET /metrics:")
	for _, line := range strings.Split(get(base+"/metrics"), "\n") {
		if strings.HasPrefix(line, "whispeer_messages_in_total") || strings.HasPrefix(line, "whispeer_rejected_total") {
			fmt.Println("  " + line)
		}
	}
}

// publish logs in over WebSocket and publishes a reading, then a mistyped
// one, which the typecheck plugin refuses.
func publish(addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(websocket.StatusNormalClosure, "done")
	call := func(frame string) map[string]any {
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			log.Fatal(err)
		}
		_, data, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(data, &m)
		return m
	}
	token := call(`{"type":"login","username":"admin","password":"password"}`)["token"].(string)
	call(`{"type":"auth","token":"` + token + `"}`)
	call(`{"type":"publish","topic":"sensor/kitchen","payload":{"temp":21.5},"message_id":"r1","qos":1}`)
	refused := call(`{"type":"publish","topic":"sensor/kitchen","payload":{"temp":"warm"},"message_id":"r2","qos":1}`)
	fmt.Println("refused:", refused["error"])
}

// get GETs url with the admin token and returns the body, or only the
// named fields of a JSON object.
func get(url string, fields ...string) string {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if len(fields) == 0 {
		return string(body)
	}
	var all map[string]json.RawMessage
	json.Unmarshal(body, &all)
	var parts []string
	for _, f := range fields {
		parts = append(parts, f+"="+strings.Join(strings.Fields(string(all[f])), ""))
	}
	return strings.Join(parts, " ")
}
