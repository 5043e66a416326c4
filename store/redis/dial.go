package redis

import (
	"fmt"
	"strings"

	"github.com/redis/rueidis"

	"github.com/whispeer-io/whispeer"
)

// ParseURL returns the client options of a Redis address: a URL
// "redis://[user:pass@]host:port[/db]" ("rediss://" for TLS); a Redis
// Cluster's seed nodes as "redis://host1:port,host2:port" or with
// "?addr=host2:port&addr=…"; a Sentinel's as
// "redis://sentinel1:26379,sentinel2:26379?master_set=name". Options of
// rueidis.ParseURL (dial_timeout, …) apply.
func ParseURL(url string) (rueidis.ClientOption, error) {
	u, extra := url, []string(nil)
	if scheme, rest, ok := strings.Cut(url, "://"); ok {
		hostEnd := strings.IndexAny(rest, "/?")
		if hostEnd < 0 {
			hostEnd = len(rest)
		}
		hosts := strings.Split(rest[:hostEnd], ",")
		if len(hosts) > 1 {
			u, extra = scheme+"://"+hosts[0]+rest[hostEnd:], hosts[1:]
		}
	}
	opt, err := rueidis.ParseURL(u)
	if err != nil {
		return opt, fmt.Errorf("%w: redis address: %w", whispeer.ErrInvalidOption, err)
	}
	opt.InitAddress = append(opt.InitAddress, extra...)
	return opt, nil
}

// Dial connects to the Redis, Redis Cluster or Sentinel that url names
// (see [ParseURL]), with auto-pipelining and without client-side caching.
func Dial(url string) (rueidis.Client, error) {
	opt, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return c, nil
}

// isNil reports whether err is Redis's nil reply.
func isNil(err error) bool { return rueidis.IsRedisNil(err) }
