package metrics

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
)

// Name is the plugin's name, as the server configuration selects it.
const Name = "metrics"

// Namespace prefixes every metric name.
const Namespace = "whispeer"

// DefaultLatencySample is how many messages per topic share one latency
// sample by default.
const DefaultLatencySample = 8

// DefaultLatencyBuckets are the delivery latency histogram's buckets, in
// seconds: 10µs to about 2.6s.
var DefaultLatencyBuckets = prometheus.ExponentialBuckets(10e-6, 4, 10)

// Options configures a Plugin. The zero Options is ready to use.
type Options struct {
	// LatencySample makes one message in LatencySample per topic, by
	// sequence number, have its deliveries timed; 1 times every delivery.
	// 0 means DefaultLatencySample.
	LatencySample int
	// LatencyBuckets are the delivery latency histogram's upper bounds, in
	// seconds; nil means DefaultLatencyBuckets.
	LatencyBuckets []float64
}

// Plugin counts a broker's traffic for Prometheus. Make one with New and
// register it with whispeer.WithPlugin.
type Plugin struct {
	reg    *prometheus.Registry
	broker atomic.Pointer[whispeer.Broker]
	sample uint64

	connsOpen  atomic.Int64
	connsTotal atomic.Uint64
	auths      atomic.Uint64
	msgsIn     atomic.Uint64
	bytesIn    atomic.Uint64
	msgsOut    atomic.Uint64
	bytesOut   atomic.Uint64
	acks       atomic.Uint64
	drops      [256]atomic.Uint64 // by whispeer.DropReason

	rejected    *prometheus.CounterVec
	latency     prometheus.Histogram
	store       *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec

	storeMu  sync.RWMutex
	storeObs map[string]prometheus.Observer
}

// New returns a metrics plugin with a registry of its own.
func New(opts Options) *Plugin {
	p := &Plugin{
		reg:      prometheus.NewRegistry(),
		sample:   uint64(opts.LatencySample),
		storeObs: make(map[string]prometheus.Observer),
	}
	if p.sample == 0 {
		p.sample = DefaultLatencySample
	}
	buckets := opts.LatencyBuckets
	if buckets == nil {
		buckets = DefaultLatencyBuckets
	}
	p.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rejected_total",
		Help: "Operations rejected by a plugin, by operation and plugin."}, []string{"op", "plugin"})
	p.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "delivery_latency_seconds",
		Help: "Time from the broker accepting a message to handing it to a subscriber, sampled.", Buckets: buckets})
	p.store = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "store_latency_seconds",
		Help: "Duration of store operations, by operation.", Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10)}, []string{"op"})
	p.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "store_errors_total",
		Help: "Store operations that failed, by operation."}, []string{"op"})
	p.reg.MustRegister(p.rejected, p.latency, p.store, p.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.reg.MustRegister(p.counters()...)
	return p
}

// counters returns the collectors that read the plugin's atomics and the
// broker's statistics.
func (p *Plugin) counters() []prometheus.Collector {
	cs := []prometheus.Collector{
		gauge("connections", "Client connections open now.", func() float64 { return float64(p.connsOpen.Load()) }),
		counter("connections_total", "Client connections accepted.", &p.connsTotal),
		counter("authentications_total", "Successful authentications.", &p.auths),
		gauge("subscriptions", "Live subscriptions.", func() float64 { return float64(p.stats().Subscriptions) }),
		gauge("topics", "Topics published to.", func() float64 { return float64(p.stats().Topics) }),
		counter("messages_in_total", "Messages published.", &p.msgsIn),
		counter("bytes_in_total", "Payload bytes of the messages published, as routed.", &p.bytesIn),
		counter("messages_out_total", "Messages delivered to subscribers.", &p.msgsOut),
		counter("bytes_out_total", "Payload bytes of the messages delivered, as routed.", &p.bytesOut),
		counter("acks_total", "Acknowledgments of QoS 1 and 2 deliveries.", &p.acks),
	}
	for r := range len(p.drops) {
		reason := whispeer.DropReason(r).String()
		if strings.HasPrefix(reason, "drop(") { // past the known reasons
			break
		}
		cs = append(cs, DroppedFunc(reason, p.drops[r].Load))
	}
	return cs
}

// stats returns the broker's statistics, or zeros before Provision.
func (p *Plugin) stats() whispeer.Stats {
	if b := p.broker.Load(); b != nil {
		return b.Stats()
	}
	return whispeer.Stats{}
}

