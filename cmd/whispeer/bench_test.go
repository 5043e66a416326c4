package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/server/config"
)

// benchJSON runs bench against url with args and decodes its --json report.
func benchJSON(t *testing.T, url string, args ...string) benchReport {
	t.Helper()
	args = append([]string{"bench", "--url", url, "--user", "admin", "--password", "password", "--quiet", "--json"}, args...)
	out, errOut, err := execute(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("bench: %v (stderr %q)", err, errOut)
	}
	if errOut != "" {
		t.Errorf("bench --quiet wrote to stderr: %q", errOut)
	}
	var r benchReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return r
}

func checkBench(t *testing.T, r benchReport, published uint64, subs int) {
	t.Helper()
	if r.Published != published || r.Delivered != published*uint64(subs) || r.Lost != 0 || r.Stalled {
		t.Errorf("published %d, delivered %d, lost %d, stalled %v; want %d, %d, 0, false",
			r.Published, r.Delivered, r.Lost, r.Stalled, published, published*uint64(subs))
	}
	if len(r.PerSubscriber) != subs {
		t.Fatalf("per subscriber %v, want %d subscribers", r.PerSubscriber, subs)
	}
	for i, n := range r.PerSubscriber {
		if n != published {
			t.Errorf("subscriber %d received %d, want %d", i, n, published)
		}
	}
	l := r.Latency
	if l.Samples != r.Delivered || l.P50 <= 0 || l.P99 < l.P50 || l.P999 < l.P99 || l.Max < l.P999 {
		t.Errorf("latency %+v, want %d samples and ordered percentiles", l, r.Delivered)
	}
	if r.PublishedPerSec <= 0 || r.DeliveredPerSec <= 0 || r.BytesPerSec != r.DeliveredPerSec*float64(r.Size) {
		t.Errorf("rates: published %g/s, delivered %g/s, %g B/s", r.PublishedPerSec, r.DeliveredPerSec, r.BytesPerSec)
	}
}

func TestBench_JSON(t *testing.T) {
	_, url := nativeServer(t)
	r := benchJSON(t, url, "--count", "500", "--subs", "2")
	checkBench(t, r, 500, 2)
	if r.QoS != 0 || r.Size != 128 || r.Subscribers != 2 || r.Publishers != 1 || !strings.HasPrefix(r.Topic, "bench/") {
		t.Errorf("workload %+v, want the defaults", r)
	}
}

func TestBench_QoS1(t *testing.T) {
	_, url := nativeServer(t)
	r := benchJSON(t, url, "--count", "400", "--qos", "1", "--pubs", "2", "--inflight", "8", "--size", "64", "--topic", "load/q1")
	checkBench(t, r, 400, 1)
	if r.QoS != 1 || r.Publishers != 2 || r.Topic != "load/q1" || r.Size != 64 {
		t.Errorf("workload %+v", r)
	}
}

func TestBench_QoS2(t *testing.T) {
	_, url := nativeServer(t)
	r := benchJSON(t, url, "--count", "300", "--qos", "2", "--inflight", "20", "--subs", "2")
	checkBench(t, r, 300, 2)
	if r.QoS != 2 {
		t.Errorf("workload %+v", r)
	}
}

func TestBench_E2E(t *testing.T) {
	_, url := nativeServer(t)
	r := benchJSON(t, url, "--count", "200", "--e2e")
	checkBench(t, r, 200, 1)
	if !r.E2E {
		t.Error("report does not say the payloads were sealed")
	}
}

func TestBench_Duration(t *testing.T) {
	_, url := nativeServer(t)
	r := benchJSON(t, url, "--duration", "200ms", "--rate", "500", "--subs", "2")
	if r.Published == 0 || r.Lost != 0 || r.Delivered != 2*r.Published {
		t.Errorf("published %d, delivered %d, lost %d", r.Published, r.Delivered, r.Lost)
	}
}

