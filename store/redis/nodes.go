package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NodeInfo is what a node of a cluster registers about itself.
type NodeInfo struct {
	Name          string    `json:"name"`
	Address       string    `json:"address"`
	Connections   int       `json:"connections"`
	Subscriptions int       `json:"subscriptions"`
	StartedAt     time.Time `json:"started_at"`
	SeenAt        time.Time `json:"seen_at"` // when it last registered
}

// maxNodes bounds the nodes Nodes reads.
const maxNodes = 1024

// nodesKey is the hash of the registered nodes, by name.
func (s *Store) nodesKey() string { return s.opt.prefix + ":nodes" }

// Register records n, its SeenAt set to now, among the cluster's nodes;
// a node registers again periodically, and Nodes forgets one not seen
// for a while.
func (s *Store) Register(ctx context.Context, n NodeInfo) error {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	n.SeenAt = time.Now().UTC()
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	cmd := s.c.B().Hset().Key(s.nodesKey()).FieldValue().FieldValue(n.Name, string(b)).Build()
	if err := s.c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redis register node: %w", err)
	}
	return nil
}

// Deregister removes the node name, as when it stops.
func (s *Store) Deregister(ctx context.Context, name string) error {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := s.c.Do(ctx, s.c.B().Hdel().Key(s.nodesKey()).Field(name).Build()).Error(); err != nil {
		return fmt.Errorf("redis deregister node: %w", err)
	}
	return nil
}

// Nodes returns the nodes seen within maxAge, sorted by name, and removes
// those not seen for longer.
func (s *Store) Nodes(ctx context.Context, maxAge time.Duration) ([]NodeInfo, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	all, err := s.c.Do(ctx, s.c.B().Hgetall().Key(s.nodesKey()).Build()).AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("redis nodes: %w", err)
	}
	var nodes []NodeInfo
	var stale []string
	cutoff := time.Now().Add(-maxAge)
	for name, v := range all {
		var n NodeInfo
		if err := json.Unmarshal([]byte(v), &n); err != nil || n.SeenAt.Before(cutoff) {
			stale = append(stale, name)
			continue
		}
		if len(nodes) < maxNodes {
			nodes = append(nodes, n)
		}
	}
	if len(stale) > 0 {
		s.c.Do(ctx, s.c.B().Hdel().Key(s.nodesKey()).Field(stale...).Build())
	}
	slices.SortFunc(nodes, func(a, b NodeInfo) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := s.c.Do(ctx, s.c.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
