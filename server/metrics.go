package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/metrics"
)

// instrumentStore returns st with its operations timed into
// whispeer_store_latency_seconds when the metrics plugin runs.
func (s *Server) instrumentStore(st whispeer.Store) whispeer.Store {
	if s.ops.metrics == nil {
		return st
	}
	return s.ops.metrics.InstrumentStore(st)
}

// corruptCounter is a store that counts the damaged records it finds.
type corruptCounter interface{ Corrupt() uint64 }

// collectors returns the server's additions to the metrics plugin's: what
// the server counts and the broker does not see. They read the server's
// counters when /metrics is scraped and cost nothing in between.
func (s *Server) collectors() []prometheus.Collector {
	st := func() Stats { return s.Stats() }
	cs := []prometheus.Collector{
		metrics.DroppedFunc("qos_queue_full", func() uint64 { return st().QoSDropped }),
		metrics.DroppedFunc("qos_expired", func() uint64 { return st().Expired }),
		metrics.DroppedFunc("undeliverable", func() uint64 { return st().Undeliverable }),
		metrics.CounterFunc("slow_consumers_total", "Connections dropped as slow consumers.", func() uint64 {
			x := st()
			return x.WebSocket.SlowConsumers + x.TCP.SlowConsumers
		}),
		metrics.CounterFunc("connections_refused_total", "Connections refused for server.max_connections.", func() uint64 {
			x := st()
			return x.WebSocket.Rejected + x.TCP.Rejected
		}),
		metrics.CounterFunc("qos1_retries_total", "QoS 1 copies resent for want of an ack.", func() uint64 { return st().Retries }),
		metrics.GaugeFunc("qos1_inflight", "QoS 1 copies sent and awaiting acks.", func() float64 {
			n, _ := s.qosWindows()
			return float64(n)
		}),
		metrics.GaugeFunc("qos1_queued", "QoS 1 copies waiting for a free in-flight slot.", func() float64 {
			_, n := s.qosWindows()
			return float64(n)
		}),
		metrics.CounterFunc("login_failures_total", "Logins refused: bad credentials or throttled.", func() uint64 { return st().LoginFailures }),
		metrics.CounterFunc("auth_failures_total", "Tokens refused.", func() uint64 { return st().AuthFailures }),
		metrics.CounterFunc("denied_total", "Publishes and subscribes refused by a user's permissions.", func() uint64 { return st().Denied }),
		metrics.CounterFunc("rate_limited_total", "Publishes refused by server.max_publish_rate.", func() uint64 { return st().RateLimited }),
		metrics.CounterFunc("bad_frames_total", "Client frames answered with an error.", func() uint64 { return st().BadFrames }),
		metrics.CounterFunc("frames_out_total", "Frames written to clients: deliveries and replies.", func() uint64 {
			x := st()
			return x.WebSocket.FramesOut + x.TCP.FramesOut
		}),
		metrics.CounterFunc("writes_total", "Vectored writes to clients; frames_out_total over it is the frames each write carried.", func() uint64 {
			x := st()
			return x.WebSocket.Writes + x.TCP.Writes
		}),
	}
	if s.cfg.Cluster.Enabled() {
		cs = append(cs, s.clusterCollectors()...)
	}
	if s.storeCorrupt != nil {
		cs = append(cs, metrics.CounterFunc("store_corrupt_records_total",
			"Damaged records the store found: skipped when it was opened (each logged with its file and offset), or refused by a read since.",
			s.storeCorrupt))
	}
	return cs
}

// clusterCollectors returns the metrics of a cluster node, read through
// s.node, which is set once the node has joined.
func (s *Server) clusterCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		metrics.GaugeFunc("cluster_redis_up", "1 while the cluster's Redis answered the node's last heartbeat, else 0.", func() float64 {
			if s.node == nil || !s.node.up.Load() {
				return 0
			}
			return 1
		}),
		metrics.GaugeFunc("cluster_subscriptions_up", "1 while the node's Redis subscriptions are in place, 0 while one is being restored.", func() float64 {
			if s.node == nil || !s.node.bp.Up() {
				return 0
			}
			return 1
		}),
		metrics.CounterFunc("cluster_local_only_total", "QoS 0 publishes delivered to this node's subscribers only, without an offset, while Redis was unreachable.", func() uint64 {
			return s.broker.Stats().LocalOnly
		}),
		metrics.CounterFunc("cluster_received_dropped_total", "Payloads from Redis (a message, or a run of up to 64 of one topic) dropped for a full receive queue (their messages then read from the store).", func() uint64 {
			if s.node == nil {
				return 0
			}
			return s.node.bp.Dropped()
		}),
		metrics.CounterFunc("cluster_received_damaged_total", "Payloads from Redis that did not decode, and were dropped (logged as the count doubles).", func() uint64 {
			if s.node == nil {
				return 0
			}
			return s.node.bp.Damaged()
		}),
	}
}
