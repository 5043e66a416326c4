package server

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/store/file"
	memstore "github.com/whispeer-io/whispeer/store/memory"
	"github.com/whispeer-io/whispeer/store/sqlite"
)

// openStore opens the store that c names, creating the directory it lives
// in (mode 0700), or returns nil for "none". The store reports damage it
// finds to log.
func openStore(c config.Store, log *slog.Logger) (whispeer.Store, error) {
	sync, err := whispeer.ParseSyncPolicy(c.Sync)
	if err != nil {
		return nil, fmt.Errorf("store.sync: %w", err)
	}
	switch c.Kind {
	case config.StoreNone:
		return nil, nil
	case config.StoreMemory:
		return memstore.New(), nil
	case config.StoreSQLite:
		if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		st, err := sqlite.Open(c.Path, sqlite.WithFsync(sync), sqlite.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return st, nil
	case config.StoreFile:
		if err := os.MkdirAll(filepath.Dir(filepath.Clean(c.Path)), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		st, err := file.Open(c.Path, file.WithFsync(sync), file.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("store.kind: unknown kind %q", c.Kind)
}

// storeOptions returns the broker's options for the store st opened for c:
// the store, its retention rules, and how many missed messages a durable
// subscriber gets back.
func storeOptions(st whispeer.Store, c config.Store) []whispeer.Option {
	opts := []whispeer.Option{
		whispeer.WithStore(st),
		whispeer.WithRetentionInterval(c.RetentionInterval),
		whispeer.WithDurableBacklog(c.DurableBacklog),
	}
	for _, r := range c.Retention {
		opts = append(opts, whispeer.WithRetention(r.Pattern, whispeer.Retention{
			MaxMessages: r.MaxMessages, MaxBytes: r.MaxBytes, MaxAge: r.MaxAge,
		}))
	}
	return opts
}

// maxReplay is the most messages per topic a client may ask to be replayed
// ("last N"): the store's durable backlog when the server keeps a store,
// replay.size otherwise.
func (s *Server) maxReplay() int {
	if s.store {
		return max(s.cfg.Replay.Size, s.cfg.Store.DurableBacklog)
	}
	return s.cfg.Replay.Size
}

// storePath returns the path of c's store, or "" for one in memory.
func storePath(c config.Store) string {
	if c.Kind == config.StoreMemory {
		return ""
	}
	return c.Path
}
