package bench

import (
	"context"
	"sync"

	"github.com/redis/rueidis"
)

// redisBatch is the most PUBLISH commands sent in one pipelined write.
const redisBatch = 128

// redisClient publishes through one goroutine that pipelines whatever has
// queued up (PUBLISH has no fire-and-forget form, and a round trip per
// message would measure the loopback, not Redis), and subscribes with one
// Receive per topic.
type redisClient struct {
	cli  rueidis.Client
	reqs chan redisPub
	once sync.Once
	done chan struct{}
	mu   sync.Mutex // guards err
	err  error
}

// redisPub is one queued publish, or with flushed set a flush marker.
type redisPub struct {
	topic   string
	payload []byte
	flushed chan struct{}
}

// newRedisClient returns a client over cli.
func newRedisClient(cli rueidis.Client) *redisClient {
	return &redisClient{cli: cli, reqs: make(chan redisPub, 4*redisBatch), done: make(chan struct{})}
}

// Subscribe implements Client.
func (c *redisClient) Subscribe(ctx context.Context, topic string, h Handler) error {
	cmd := c.cli.B().Subscribe().Channel(topic).Build()
	go c.cli.Receive(context.Background(), cmd, func(m rueidis.PubSubMessage) {
		h([]byte(m.Message))
	})
	return nil
}

// Publish implements Client.
func (c *redisClient) Publish(ctx context.Context, topic string, p []byte) error {
	c.once.Do(func() { go c.send() })
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case c.reqs <- redisPub{topic: topic, payload: p}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send pipelines queued publishes until reqs closes.
func (c *redisClient) send() {
	defer close(c.done)
	cmds := make(rueidis.Commands, 0, redisBatch)
	var marks []chan struct{}
	for req := range c.reqs {
		cmds, marks = c.add(cmds[:0], marks[:0], req)
	gather:
		for len(cmds) < redisBatch {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break gather
				}
				cmds, marks = c.add(cmds, marks, r)
			default:
				break gather
			}
		}
		c.exec(cmds)
		for _, m := range marks {
			close(m)
		}
	}
}

// add appends req's command, or its flush marker, to the batch.
func (c *redisClient) add(cmds rueidis.Commands, marks []chan struct{}, req redisPub) (rueidis.Commands, []chan struct{}) {
	if req.flushed != nil {
		return cmds, append(marks, req.flushed)
	}
	cmd := c.cli.B().Publish().Channel(req.topic).Message(rueidis.BinaryString(req.payload)).Build()
	return append(cmds, cmd), marks
}

// exec sends one batch and keeps the first error.
func (c *redisClient) exec(cmds rueidis.Commands) {
	if len(cmds) == 0 {
		return
	}
	for _, r := range c.cli.DoMulti(context.Background(), cmds...) {
		if err := r.Error(); err != nil {
			c.mu.Lock()
			if c.err == nil {
				c.err = err
			}
			c.mu.Unlock()
		}
	}
}

// Flush implements Flusher.
func (c *redisClient) Flush(ctx context.Context) error {
	c.once.Do(func() { go c.send() })
	m := make(chan struct{})
	c.reqs <- redisPub{flushed: m}
	select {
	case <-m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close implements Client.
func (c *redisClient) Close() error {
	c.once.Do(func() { close(c.done) })
	close(c.reqs)
	<-c.done
	c.cli.Close()
	return nil
}

var (
	_ Client  = (*redisClient)(nil)
	_ Flusher = (*redisClient)(nil)
)
