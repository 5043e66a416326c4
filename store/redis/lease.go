package redis

import (
	"context"
	"fmt"

	"time"

	"github.com/redis/rueidis"
)

// leaseScript takes or renews the lease KEYS[1] for the holder ARGV[1]
// for ARGV[2] milliseconds: it returns 1 when ARGV[1] holds it now, 0 when
// another does.
var leaseScript = rueidis.NewLuaScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseScript deletes the lease KEYS[1] if ARGV[1] holds it.
var releaseScript = rueidis.NewLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// leaseKey is the key of the lease name.
func (s *Store) leaseKey(name string) string { return s.opt.prefix + ":lease:" + name }

// Lease takes the lease name for holder for ttl, or renews it when holder
// has it already, and reports whether holder has it: one holder at a
// time, until it releases the lease or stops renewing it for ttl.
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer end()
	ms := max(ttl.Milliseconds(), 1)
	n, err := leaseScript.Exec(ctx, s.c, []string{s.leaseKey(name)}, []string{holder, fmt.Sprint(ms)}).AsInt64()
	if err != nil {
		return false, fmt.Errorf("redis lease %s: %w", name, err)
	}
	return n == 1, nil
}

// Release gives up the lease name if holder has it, so that another may
// take it at once.
func (s *Store) Release(ctx context.Context, name, holder string) error {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := releaseScript.Exec(ctx, s.c, []string{s.leaseKey(name)}, []string{holder}).Error(); err != nil {
		return fmt.Errorf("redis release %s: %w", name, err)
	}
	return nil
}

// LeaseHolder returns who holds the lease name, or "" for no one.
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return "", err
	}
	defer end()
	v, err := s.c.Do(ctx, s.c.B().Get().Key(s.leaseKey(name)).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("redis lease %s: %w", name, err)
	}
	return v, nil
}
