package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HTTPAPI is how a server takes publishes over its HTTP API: the
// endpoints of one publish and of a batch, the header that authenticates
// a request, and the bodies of both.
type HTTPAPI struct {
	PublishURL, BatchURL string
	Header, Credential   string
	// Single returns the body that publishes payload, a JSON value, to
	// topic; Batch the body that publishes each of payloads to topic.
	Single func(topic string, payload []byte) []byte
	Batch  func(topic string, payloads [][]byte) []byte
	// Failed reports an answer of status 200 that refused a message.
	Failed func(body []byte) bool
}

// HTTPPublisher is implemented by targets whose server takes publishes
// over an HTTP API, as an application's backend sends them.
type HTTPPublisher interface {
	// HTTPAPI returns the running server's API.
	HTTPAPI() HTTPAPI
}

// HTTPPublish is publishing over a server's HTTP API: Posters goroutines
// each post one request after the other on keep-alive connections, each
// request one message or, with Batch > 1, a batch of that many, to a topic
// that one client subscribes to. The figure is the messages the API
// accepted per second; the subscriber's deliveries are counted too.
type HTTPPublish struct {
	Batch   int // messages per request; 1 posts them one by one
	Posters int // concurrent requests
}

// Name implements Workload.
func (w HTTPPublish) Name() string {
	if w.Batch > 1 {
		return "http-batch"
	}
	return "http-publish"
}

// Title implements Workload.
func (w HTTPPublish) Title(cfg Config) string {
	if w.Batch > 1 {
		return fmt.Sprintf("HTTP API batches of %d, %d posters, %d B", w.Batch, w.posters(), cfg.Size)
	}
	return fmt.Sprintf("HTTP API single publishes, %d posters, %d B", w.posters(), cfg.Size)
}

// Metrics implements Workload.
func (HTTPPublish) Metrics() []Metric {
	return []Metric{
		{Key: "msgs_per_sec", Label: "published/s", HigherBetter: true},
		{Key: "requests_per_sec", Label: "requests/s", HigherBetter: true},
		{Key: "delivered_per_sec", Label: "delivered/s", HigherBetter: true},
	}
}

func (w HTTPPublish) posters() int { return max(w.Posters, 1) }

// httpTopic is the topic the workload publishes to.
const httpTopic = "httpapi"

// Run implements Workload.
func (w HTTPPublish) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	if err := skip(t, w.Name()); err != nil {
		return Outcome{}, err
	}
	hp, ok := t.(HTTPPublisher)
	if !ok {
		return Outcome{}, fmt.Errorf("%w: no HTTP publish API", ErrNotApplicable)
	}
	_, version, err := t.Start(ctx)
	defer t.Stop()
	if err != nil {
		return Outcome{}, err
	}
	sub, err := t.Connect(ctx)
	if err != nil {
		return Outcome{Version: version}, err
	}
	defer sub.Close()
	var delivered atomic.Int64
	if err := sub.Subscribe(ctx, httpTopic, func([]byte) { delivered.Add(1) }); err != nil {
		return Outcome{Version: version}, err
	}
	api := hp.HTTPAPI()
	if err := w.probe(ctx, api, &delivered); err != nil {
		return Outcome{Version: version}, err
	}
	m, err := w.measure(ctx, api, cfg, &delivered)
	return Outcome{Version: version, Metrics: m}, err
}

// body returns the body of every request, a JSON string payload of size
// bytes in each message.
func (w HTTPPublish) body(api HTTPAPI, size int) (url string, body []byte) {
	p := []byte(strconv.Quote(string(payload(max(size-2, 1)))))
	if w.Batch <= 1 {
		return api.PublishURL, api.Single(httpTopic, p)
	}
	ps := make([][]byte, w.Batch)
	for i := range ps {
		ps[i] = p
	}
	return api.BatchURL, api.Batch(httpTopic, ps)
}

// probe publishes until the subscription delivers, so that the window
// measures an active subscription.
func (w HTTPPublish) probe(ctx context.Context, api HTTPAPI, delivered *atomic.Int64) error {
	c := &http.Client{Timeout: controlTimeout}
	deadline := time.Now().Add(10 * time.Second)
	for delivered.Load() == 0 {
		if time.Now().After(deadline) {
			return errors.New("the subscriber received nothing published over the HTTP API")
		}
		if err := post(ctx, c, api, api.PublishURL, api.Single(httpTopic, []byte(`"probe"`))); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// measure runs the posters through the warm-up and the window.
func (w HTTPPublish) measure(ctx context.Context, api HTTPAPI, cfg Config, delivered *atomic.Int64) (Metrics, error) {
	url, body := w.body(api, cfg.Size)
	n := w.posters()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true},
		Timeout: 30 * time.Second}
	defer c.CloseIdleConnections()
	var (
		requests atomic.Int64
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
		start    = time.Now()
		from, to = start.Add(cfg.Warmup), start.Add(cfg.Warmup + cfg.Duration)
	)
	var d0 int64
	opened := make(chan struct{})
	go func() {
		time.Sleep(time.Until(from))
		d0 = delivered.Load()
		close(opened)
	}()
	for range n {
		wg.Go(func() {
			for now := time.Now(); now.Before(to); now = time.Now() {
				if err := post(ctx, c, api, url, body); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if now.After(from) {
					requests.Add(1)
				}
			}
		})
	}
	wg.Wait()
	<-opened
	d1 := delivered.Load()
	sec := cfg.Duration.Seconds()
	reqs := float64(requests.Load())
	return Metrics{
		"msgs_per_sec":      reqs * float64(max(w.Batch, 1)) / sec,
		"requests_per_sec":  reqs / sec,
		"delivered_per_sec": float64(d1-d0) / sec,
	}, firstErr
}

// post sends one request and checks that every message was accepted.
func post(ctx context.Context, c *http.Client, api HTTPAPI, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(api.Header, api.Credential)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || (api.Failed != nil && api.Failed(out)) {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, lastLines(string(out), 3))
	}
	return nil
}

var _ Workload = HTTPPublish{}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
