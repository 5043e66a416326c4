package clustertest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/internal/clustertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(clustertest.Wrap(m),
		// the admin requests' keep-alive connections of net/http
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

func TestStart_NodesAreReadyOnTheirOwnPorts(t *testing.T) {
	c := clustertest.Start(t, 2)
	a, b := c.Nodes[0], c.Nodes[1]
	if a.Name != "node-0" || b.Name != "node-1" {
		t.Fatalf("names %q, %q", a.Name, b.Name)
	}
	if a.WSURL == b.WSURL || a.TCPURL == b.TCPURL || a.AdminURL == b.AdminURL {
		t.Fatalf("nodes share a listener: %+v %+v", a, b)
	}
	for _, nd := range c.Nodes {
		if code, body, err := nd.Readyz(); err != nil || code != http.StatusOK {
			t.Fatalf("%s /readyz = %d %q, %v", nd.Name, code, body, err)
		}
	}
	if code, _, err := a.Admin("/api/status"); err != nil || code != http.StatusOK {
		t.Fatalf("/api/status with the token = %d, %v", code, err)
	}
}

func TestNode_JSONAndNativeClientsMeet(t *testing.T) {
	c := clustertest.Start(t, 1)
	nd := c.Nodes[0]
	sub := clustertest.DialJSON(t, nd.WSURL, c.Token(t))
	sub.Subscribe(t, "room/+", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, url := range []string{nd.TCPURL, nd.WSURL} {
		pub, err := client.Dial(ctx, url, client.WithToken(c.Token(t)))
		if err != nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		err = pub.Publish(ctx, "room/1", []byte(`"from `+url+`"`), client.WithQoS(client.AtLeastOnce))
		pub.Close()
		if err != nil {
			t.Fatalf("publish over %s: %v", url, err)
		}
		m := sub.Next(t, "message")
		if m.Topic != "room/1" || string(m.Payload) != `"from `+url+`"` {
			t.Fatalf("message = %+v", m)
		}
	}
}

func TestNode_KillAndRestartOnTheSamePorts(t *testing.T) {
	c := clustertest.Start(t, 1)
	nd := c.Nodes[0]
	urls := [3]string{nd.WSURL, nd.TCPURL, nd.AdminURL}
	conn := clustertest.DialJSON(t, nd.WSURL, c.Token(t))
	nd.Kill()
	if nd.Running() {
		t.Fatal("Running after Kill")
	}
	if _, err := conn.Recv("message"); err == nil {
		t.Fatal("a connection to a killed node got a frame")
	}
	if _, _, err := nd.Readyz(); err == nil {
		t.Fatal("/readyz of a killed node answered")
	}
	nd.Restart()
	if [3]string{nd.WSURL, nd.TCPURL, nd.AdminURL} != urls {
		t.Fatalf("URLs after Restart %v, want %v", []string{nd.WSURL, nd.TCPURL, nd.AdminURL}, urls)
	}
	clustertest.DialJSON(t, nd.WSURL, c.Token(t)) // the token outlives the restart
	nd.Stop()
	if nd.Running() {
		t.Fatal("Running after Stop")
	}
	if !strings.Contains(nd.Log(), "listening on") {
		t.Fatalf("log without the listeners: %s", nd.Log())
	}
}

func TestStart_WithTOMLAndFlags(t *testing.T) {
	c := clustertest.Start(t, 1,
		clustertest.WithTOML(func(int) string {
			return "[[auth.users]]\nusername = \"bob\"\npassword = \"secret\"\npublish = [\"#\"]\nsubscribe = [\"#\"]\n"
		}),
		clustertest.WithFlags(func(int) []string { return []string{"--replay.size=2", "--store.kind=none"} }))
	nd := c.Nodes[0]
	tok := clustertest.Login(t, nd.WSURL, "bob", "secret")
	bob := clustertest.DialJSON(t, nd.WSURL, tok)
	for _, p := range []string{"1", "2", "3"} {
		bob.Send(map[string]any{"type": "publish", "topic": "t", "payload": p, "qos": 1, "message_id": "m" + p})
		bob.Next(t, "puback")
	}
	sub := clustertest.DialJSON(t, nd.WSURL, tok)
	sub.Subscribe(t, "t", map[string]any{"last": 10})
	for _, want := range []string{`"2"`, `"3"`} {
		if m := sub.Next(t, "message"); string(m.Payload) != want {
			t.Fatalf("replayed %s, want %s (replay.size=2 without a store keeps the last two)", m.Payload, want)
		}
	}
}