func TestBench_Table(t *testing.T) {
	_, url := nativeServer(t)
	out, _, err := execute(t, context.Background(), "bench", "--url", url, "--user", "admin", "--password", "password",
		"--count", "100", "--topic", "t/x")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"topic t/x", "1 publisher(s), 1 subscriber(s), 128-byte payloads, QoS 0",
		"published   100 msgs", "delivered   100 msgs", "lost        0 msgs", "latency     p50 "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBench_FlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--size", "7"}, "at least 8 bytes"},
		{[]string{"--subs", "0"}, "at least one subscriber"},
		{[]string{"--pubs", "0"}, "at least one publisher"},
		{[]string{"--qos", "3"}, "want 0, 1 or 2"},
		{[]string{"--inflight", "0"}, "--inflight"},
		{[]string{"--count", "0"}, "--count"},
		{[]string{"--count", "10", "--duration", "1s"}, "duration"},
		{[]string{"--e2e", "--key-file", "k.json"}, "e2e"},
	} {
		// No server: the flags are refused before bench connects.
		args := append([]string{"bench", "--url", "tcp://127.0.0.1:1", "--quiet"}, tc.args...)
		if _, _, err := execute(t, context.Background(), args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one with %q", tc.args, err, tc.want)
		}
	}
}

func TestLatencyHist(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct{ q, want float64 }{{0.5, 500}, {0.99, 990}, {0.999, 999}} {
		if got := h.quantile(tc.q); got < tc.want*0.97 || got > tc.want*1.03 {
			t.Errorf("q%g = %gµs, want %g within 3%%", tc.q, got, tc.want)
		}
	}
	if got := h.quantile(1); got != 1000 {
		t.Errorf("max %g, want 1000", got)
	}
	for v := uint64(0); v < 1<<20; v = v*9/8 + 1 {
		if i := histIndex(v); histUpper(i) < v || (i > 0 && histUpper(i-1) >= v) {
			t.Fatalf("%d in bucket %d, which ends at %d", v, i, histUpper(i))
		}
	}
	var empty latencyHist
	if empty.quantile(0.5) != 0 {
		t.Error("an empty histogram has a median")
	}
}

// TestPacer_CatchesUp paces 5,000 messages a second for a second during
// which every tenth publish takes a millisecond: the pacer releases the
// 5,000, catching up after each slow publish, where one that slept from
// message to message would lose the time each slow publish overran.
func TestPacer_CatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(5000)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n := 0
		for p.wait(ctx) {
			n++
			if n%10 == 0 {
				time.Sleep(time.Millisecond) // a slow publish
			}
		}
		if n < 4999 || n > 5001 {
			t.Fatalf("released %d messages in a second at 5,000/s", n)
		}
	})
}

// TestPacer_BoundedCatchUp checks that a publisher stuck for longer than
// pacerMaxLag catches up with that much, not with everything it missed.
func TestPacer_BoundedCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(1000)
		ctx := context.Background()
		p.wait(ctx)
		time.Sleep(5 * time.Second) // stuck
		start := time.Now()
		burst := 0
		for p.wait(ctx) && time.Since(start) == 0 {
			burst++
		}
		if want := int(pacerMaxLag / time.Millisecond); burst < want-1 || burst > want+1 {
			t.Fatalf("caught up with %d messages at once, want about %d", burst, want)
		}
	})
}

// TestBench_RefusalsApartFromLoss runs bench faster than the server's
// publish rate limit: the refused publishes are reported as refused, and
// every publish that was accepted is delivered.
func TestBench_RefusalsApartFromLoss(t *testing.T) {
	_, url := nativeServerWith(t, func(c *config.Config) { c.Server.MaxPublishRate = 500 })
	for _, qos := range []string{"0", "1"} {
		t.Run("qos "+qos, func(t *testing.T) {
			r := benchJSON(t, url, "--count", "3000", "--subs", "2", "--qos", qos, "--inflight", "50")
			if r.Refused == 0 || r.Lost != 0 || r.Stalled || r.Delivered != 2*(r.Published-r.Refused) {
				t.Fatalf("published %d, refused %d, delivered %d, lost %d, stalled %v",
					r.Published, r.Refused, r.Delivered, r.Lost, r.Stalled)
			}
		})
	}
}
