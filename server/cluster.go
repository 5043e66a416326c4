package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
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
	st   *redis.Store
	bp   *redis.Backplane
	name string
	up   atomic.Bool // Redis answered the last heartbeat
	stop chan struct{}
	done chan struct{}
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
	n := &node{st: st, bp: bp, name: c.Node, stop: make(chan struct{}), done: make(chan struct{})}
	if n.name == "" {
		host, _ := os.Hostname()
		n.name = net.JoinHostPort(host, strconv.Itoa(port))
	}
	n.up.Store(true)
	return n, nil
}

// startNode registers the server among the cluster's nodes, now, so that
// the others list it once New returns, and every heartbeat until shutdown.
func (s *Server) startNode() {
	n := s.node
	s.register()
	go func() {
		defer close(n.done)
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

// stopNode deregisters the server and stops its heartbeat.
func (s *Server) stopNode() {
	if s.node == nil {
		return
	}
	close(s.node.stop)
	<-s.node.done
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

// clusterOptions returns the broker's options of a node.
func (n *node) options() []whispeer.Option {
	return []whispeer.Option{whispeer.WithBackplane(n.bp)}
}

var _ admin.NodeSource = (*Server)(nil)
