package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/store/redis"
)

// How often a node registers itself among the cluster's nodes, and how
// long one that stopped registering is still listed.
const (
	heartbeat = 2 * time.Second
	nodeTTL   = 5 * heartbeat
)

// node is the server's part in a cluster ([cluster] redis): the Redis
// store and backplane of its broker, and its registration among the
// cluster's nodes, renewed every heartbeat by a goroutine of its own.
type node struct {
	st    *redis.Store
	bp    *redis.Backplane
	ctl   *redis.Control // nil until startNode
	name  string
	up    atomic.Bool   // Redis answered the last heartbeat
	relay chan []byte   // join and leave events for the other nodes
	asks  chan struct{} // a slot per client's presence request waiting for the other nodes
	stop  chan struct{}
	wg    sync.WaitGroup // the heartbeat and the relay
	// lease orders the retention lease's renewals before its release:
	// none is taken once the node stops.
	lease sync.Mutex
}

// openNode connects to the cluster's Redis, as c says; its store
// de-duplicates QoS 2 publishes for every node over dedup, the brokers'
// window.
func openNode(c config.Cluster, dedup time.Duration, port int, log *slog.Logger) (*node, error) {
	opts := []redis.Option{redis.WithPrefix(c.Prefix), redis.WithPublish(), redis.WithTimeout(c.Timeout), redis.WithDedup(dedup)}
	if !c.Patterns {
		opts = append(opts, redis.WithoutPatterns())
	}
	if c.WaitReplicas > 0 {
		opts = append(opts, redis.WithWait(c.WaitReplicas, c.WaitTimeout))
	}
	st, err := redis.Open(c.Redis.Reveal(), opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	bp, err := redis.NewBackplane(st, redis.WithBackplaneLogger(log))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n := &node{st: st, bp: bp, name: c.Node, relay: make(chan []byte, relayQueue),
		asks: make(chan struct{}, clusterPresenceSlots), stop: make(chan struct{})}
	if n.name == "" {
		host, _ := os.Hostname()
		n.name = net.JoinHostPort(host, strconv.Itoa(port))
	}
	n.up.Store(true)
	return n, nil
}

// startNode registers the server among the cluster's nodes, now, so that
// the others list it once New returns, and every heartbeat until shutdown,
// and subscribes to the cluster's control channel.
func (s *Server) startNode() {
	n := s.node
	s.register()
	ctl, err := redis.NewControl(n.st, n.name, s, s.log)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Cluster.Timeout)
		err = ctl.Start(ctx) // a subscription failed is made again in the background
		cancel()
		n.ctl = ctl
	}
	if err != nil {
		s.log.Warn("whispeer: the cluster's control channel is not subscribed yet: other nodes' requests wait", "node", n.name, "error", err)
	}
	if n.ctl != nil {
		n.wg.Add(1)
		go s.relayLoop()
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-n.stop:
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				n.st.Deregister(ctx, n.name)
				cancel()
				return
			case <-t.C:
				s.register()
			}
		}
	}()
}

// register records the server's state among the cluster's nodes, and
// logs when Redis stops or starts answering again.
func (s *Server) register() {
	n := s.node
	st := s.Status()
	info := redis.NodeInfo{Name: n.name, Address: s.advertised(), Connections: st.Connections,
		Subscriptions: st.Subscriptions, StartedAt: st.StartedAt}
	ctx, cancel := context.WithTimeout(context.Background(), heartbeat)
	err := n.st.Register(ctx, info)
	cancel()
	switch was := n.up.Swap(err == nil); {
	case err != nil && was:
		s.log.Error("whispeer: the cluster's Redis is unreachable: QoS 1 and 2 publishes fail, QoS 0 ones reach this node's subscribers only, and other nodes' messages stop until it answers", "node", n.name, "error", err)
	case err == nil && !was:
		s.log.Info("whispeer: the cluster's Redis answers again", "node", n.name)
	}
}

// stopNode deregisters the server, stops its heartbeat, its control
// channel and the presence requests waiting for the other nodes, and
// gives up the retention lease.
func (s *Server) stopNode() {
	n := s.node
	if n == nil {
		return
	}
	close(n.stop)
	n.wg.Wait()
	if n.ctl != nil {
		n.ctl.Close()
	}
	for range cap(n.asks) {
		n.asks <- struct{}{}
	}
	n.lease.Lock()
	defer n.lease.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	n.st.Release(ctx, retentionLease, n.name)
	cancel()
}

// retentionLease names the lease of the node that applies retention.
const retentionLease = "retention"

// holdLease reports whether this node holds the retention lease, taking
// it when no node does, for five retention intervals: one node of the
// cluster trims the topics' logs, and another takes over when it stops
// renewing the lease. Once the node stops it holds the lease no more,
// though its broker may still be running: it never takes the lease again
// after stopNode gave it up.
func (n *node) holdLease(interval time.Duration) func(context.Context) bool {
	return func(ctx context.Context) bool {
		n.lease.Lock()
		defer n.lease.Unlock()
		select {
		case <-n.stop:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(ctx, max(interval, time.Second))
		defer cancel()
		ok, err := n.st.Lease(ctx, retentionLease, n.name, max(5*interval, time.Second))
		return err == nil && ok
	}
}

// advertised returns the address the server listens on, its host name
// for an unspecified host.
func (s *Server) advertised() string {
	a := s.Addr()
	if a == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host, _ = os.Hostname()
	}
	return net.JoinHostPort(host, port)
}

// Nodes lists the cluster's nodes, or the server alone when it is in no
// cluster.
func (s *Server) Nodes() ([]admin.Node, error) {
	if s.node == nil {
		st := s.Status()
		return []admin.Node{{Name: "local", Address: s.advertised(), Connections: st.Connections,
			Subscriptions: st.Subscriptions, StartedAt: st.StartedAt, SeenAt: time.Now().UTC(), Self: true}}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Cluster.Timeout)
	defer cancel()
	infos, err := s.node.st.Nodes(ctx, nodeTTL)
	if err != nil {
		return nil, err
	}
	nodes := make([]admin.Node, len(infos))
	for i, n := range infos {
		nodes[i] = admin.Node{Name: n.Name, Address: n.Address, Connections: n.Connections,
			Subscriptions: n.Subscriptions, StartedAt: n.StartedAt, SeenAt: n.SeenAt, Self: n.Name == s.node.name}
	}
	return nodes, nil
}

// clusterReady returns why the server cannot serve as a node of its
// cluster: Redis does not answer, or the backplane lost a subscription.
func (s *Server) clusterReady() error {
	if s.node == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.node.st.Ping(ctx); err != nil {
		return fmt.Errorf("the cluster's Redis is unreachable: %w", err)
	}
	if !s.node.bp.Up() {
		return errors.New("the cluster's Redis subscriptions are being restored")
	}
	return nil
}

// options returns the broker's options of a node: its backplane, and
// retention applied by the holder of the lease, checked every retention
// interval.
func (n *node) options(retentionInterval time.Duration) []whispeer.Option {
	return []whispeer.Option{whispeer.WithBackplane(n.bp), whispeer.WithRetentionLease(n.holdLease(retentionInterval))}
}

var _ admin.NodeSource = (*Server)(nil)
