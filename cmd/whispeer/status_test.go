package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/server/admin"
)

const testAdminToken = "a-test-admin-token-of-32-bytes-at-least"

// fixedSource is an admin.Source with fixed contents.
type fixedSource struct{}

func (fixedSource) Status() admin.Status {
	return admin.Status{Version: "v9.9.9", StartedAt: time.Now().Add(-time.Hour), UptimeSeconds: 3600,
		Connections: 2, Topics: 2, Subscriptions: 3, MessagesIn: 42, FramesOut: 84}
}

func (fixedSource) Topics(string, int) ([]admin.Topic, error) {
	return []admin.Topic{
		{Name: "chat/a", Subscribers: 2, Messages: 40, LastOffset: 40, Retained: 10},
		{Name: "news", Subscribers: 1, Messages: 2, LastOffset: 2, Retained: 2},
	}, nil
}

func (fixedSource) Connections() []admin.Connection {
	return []admin.Connection{{ID: "ws:1", RemoteAddr: "127.0.0.1:5000", Transport: "ws", Protocol: "json", User: "alice", Subscriptions: 2}}
}

func (fixedSource) Disconnect(string) error { return nil }
func (fixedSource) Ready() error            { return nil }

func adminServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(admin.NewHandler(fixedSource{}, admin.Options{Token: testAdminToken}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// execute runs the whispeer command with args and returns its output.
func execute(t *testing.T, ctx context.Context, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func TestStatus_Table(t *testing.T) {
	url := adminServer(t)
	out, _, err := execute(t, context.Background(), "status", "--url", url, "--token", testAdminToken, "--connections")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"version        v9.9.9", "uptime         1h0m0s", "subscriptions  3", "messages in    42",
		"TOPIC   SUBSCRIBERS  MESSAGES  LAST OFFSET  RETAINED",
		"chat/a  2            40        40           10",
		"news    1            2         2            2",
		"ws:1        127.0.0.1:5000  ws/json   alice  2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestStatus_JSON(t *testing.T) {
	url := adminServer(t)
	t.Setenv(envAdminToken, testAdminToken)
	out, _, err := execute(t, context.Background(), "status", "--url", url, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.Status.Version != "v9.9.9" || len(r.Topics) != 2 || r.Topics[0].Subscribers != 2 || r.Connections != nil {
		t.Errorf("report %+v", r)
	}
}

func TestStatus_Errors(t *testing.T) {
	url := adminServer(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no token", []string{"--url", url}, "401 Unauthorized: missing bearer token"},
		{"wrong token", []string{"--url", url, "--token", "nope"}, "403 Forbidden: wrong admin token (pass the server's admin.token"},
		{"no server", []string{"--url", "http://127.0.0.1:1", "--token", "x"}, "admin API: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envAdminToken, "")
			_, _, err := execute(t, context.Background(), append([]string{"status"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// cancelAfter is a writer that cancels a context once it has seen n
// reports.
type cancelAfter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	n       int
	cancel  context.CancelFunc
	reports int
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.reports += bytes.Count(p, []byte(`"status"`)); w.reports >= w.n {
		w.cancel()
	}
	return len(p), nil
}

func TestStatus_Watch(t *testing.T) {
	url := adminServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelAfter{n: 3, cancel: cancel}
	o := statusOptions{url: url, token: testAdminToken, json: true, watch: time.Millisecond, pattern: "#", limit: 10}
	if err := runStatus(ctx, w, w, o); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(w.buf.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d reports, want at least 3:\n%s", len(lines), w.buf.String())
	}
	for _, l := range lines {
		var r report
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Errorf("line %q is not a report: %v", l, err)
		}
	}
}

func TestStatus_TLS(t *testing.T) {
	srv := httptest.NewTLSServer(admin.NewHandler(fixedSource{}, admin.Options{Token: testAdminToken}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"status", "--url", srv.URL, "--token", testAdminToken}
	if _, _, err := execute(t, context.Background(), args...); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an unknown certificate: %v", err)
	}
	if out, _, err := execute(t, context.Background(), append(args, "--ca", caFile)...); err != nil || !strings.Contains(out, "v9.9.9") {
		t.Errorf("--ca: %v\n%s", err, out)
	}
	out, errOut, err := execute(t, context.Background(), append(args, "--insecure")...)
	if err != nil || !strings.Contains(out, "v9.9.9") || !strings.Contains(errOut, "warning: --insecure") {
		t.Errorf("--insecure: %v, %q\n%s", err, errOut, out)
	}
}

// clusterSource is a node of a cluster whose other node "ghost" does not
// answer.
type clusterSource struct{ fixedSource }

func (clusterSource) ClusterStatus(context.Context) *admin.ClusterStatus {
	return &admin.ClusterStatus{Nodes: 2, Connections: 5, Subscriptions: 7, MessagesIn: 50, MissingNodes: []string{"ghost"}}
}

func (c clusterSource) ClusterTopics(_ context.Context, p string, n int) (admin.TopicList, error) {
	ts, err := c.Topics(p, n)
	return admin.TopicList{Topics: ts, MissingNodes: []string{"ghost"}}, err
}

func (clusterSource) ClusterConnections(context.Context, string) admin.ConnectionList {
	return admin.ConnectionList{Connections: []admin.Connection{
		{ID: "ws:1", RemoteAddr: "127.0.0.1:5000", Transport: "ws", Protocol: "json", User: "alice", Subscriptions: 2, Node: "n1"},
		{ID: "ws:1", RemoteAddr: "127.0.0.1:6000", Transport: "ws", Protocol: "json", User: "bob", Subscriptions: 1, Node: "n2"},
	}, MissingNodes: []string{"ghost"}}
}

func (clusterSource) ClusterDisconnectUser(context.Context, string) admin.Disconnected {
	return admin.Disconnected{}
}

func (clusterSource) ClusterPresence(context.Context, string, int) (admin.Presence, error) {
	return admin.Presence{}, nil
}

func TestStatus_Cluster(t *testing.T) {
	srv := httptest.NewServer(admin.NewHandler(clusterSource{}, admin.Options{Token: testAdminToken}))
	defer srv.Close()
	out, _, err := execute(t, context.Background(), "status", "--url", srv.URL, "--token", testAdminToken, "--connections")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"nodes that did not answer: ghost", "cluster          2 nodes", "  connections    5",
		"NODE  CONNECTION", "n1    ws:1", "n2    ws:1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = execute(t, context.Background(), "status", "--url", srv.URL, "--token", testAdminToken, "--json")
	if err != nil || !strings.Contains(out, `"missing_nodes": [`) || !strings.Contains(out, `"cluster": {`) {
		t.Fatalf("--json: %v\n%s", err, out)
	}
}
