package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer/plugins/metrics/metricstest"
)

// e2eConfig makes the server under test run every built-in plugin, with a
// type rule, and one user.
const e2eConfig = `
[server]
tcp_port = 0
jwt_secret = "a-jwt-secret-for-the-status-tests-0123456789"

[[auth.users]]
username = "alice"
password = "wonderland"
publish = ["#"]
subscribe = ["#"]

[plugins]
enabled = ["logging", "metrics", "stamp", "typecheck"]
node = "test-node"

[[plugins.typecheck]]
pattern = "sensor/#"
fields = { temp = "number" }
`

// runningServer is a `whispeer serve` process.
type runningServer struct {
	url, wsURL, config string
	stderr             *bytes.Buffer
}

// startServer runs `whispeer serve` with e2eConfig plus extra TOML and
// stops it gracefully when the test ends.
func startServer(t *testing.T, extra string) *runningServer {
	t.Helper()
	port := freePort(t)
	file := filepath.Join(t.TempDir(), "whispeer.toml")
	toml := strings.Replace(e2eConfig, "[server]\n", "[server]\nport = "+strconv.Itoa(port)+"\n", 1) + extra
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := command(t, []string{envAdminToken + "=" + testAdminToken}, "serve", "--config", file)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	rs := &runningServer{url: "http://127.0.0.1:" + strconv.Itoa(port), wsURL: "ws://127.0.0.1:" + strconv.Itoa(port),
		config: file, stderr: &bytes.Buffer{}}
	cmd.Stderr = rs.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve: %v\n%s", err, rs.stderr)
		}
	})
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "WebSocket server listening") {
		t.Fatalf("no listening line: %q, %v\n%s", line, err, rs.stderr)
	}
	if strings.Contains(extra, "listen") {
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "admin API listening on ") {
			t.Fatalf("no admin listening line: %q, %v", line, err)
		}
		rs.url = strings.TrimSpace(strings.TrimPrefix(line, "admin API listening on "))
	}
	return rs
}

// wsClient is a PopSub JSON client.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dialJSON(t *testing.T, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t, c}
}

// call sends frame and returns the next frame received.
func (w *wsClient) call(frame string) map[string]any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		w.t.Fatal(err)
	}
	return w.read(ctx)
}

func (w *wsClient) read(ctx context.Context) map[string]any {
	w.t.Helper()
	_, data, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		w.t.Fatal(err)
	}
	return m
}

func TestStatus_AgainstRunningServer(t *testing.T) {
	rs := startServer(t, "")
	token, _, err := execute(t, context.Background(), "token", "--user", "alice", "--config", rs.config)
	if err != nil {
		t.Fatal(err)
	}
	sub := dialJSON(t, rs.wsURL)
	if m := sub.call(`{"type":"auth","token":"` + strings.TrimSpace(token) + `"}`); m["type"] != "authenticated" {
		t.Fatalf("auth with the minted token: %v", m)
	}
	if m := sub.call(`{"type":"subscribe","topic":"chat/#"}`); m["type"] != "subscribed" {
		t.Fatalf("subscribe: %v", m)
	}
	pub := dialJSON(t, rs.wsURL)
	login := pub.call(`{"type":"login","username":"alice","password":"wonderland"}`)
	pub.call(`{"type":"auth","token":"` + login["token"].(string) + `"}`)
	for range 3 {
		pub.call(`{"type":"publish","topic":"chat/a","payload":"hi","message_id":"` + strconv.Itoa(int(time.Now().UnixNano())) + `","qos":1}`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		if m := sub.read(ctx); m["type"] != "message" || m["topic"] != "chat/a" {
			t.Fatalf("delivery %v", m)
		}
	}
	if m := pub.call(`{"type":"publish","topic":"sensor/x","payload":{"temp":"warm"},"message_id":"bad","qos":1}`); !strings.Contains(m["error"].(string), `rejected by typecheck: topic "sensor/x" expects an object {temp: number}: field "temp" is a string`) {
		t.Errorf("a mistyped publish got %v", m)
	}

	out, _, err := execute(t, context.Background(), "status", "--url", rs.url, "--token", testAdminToken, "--connections")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"connections    2", "topics         1", "subscriptions  1", "messages in    3",
		"chat/a  1            3         3            3", "ws/json   alice  1"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	out, _, err = execute(t, context.Background(), "status", "--url", rs.url, "--token", testAdminToken, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Status.Connections != 2 || r.Status.MessagesIn != 3 || len(r.Topics) != 1 || r.Topics[0].Subscribers != 1 || r.Topics[0].LastOffset != 3 {
		t.Errorf("status JSON %+v", r)
	}
	if tp := r.Topics[0]; tp.Epoch == 0 || tp.FirstOffset != 1 || tp.Retained != 3 {
		t.Errorf("topic %+v, want the store's epoch, first offset 1 and 3 messages kept", tp)
	}

	f := metricstest.ScrapeURL(t, http.DefaultClient, rs.url+"/metrics")
	for name, want := range map[string]float64{
		"whispeer_connections": 2, "whispeer_messages_in_total": 4, "whispeer_messages_out_total": 3,
		"whispeer_authentications_total": 2, "whispeer_subscriptions": 1,
	} {
		if got, _ := f.Value(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Appends are timed one in metrics.DefaultLatencySample, the first
	// included: of these 3, the first.
	if got, _ := f.Value("whispeer_store_latency_seconds", "op", "append"); got != 1 {
		t.Errorf("store appends observed: %v, want 1 (the server's store is timed)", got)
	}
	if got, _ := f.Value("whispeer_rejected_total", "plugin", "typecheck"); got != 1 {
		t.Errorf("whispeer_rejected_total{plugin=typecheck} = %v, want 1", got)
	}
}

func TestStatus_DisconnectAndAdminListener(t *testing.T) {
	rs := startServer(t, "\n[admin]\nlisten = \"127.0.0.1:0\"\n")
	c := dialJSON(t, rs.wsURL)
	c.call(`{"type":"login","username":"alice","password":"wrong"}`)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(rs.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}
	out, _, err := execute(t, context.Background(), "status", "--url", rs.url, "--token", testAdminToken, "--json", "--connections")
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Connections) != 1 {
		t.Fatalf("connections %+v, %v", r.Connections, err)
	}
	req, _ := http.NewRequest(http.MethodDelete, rs.url+"/api/connections/"+r.Connections[0].ID, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %s", resp.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = c.c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "closed by the server's administrator") {
		t.Errorf("client saw %v, want close 1008 from the administrator", err)
	}
}

// TestStatus_FindsTheServerFromItsConfig runs status with the server's
// --config alone: the admin listener and the token come from the file.
func TestStatus_FindsTheServerFromItsConfig(t *testing.T) {
	for _, tc := range []struct{ name, extra string }{
		{"admin.listen", "\n[admin]\nlisten = \"127.0.0.1:" + strconv.Itoa(freePort(t)) + "\"\ntoken = \"" + testAdminToken + "\"\n"},
		{"server.port", "\n[admin]\ntoken = \"" + testAdminToken + "\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := startServer(t, tc.extra)
			for _, v := range []string{envAdminToken, envAdminURL} {
				t.Setenv(v, "") // restored when the test ends
				os.Unsetenv(v)
			}
			out, _, err := execute(t, context.Background(), "status", "--config", rs.config, "--json")
			if err != nil {
				t.Fatal(err)
			}
			var r report
			if err := json.Unmarshal([]byte(out), &r); err != nil || r.Status.Version == "" {
				t.Fatalf("status %+v, %v", r.Status, err)
			}
		})
	}
}