// Name returns "metrics".
func (p *Plugin) Name() string { return Name }

// Registry returns the plugin's registry, for the collectors of a server
// that runs the broker: see DroppedFunc.
func (p *Plugin) Registry() *prometheus.Registry { return p.reg }

// Handler returns the HTTP handler that serves the registry in the
// Prometheus exposition formats.
func (p *Plugin) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg})
}

// StoreLatency returns the observer of the duration, in seconds, of the
// store operation op, such as "append" or "read". InstrumentStore uses
// it; a store can also keep it and call Observe for each operation.
func (p *Plugin) StoreLatency(op string) prometheus.Observer {
	p.storeMu.RLock()
	o, ok := p.storeObs[op]
	p.storeMu.RUnlock()
	if ok {
		return o
	}
	p.storeMu.Lock()
	defer p.storeMu.Unlock()
	if o, ok = p.storeObs[op]; !ok {
		o = p.store.WithLabelValues(op)
		p.storeObs[op] = o
	}
	return o
}

// Provision keeps the broker, whose statistics the gauges read.
func (p *Plugin) Provision(b *whispeer.Broker) error {
	p.broker.Store(b)
	return nil
}

// OnConnect counts a connection.
func (p *Plugin) OnConnect(hook.Conn) error {
	p.connsOpen.Add(1)
	p.connsTotal.Add(1)
	return nil
}

// OnAuthenticate counts an authentication.
func (p *Plugin) OnAuthenticate(hook.Conn) error {
	p.auths.Add(1)
	return nil
}

// OnDisconnect counts a connection that ended.
func (p *Plugin) OnDisconnect(hook.Conn, error) { p.connsOpen.Add(-1) }

// OnPublish counts a published message and its bytes.
func (p *Plugin) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	p.msgsIn.Add(1)
	p.bytesIn.Add(uint64(len(m.Payload)))
	return m, nil
}

// OnDeliver counts a delivery and, for sampled messages, its latency.
func (p *Plugin) OnDeliver(_ *whispeer.Subscription, m *whispeer.Message) {
	p.msgsOut.Add(1)
	p.bytesOut.Add(uint64(len(m.Payload)))
	if m.Seq%p.sample == 0 && !m.Time.IsZero() {
		p.latency.Observe(time.Since(m.Time).Seconds())
	}
}

// OnAck counts an ack.
func (p *Plugin) OnAck(hook.Conn, string) { p.acks.Add(1) }

// OnDrop counts a dropped message by reason.
func (p *Plugin) OnDrop(d whispeer.Drop) { p.drops[d.Reason].Add(1) }

// OnReject counts a rejected operation.
func (p *Plugin) OnReject(r whispeer.Rejection) { p.rejected.WithLabelValues(r.Op, r.Plugin).Inc() }

// DroppedFunc returns a collector of whispeer_dropped_messages_total for
// one reason, read from f: how a server adds the drops it counts itself
// (a full QoS queue, an expired retry) to the broker's.
func DroppedFunc(reason string, f func() uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: Namespace, Name: "dropped_messages_total",
		Help:        "Messages dropped, by reason.",
		ConstLabels: prometheus.Labels{"reason": reason},
	}, func() float64 { return float64(f()) })
}

// CounterFunc returns a counter named whispeer_<name> read from f.
func CounterFunc(name, help string, f func() uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help},
		func() float64 { return float64(f()) })
}

// GaugeFunc returns a gauge named whispeer_<name> read from f.
func GaugeFunc(name, help string, f func() float64) prometheus.Collector { return gauge(name, help, f) }

func counter(name, help string, v *atomic.Uint64) prometheus.Collector {
	return CounterFunc(name, help, v.Load)
}

func gauge(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, f)
}

var (
	_ whispeer.Plugin      = (*Plugin)(nil)
	_ whispeer.Provisioner = (*Plugin)(nil)
	_ hook.Connect         = (*Plugin)(nil)
	_ hook.Auth            = (*Plugin)(nil)
	_ hook.Disconnect      = (*Plugin)(nil)
	_ whispeer.PublishHook = (*Plugin)(nil)
	_ whispeer.DeliverHook = (*Plugin)(nil)
	_ hook.Ack             = (*Plugin)(nil)
	_ whispeer.DropHook    = (*Plugin)(nil)
	_ whispeer.RejectHook  = (*Plugin)(nil)
)
