package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"golang.org/x/term"
)

const (
	// benchWindow is how many messages the publishers may be ahead of the
	// slowest subscriber.
	benchWindow = 1000
	// benchQueue is each subscription's queue, in messages: well above the
	// window, so that the client's queue is not what drops a message.
	benchQueue = 8192
	// benchStall is how long the run waits for a subscriber that receives
	// nothing before it gives up on the messages still missing.
	benchStall = 5 * time.Second
	// benchStamp is the size of the send timestamp at the start of each
	// payload.
	benchStamp = 8
)

// benchOptions are bench's flags.
type benchOptions struct {
	cf       clientFlags
	topic    string
	size     int
	duration time.Duration
	count    int64
	subs     int
	pubs     int
	qos      uint8
	inflight int
	rate     float64
	e2e      bool
	json     bool
	quiet    bool
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency against a running server",
		Long: `Run publishers and subscribers against a server and report what it moved:
published and delivered messages per second, loss, end-to-end latency
(p50, p99, p99.9) and bytes per second. Use it to size your own deployment:
run it from the machines and over the network your clients will use.

Every client is a connection of its own. The publishers send to one topic
(--topic, a fresh bench/<random> by default) that every subscriber
subscribes to, so each subscriber should receive every message. They stay
at most 1,000 messages ahead of the slowest subscriber, so the figures are
what the server sustains, not what it buffers. Each payload starts with its
send time, so latency is measured from before Publish to the subscriber's
handler, in this process.

The run lasts --duration, or until --count messages (in all, shared among
the publishers) have been published and delivered. At --qos 1 and 2 each
publisher keeps up to --inflight publishes awaiting their acknowledgement
(at QoS 2, their PUBCOMP), and the subscribers receive at that QoS.
With --e2e every client shares a keyring generated for the run, so the
figures include sealing and opening each payload; --key-file uses that
key file's keyring instead.

--rate paces each publisher on a schedule, catching up after a late
message. Publishes the server refuses for its publish rate limit
(server.max_publish_rate, 10,000 per second per connection by default) are
reported as refused, apart from loss: nobody was to receive them.

A progress bar is drawn on standard error when it is a terminal, unless
--quiet. The report goes to standard output, as JSON with --json.`,
		Example: `  whispeer bench --url tcp://broker.internal:4250 --user admin --password "$PW"
  whispeer bench --subs 10 --size 1024 --duration 30s
  whispeer bench --pubs 4 --qos 1 --inflight 200 --count 100000
  whispeer bench --rate 5000 --e2e --json > bench.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(cmd); err != nil {
				return err
			}
			r, err := runBench(cmd, &o)
			if err != nil {
				return err
			}
			if o.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.print(cmd.OutOrStdout())
		},
	}
	o.cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.topic, "topic", "", "topic to publish to (default bench/<random>)")
	f.IntVar(&o.size, "size", 128, "payload size in bytes (at least 8, for the send time)")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "how long to publish")
	f.Int64VarP(&o.count, "count", "n", 0, "publish this many messages in all instead of running for --duration")
	f.IntVar(&o.subs, "subs", 1, "subscribers, each a connection of its own")
	f.IntVar(&o.pubs, "pubs", 1, "publishers, each a connection of its own")
	f.Uint8Var(&o.qos, "qos", 0, "0: at most once; 1: at least once, publishes acknowledged; 2: exactly once")
	f.IntVar(&o.inflight, "inflight", 100, "at --qos 1 and 2, the most publishes awaiting acknowledgement per publisher")
	f.Float64Var(&o.rate, "rate", 0, "messages per second per publisher (0: as fast as flow control allows)")
	f.BoolVar(&o.e2e, "e2e", false, "seal payloads end to end with a keyring generated for the run")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "draw no progress bar")
	cmd.MarkFlagsMutuallyExclusive("duration", "count")
	cmd.MarkFlagsMutuallyExclusive("e2e", "key-file")
	return cmd
}

func (o *benchOptions) check(cmd *cobra.Command) error {
	switch {
	case o.size < benchStamp:
		return fmt.Errorf("--size %d: payloads need at least %d bytes for the send time", o.size, benchStamp)
	case o.subs < 1:
		return fmt.Errorf("--subs %d: need at least one subscriber", o.subs)
	case o.pubs < 1:
		return fmt.Errorf("--pubs %d: need at least one publisher", o.pubs)
	case o.qos > 2:
		return fmt.Errorf("--qos %d: want 0, 1 or 2", o.qos)
	case o.inflight < 1:
		return fmt.Errorf("--inflight %d: want at least 1", o.inflight)
	case o.rate < 0:
		return fmt.Errorf("--rate %g: want 0 or more", o.rate)
	case cmd.Flags().Changed("count") && o.count < 1:
		return fmt.Errorf("--count %d: want at least 1", o.count)
	case o.count == 0 && o.duration <= 0:
		return fmt.Errorf("--duration %s: want more than 0", o.duration)
	}
	if o.topic == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		o.topic = "bench/" + hex.EncodeToString(b[:])
	}
	return nil
}

// benchReport is the outcome of a run: the JSON printed by --json.
type benchReport struct {
	URL         string  `json:"url"`
	Topic       string  `json:"topic"`
	QoS         uint8   `json:"qos"`
	Size        int     `json:"size"`
	Publishers  int     `json:"publishers"`
	Subscribers int     `json:"subscribers"`
	E2E         bool    `json:"e2e"`
	Seconds     float64 `json:"seconds"` // from the first publish to the last delivery

	Published     uint64   `json:"published"`
	Delivered     uint64   `json:"delivered"`
	PerSubscriber []uint64 `json:"per_subscriber"`
	Lost          uint64   `json:"lost"`
	Refused       uint64   `json:"refused"`           // publishes the server refused: over server.max_publish_rate
	Stalled       bool     `json:"stalled,omitempty"` // subscribers stopped receiving before the end

	PublishedPerSec    float64 `json:"published_per_sec"`
	DeliveredPerSec    float64 `json:"delivered_per_sec"`
	DeliveredPerSecSub float64 `json:"delivered_per_sec_per_subscriber"`
	BytesPerSec        float64 `json:"bytes_per_sec"` // payload bytes delivered, all subscribers

	Latency benchLatency `json:"latency_us"`
}

// benchLatency holds latency percentiles in microseconds.
type benchLatency struct {
	Samples uint64  `json:"samples"`
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	P999    float64 `json:"p99_9"`
	Max     float64 `json:"max"`
}

func (r *benchReport) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	e2e := ""
	if r.E2E {
		e2e = ", sealed end to end"
	}
	fmt.Fprintf(tw, "server\t%s, topic %s\n", r.URL, r.Topic)
	fmt.Fprintf(tw, "workload\t%d publisher(s), %d subscriber(s), %d-byte payloads, QoS %d%s\n",
		r.Publishers, r.Subscribers, r.Size, r.QoS, e2e)
	fmt.Fprintf(tw, "elapsed\t%s\n", time.Duration(r.Seconds*float64(time.Second)).Round(time.Millisecond))
	fmt.Fprintf(tw, "published\t%d msgs\t%.0f msgs/s\n", r.Published, r.PublishedPerSec)
	fmt.Fprintf(tw, "delivered\t%d msgs\t%.0f msgs/s\t%.0f msgs/s per subscriber\n", r.Delivered, r.DeliveredPerSec, r.DeliveredPerSecSub)
	fmt.Fprintf(tw, "lost\t%d msgs\t%.2f%%\n", r.Lost, lossPercent(r))
	if r.Refused > 0 {
		fmt.Fprintf(tw, "refused\t%d msgs\t%.2f%%\tby the server's publish rate limit (server.max_publish_rate); not counted as lost\n",
			r.Refused, refusedPercent(r))
	}
	fmt.Fprintf(tw, "throughput\t%s/s\n", humanBytes(r.BytesPerSec))
	fmt.Fprintf(tw, "latency\tp50 %s\tp99 %s\tp99.9 %s\tmax %s\n",
		micros(r.Latency.P50), micros(r.Latency.P99), micros(r.Latency.P999), micros(r.Latency.Max))
	if r.Stalled {
		fmt.Fprintf(tw, "note\tsubscribers stopped receiving for %s; the run ended early\n", benchStall)
	}
	return tw.Flush()
}

func lossPercent(r *benchReport) float64 {
	want := (r.Published - r.Refused) * uint64(r.Subscribers)
	if want == 0 {
		return 0
	}
	return 100 * float64(r.Lost) / float64(want)
}

func refusedPercent(r *benchReport) float64 {
	if r.Published == 0 {
		return 0
	}
	return 100 * float64(r.Refused) / float64(r.Published)
}

// isRefusal reports whether err is the server refusing a publish for its
// rate limit: an ERROR or PUBACK with the code limit.
func isRefusal(err error) bool {
	var se *client.ServerError
	return errors.As(err, &se) && se.Code == wire.CodeLimit
}

// refused counts a publish the server refused: no subscriber will see it.
func (b *bench) refused() {
	b.refusals.Add(1)
	for _, s := range b.subs {
		s.seen.Add(1)
	}
	b.gate.progress()
}

func micros(us float64) string {
	return time.Duration(us * float64(time.Microsecond)).Round(time.Microsecond).String()
}

func humanBytes(b float64) string {
	const unit = 1000
	if b < unit {
		return fmt.Sprintf("%.0f B", b)
	}
	div, exp := float64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", b/div, "kMGTP"[exp])
}

// benchSub is one subscriber's counters. seen counts the messages it
// received plus those it lost in its client (dropped, or that did not
// open), so that flow control moves on when a message will never arrive.
type benchSub struct {
	c        *client.Client
	received atomic.Uint64
	seen     atomic.Uint64
	hist     latencyHist // written by the subscription's goroutine only
}

// bench is the state of one run shared by its goroutines.
type bench struct {
	o     *benchOptions
	epoch time.Time // payloads carry their send time since epoch
	start time.Time // the first publish
	subs  []*benchSub
	sent  atomic.Uint64 // publishes claimed, flow control and --count
	pubd  atomic.Uint64 // publishes done
	// refusals counts the publishes the server refused for its rate limit.
	refusals atomic.Uint64
	gate     gate

	errOnce sync.Once
	err     error
	stop    context.CancelFunc
}

func (b *bench) fail(err error) {
	b.errOnce.Do(func() {
		b.err = err
		b.stop()
	})
}

// minSeen returns the count of the subscriber furthest behind.
func (b *bench) minSeen() uint64 {
	m := b.subs[0].seen.Load()
	for _, s := range b.subs[1:] {
		if n := s.seen.Load(); n < m {
			m = n
		}
	}
	return m
}

func runBench(cmd *cobra.Command, o *benchOptions) (*benchReport, error) {
	parent := cmd.Context()
	opts, url, err := benchDialOptions(cmd, o)
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, gate: newGate(), epoch: time.Now()}
	var clients []*client.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	dial := func(extra ...client.Option) (*client.Client, error) {
		c, err := client.Dial(parent, url, append(append([]client.Option{}, opts...), extra...)...)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", url, err)
		}
		clients = append(clients, c)
		return c, nil
	}

	for range o.subs {
		s := &benchSub{}
		c, err := dial(client.WithErrorHandler(func(err error) {
			if errors.Is(err, client.ErrSlowConsumer) || errors.As(err, new(*client.DeliveryError)) {
				s.seen.Add(1)
				b.gate.progress()
			}
		}))
		if err != nil {
			return nil, err
		}
		s.c = c
		b.subs = append(b.subs, s)
	}
	pubs := make([]*client.Client, o.pubs)
	for i := range pubs {
		onError := client.WithErrorHandler(func(err error) {
			if isRefusal(err) { // a QoS 0 publish, refused after the fact
				b.refused()
			}
		})
		if pubs[i], err = dial(client.WithMaxInflight(o.inflight), onError); err != nil {
			return nil, err
		}
	}
	for _, s := range b.subs {
		if _, err := s.c.Subscribe(o.topic, b.handler(s),
			client.WithMaxQoS(client.QoS(o.qos)), client.WithQueueSize(benchQueue)); err != nil {
			return nil, fmt.Errorf("subscribe to %s: %w", o.topic, err)
		}
	}

	// Publishing ends with runCtx: at --duration, at an error, when the
	// subscribers stall, or when interrupted.
	runCtx, cancel := context.WithCancel(parent)
	defer cancel()
	b.stop = cancel
	if o.count == 0 {
		var cancelTimeout context.CancelFunc
		runCtx, cancelTimeout = context.WithTimeout(runCtx, o.duration)
		defer cancelTimeout()
	}
	b.start = time.Now()
	bar := b.progress(cmd)
	stalled := b.publish(parent, runCtx, pubs)
	pubElapsed := time.Since(b.start)
	published := b.pubd.Load()
	if b.err == nil && !stalled {
		// Wait until every subscriber has what was published, or has
		// stopped receiving.
		ok := b.gate.wait(parent, func() bool { return b.minSeen() >= published })
		stalled = !ok && parent.Err() == nil
	}
	elapsed := time.Since(b.start)
	bar.finish()
	if b.err != nil {
		return nil, b.err
	}
	for _, c := range clients {
		c.Close() // the subscriptions' goroutines end: their histograms are ours
	}
	clients = nil
	return b.report(url, published, pubElapsed, elapsed, stalled), nil
}

// benchDialOptions returns the options every client of the run dials
// with, and the server URL.
func benchDialOptions(cmd *cobra.Command, o *benchOptions) ([]client.Option, string, error) {
	f := &o.cf
	opts, url, err := f.options(cmd, "whispeer-bench", cmd.ErrOrStderr())
	if err != nil {
		return nil, "", err
	}
	switch {
	case f.keyFile != "":
		kr, err := envelope.LoadKeyFile(f.keyFile)
		if err != nil {
			return nil, "", err
		}
		o.e2e = true
		opts = append(opts, client.WithKeyring(kr))
	case o.e2e:
		kr := envelope.NewKeyring()
		if _, err := kr.Generate(); err != nil {
			return nil, "", err
		}
		opts = append(opts, client.WithKeyring(kr))
	}
	return opts, url, nil
}

// handler records a delivery's latency from the send time in its payload.
func (b *bench) handler(s *benchSub) client.Handler {
	return func(_ context.Context, m *client.Message) error {
		if len(m.Payload) >= benchStamp {
			sent := time.Duration(binary.BigEndian.Uint64(m.Payload))
			s.hist.record(time.Since(b.epoch) - sent)
		}
		s.received.Add(1)
		s.seen.Add(1)
		b.gate.progress()
		return nil
	}
}

// publish runs the publishers until runCtx ends or --count messages are
// published, and reports whether the subscribers stalled.
func (b *bench) publish(ctx, runCtx context.Context, pubs []*client.Client) (stalled bool) {
	workers := 1
	if b.o.qos >= 1 {
		workers = b.o.inflight // Publish at QoS 1 and 2 returns at the acknowledgement
	}
	var wg sync.WaitGroup
	var stall atomic.Bool
	for _, c := range pubs {
		p := newPacer(b.o.rate)
		for range workers {
			wg.Go(func() {
				if !b.publisher(ctx, runCtx, c, p) {
					stall.Store(true)
					b.stop()
				}
			})
		}
	}
	wg.Wait()
	if b.err == nil && ctx.Err() == nil {
		for _, c := range pubs {
			if err := c.Flush(ctx); err != nil {
				b.fail(fmt.Errorf("flush: %w", err))
			}
		}
	}
	return stall.Load()
}

// publisher is one publishing goroutine; it returns false if the
// subscribers stalled.
func (b *bench) publisher(ctx, runCtx context.Context, c *client.Client, p *pacer) bool {
	payload := make([]byte, b.o.size)
	for i := benchStamp; i < len(payload); i++ {
		payload[i] = byte('a' + i%26)
	}
	opts := []client.PublishOption{client.WithQoS(client.QoS(b.o.qos))}
	count := uint64(b.o.count)
	for runCtx.Err() == nil {
		// Claim a message within the window and --count.
		for {
			n := b.sent.Load()
			if count > 0 && n >= count {
				return true
			}
			if n-b.minSeen() >= benchWindow {
				if !b.gate.wait(runCtx, func() bool { return b.sent.Load()-b.minSeen() < benchWindow }) {
					return runCtx.Err() != nil
				}
				continue
			}
			if b.sent.CompareAndSwap(n, n+1) {
				break
			}
		}
		if !p.wait(runCtx) {
			return true
		}
		binary.BigEndian.PutUint64(payload, uint64(time.Since(b.epoch)))
		err := c.Publish(ctx, b.o.topic, payload, opts...)
		if isRefusal(err) { // a QoS 1 publish
			b.refused()
			err = nil
		}
		if err != nil {
			if ctx.Err() == nil {
				b.fail(fmt.Errorf("publish: %w", err))
			}
			return true
		}
		b.pubd.Add(1)
	}
	return true
}

func (b *bench) report(url string, published uint64, pubElapsed, elapsed time.Duration, stalled bool) *benchReport {
	r := &benchReport{
		URL: url, Topic: b.o.topic, QoS: b.o.qos, Size: b.o.size, Publishers: b.o.pubs,
		Subscribers: b.o.subs, E2E: b.o.e2e, Seconds: elapsed.Seconds(), Published: published,
		Stalled: stalled,
	}
	r.Refused = min(b.refusals.Load(), published)
	want := published - r.Refused
	var h latencyHist
	for _, s := range b.subs {
		n := s.received.Load()
		r.PerSubscriber = append(r.PerSubscriber, n)
		r.Delivered += n
		if n < want {
			r.Lost += want - n
		}
		h.merge(&s.hist)
	}
	if ps := pubElapsed.Seconds(); ps > 0 {
		r.PublishedPerSec = float64(published) / ps
	}
	if s := elapsed.Seconds(); s > 0 {
		r.DeliveredPerSec = float64(r.Delivered) / s
		r.DeliveredPerSecSub = r.DeliveredPerSec / float64(b.o.subs)
		r.BytesPerSec = r.DeliveredPerSec * float64(b.o.size)
	}
	r.Latency = benchLatency{Samples: h.n, P50: h.quantile(0.50), P99: h.quantile(0.99),
		P999: h.quantile(0.999), Max: float64(h.max) / float64(time.Microsecond)}
	return r
}

// benchBar is the progress bar, or nothing.
type benchBar struct {
	bar  *progressbar.ProgressBar
	done chan struct{}
	wg   sync.WaitGroup
}

func (bar *benchBar) finish() {
	if bar.bar == nil {
		return
	}
	close(bar.done)
	bar.wg.Wait()
	bar.bar.Finish()
	bar.bar.Exit()
}

// progress draws a progress bar on standard error while the run goes on,
// unless --quiet or standard error is not a terminal: published messages
// out of --count, or the time out of --duration.
func (b *bench) progress(cmd *cobra.Command) *benchBar {
	bar := &benchBar{}
	f, ok := cmd.ErrOrStderr().(*os.File)
	if b.o.quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return bar
	}
	max := b.o.count
	if max == 0 {
		max = b.o.duration.Milliseconds()
	}
	bar.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("bench"),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	bar.done = make(chan struct{})
	bar.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond) // redraw rate
		defer t.Stop()
		for {
			select {
			case <-bar.done:
				return
			case <-t.C:
			}
			n := b.pubd.Load()
			bar.bar.Describe(fmt.Sprintf("%d published, %d delivered", n, b.delivered()))
			if b.o.count > 0 {
				bar.bar.Set64(int64(n))
			} else {
				bar.bar.Set64(min(time.Since(b.start).Milliseconds(), max))
			}
		}
	})
	return bar
}

func (b *bench) delivered() uint64 {
	var n uint64
	for _, s := range b.subs {
		n += s.received.Load()
	}
	return n
}

// gate lets publishers wait for the subscribers to make progress: wait
// returns once cond holds, and progress wakes the waiters. progress costs
// an atomic load while no one waits.
type gate struct {
	mu      sync.Mutex
	ch      chan struct{}
	waiting atomic.Int32
}

func newGate() gate { return gate{ch: make(chan struct{})} }

func (g *gate) progress() {
	if g.waiting.Load() == 0 {
		return
	}
	g.mu.Lock()
	close(g.ch)
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

// wait returns true once cond holds, false when ctx ends or no progress
// came for benchStall.
func (g *gate) wait(ctx context.Context, cond func() bool) bool {
	stall := time.NewTimer(benchStall)
	defer stall.Stop()
	for {
		g.mu.Lock()
		ch := g.ch
		g.mu.Unlock()
		g.waiting.Add(1)
		if cond() {
			g.waiting.Add(-1)
			return true
		}
		select {
		case <-ch:
			g.waiting.Add(-1)
			stall.Reset(benchStall)
		case <-ctx.Done():
			g.waiting.Add(-1)
			return false
		case <-stall.C:
			g.waiting.Add(-1)
			return false
		}
	}
}

// pacer spaces a publisher's messages at its --rate on a schedule: the
// k-th message is due at start + k/rate. A publisher that fell behind, its
// timer having fired late or a publish having taken long, catches up at
// once with the messages due meanwhile instead of losing their slots, up to
// pacerMaxLag of them: a publisher further behind moves its schedule.
type pacer struct {
	mu    sync.Mutex
	rate  float64
	start time.Time
	k     uint64 // messages released so far
}

// pacerMaxLag bounds how far behind its schedule a publisher catches up.
const pacerMaxLag = time.Second

func newPacer(rate float64) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{rate: rate}
}

// due returns when the next message is due and releases it.
func (p *pacer) due(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		p.start = now
	}
	at := p.start.Add(time.Duration(float64(p.k) * float64(time.Second) / p.rate))
	if lag := now.Sub(at); lag > pacerMaxLag {
		p.start = p.start.Add(lag - pacerMaxLag)
		at = now.Add(-pacerMaxLag)
	}
	p.k++
	return at
}

// wait returns once the publisher's next message is due, false if ctx
// ends first.
func (p *pacer) wait(ctx context.Context) bool {
	if p == nil {
		return true
	}
	d := time.Until(p.due(time.Now()))
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// latencyHist is a log-linear histogram of durations, as HDR histograms
// are: values below 64ns are exact, above them each power of two is cut
// into 32 buckets, so a quantile is within about 3% of the truth, in a
// fixed 15 KiB whatever the run's length.
type latencyHist struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

const histBuckets = 59*32 + 64

func histIndex(v uint64) int {
	if v < 64 {
		return int(v)
	}
	shift := bits.Len64(v) - 6
	return shift*32 + int(v>>shift)
}

// histUpper returns the highest value of bucket i.
func histUpper(i int) uint64 {
	if i < 64 {
		return uint64(i)
	}
	shift := i/32 - 1
	sub := uint64(i%32 + 32)
	return (sub+1)<<shift - 1
}

func (h *latencyHist) record(d time.Duration) {
	d = max(d, 0)
	h.counts[histIndex(uint64(d))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile in microseconds, 0 without samples.
func (h *latencyHist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			v := min(time.Duration(histUpper(i)), h.max)
			return float64(v) / float64(time.Microsecond)
		}
	}
	return float64(h.max) / float64(time.Microsecond)
}
