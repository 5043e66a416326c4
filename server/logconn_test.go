package server

import (
	"bufio"
	stdjson "encoding/json"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestLog_ConnHasOneShape logs as JSON with the logging plugin on, makes
// the server, its transports and the plugin log about connections, and
// checks that every record's "conn" is one object with the same fields:
// id ("ws:N" or "tcp:N"), remote, transport and, once known, user, with
// none of them beside it.
func TestLog_ConnHasOneShape(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newTestServer(t, func(c *config.Config) { c.Plugins.Enabled = []string{"logging"} }, WithLogger(log))

	alice := ts.authed(t, "alice")
	alice.publish("chat/bob", "1") // refused: the server logs it
	alice.expectError("permission denied")
	n := ts.nativeAuthed(t, "tcp", "alice")
	n.publish(wire.Publish{Topic: []byte("chat/bob"), Payload: []byte("x")})
	n.expectError(wire.CodeForbidden, false, wire.TypePublish)
	nc, err := net.Dial("tcp", ts.tcpAddr) // not a native client: the transport logs it
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	bufio.NewReader(nc).ReadString('\n')

	id := regexp.MustCompile(`^(ws|tcp):[0-9]+$`)
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := stdjson.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		c, ok := rec["conn"]
		if !ok {
			continue
		}
		conn, ok := c.(map[string]any)
		if !ok {
			t.Fatalf("conn is %T, not an object, in %s", c, line)
		}
		s, _ := conn["id"].(string)
		tr, _ := conn["transport"].(string)
		if !id.MatchString(s) || !strings.HasPrefix(s, tr+":") || conn["remote"] == nil {
			t.Fatalf("conn %v in %s", conn, line)
		}
		for k := range conn {
			if k != "id" && k != "remote" && k != "transport" && k != "user" {
				t.Fatalf("conn has %q in %s", k, line)
			}
		}
		if rec["remote"] != nil || rec["user"] != nil {
			t.Fatalf("connection fields beside conn in %s", line)
		}
		if rec["msg"] == "whispeer: permission denied" && conn["user"] != "alice" {
			t.Fatalf("conn %v without the user in %s", conn, line)
		}
		seen[rec["msg"].(string)+" "+tr] = true
	}
	for _, want := range []string{
		"whispeer: connected ws",            // the plugin
		"whispeer: authenticated tcp",       // the plugin
		"whispeer: permission denied ws",    // the server
		"whispeer: permission denied tcp",   // the server
		"whispeer: not a native client tcp", // the transport
	} {
		if !seen[want] {
			t.Errorf("no %q record with conn; saw %v", want, seen)
		}
	}
}
