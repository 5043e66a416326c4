package killtest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/client"
)

// onceTopics are the topics of the exactly-once campaign, each with its
// own durable subscription.
var onceTopics = [...]string{"once/a", "once/b"}

// onceShortCycles is how many kills each store gets without EnvCycles.
const onceShortCycles = 3

// oncePublishers is how many goroutines of the publisher publish at QoS 2
// at once, each waiting for its PUBCOMP.
const oncePublishers = 32

// TestOnceCampaign kills `whispeer serve` with SIGKILL at random points of
// a QoS 2 load and restarts it on the same store and ports, again and
// again, while one Go client publishes at QoS 2 under a stable client id,
// publishing again under the same id every publish that fails, and
// another receives on QoS 2 subscriptions under its own stable id; both
// reconnect after every kill. At the end every completed publish (PUBCOMP)
// must have reached its topic's subscription exactly once, and no message
// be stored twice: the server hands a QoS 2 message to its subscribers only
// once its store has made it durable (see docs/persistence.md, "Exactly
// once"), so a kill cannot lose a message a subscriber already has. The
// test fails on any duplicate, and counts apart those of a message first
// delivered before a kill its publish outlived. It runs onceShortCycles
// kills per store, or EnvCycles when set.
func TestOnceCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server")
	}
	cycles := onceShortCycles
	if v := os.Getenv(EnvCycles); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of cycles", EnvCycles, v)
		}
		cycles = n
	}
	bin := buildWhispeer(t)
	for _, kind := range []string{"sqlite", "file"} {
		t.Run(kind, func(t *testing.T) {
			c := newOnceCampaign(t, bin, kind)
			c.run(cycles)
			r := c.result()
			t.Logf("%s, sync batch: %d kills (%d in publishes, %d in deliveries, %d at a random time), "+
				"%d publishes completed (%d failed and published again), %d deliveries: %d duplicates (%d at another offset, %d of a message first delivered before a kill its publish outlived), %d gaps",
				kind, cycles, c.kills[killPub], c.kills[killSub], c.kills[killTime],
				r.completed, c.retries, r.deliveries, r.duplicates, r.stored, r.unsynced, r.gaps)
			if r.gaps != 0 || r.stored != 0 {
				t.Errorf("%s: %d gaps, %d messages stored twice among %d completed publishes", kind, r.gaps, r.stored, r.completed)
			}
			if r.duplicates != 0 {
				t.Errorf("%s: %d duplicates among %d completed publishes (%d of a message first delivered before a kill its publish outlived)",
					kind, r.duplicates, r.completed, r.unsynced)
			}
		})
	}
}

// The points at which a cycle kills the server.
const (
	killPub  = iota // after a number of publishes completed
	killSub         // after a number of deliveries
	killTime        // after a random time
)

// onceCampaign is the state of one store's exactly-once campaign: one
// publisher and one subscriber that live across every kill.
type onceCampaign struct {
	t         *testing.T
	bin, kind string
	dir, toml string
	rng       *rand.Rand
	kills     [3]int

	mu        sync.Mutex
	cond      *sync.Cond                     // signalled on every completion and delivery
	completed map[string]string              // message id → topic, publishes that completed
	doneIn    map[string]int                 // message id → the server run its publish completed in
	firstIn   map[string]int                 // topic and message id → the server run of its first delivery
	serverRun int                            // the server run, one more after every kill
	delivered map[string]map[string][]uint64 // topic → message id → offset of each delivery
	events    [2]int                         // completions, deliveries
	retries   int
	errs      []error
}

// newOnceCampaign prepares a campaign on a new store of kind whose server
// keeps its ports across restarts, so that the clients reconnect to it.
func newOnceCampaign(t *testing.T, bin, kind string) *onceCampaign {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	if kind == "sqlite" {
		path = filepath.Join(dir, "whispeer.db")
	}
	c := &onceCampaign{t: t, bin: bin, kind: kind, dir: dir,
		toml:      serverConfig(freePort(t), freePort(t), kind, path, "batch", ""),
		rng:       rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)),
		completed: map[string]string{}, doneIn: map[string]int{}, firstIn: map[string]int{}, delivered: map[string]map[string][]uint64{}}
	c.cond = sync.NewCond(&c.mu)
	for _, tp := range onceTopics {
		c.delivered[tp] = map[string][]uint64{}
	}
	return c
}

// run starts the server, the subscriber and the publisher, kills and
// restarts the server cycles times, then lets the publishes in flight
// complete on a last server and waits for their deliveries.
func (c *onceCampaign) run(cycles int) {
	t := c.t
	srv := serve(t, c.bin, c.dir, c.toml)
	opts := []client.Option{client.WithCredentials("admin", "password"),
		client.WithReconnect(5*time.Millisecond, 100*time.Millisecond),
		client.WithErrorHandler(func(error) {})}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	sub, err := client.Dial(ctx, srv.url, append(opts, client.WithClientID("once-subscriber"))...)
	if err != nil {
		t.Fatalf("dial the subscriber: %v", err)
	}
	defer sub.Close()
	for _, tp := range onceTopics {
		if _, err := sub.Subscribe(tp, c.receive, client.WithMaxQoS(client.ExactlyOnce)); err != nil {
			t.Fatalf("subscribe %s: %v", tp, err)
		}
	}
	pub, err := client.Dial(ctx, srv.url, append(opts, client.WithClientID("once-publisher"))...)
	if err != nil {
		t.Fatalf("dial the publisher: %v", err)
	}
	defer pub.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range oncePublishers {
		wg.Go(func() { c.publish(ctx, pub, p, stop) })
	}
	for n := range cycles {
		srv = c.killAndRestart(n, srv)
	}
	close(stop)
	wg.Wait()
	c.settle(ctx, pub)
}

// publish publishes at QoS 2 until stop, each message under its own id
// and, when Publish fails, again under the same id until it completes.
func (c *onceCampaign) publish(ctx context.Context, pub *client.Client, p int, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		id := fmt.Sprintf("p%d-%d", p, i)
		tp := onceTopics[i%len(onceTopics)]
		for {
			err := pub.Publish(ctx, tp, []byte(id), client.WithQoS(client.ExactlyOnce), client.WithID(id))
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			c.mu.Lock()
			c.retries++
			if len(c.errs) < 5 {
				c.errs = append(c.errs, fmt.Errorf("publish %s: %w", id, err))
			}
			c.mu.Unlock()
		}
		c.mu.Lock()
		c.completed[id] = tp
		c.doneIn[id] = c.serverRun
		c.events[killPub]++
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// receive is the subscriber's handler: it counts each delivery.
func (c *onceCampaign) receive(_ context.Context, m *client.Message) error {
	c.mu.Lock()
	if len(c.delivered[m.Topic][m.ID]) == 0 {
		c.firstIn[m.Topic+" "+m.ID] = c.serverRun
	}
	c.delivered[m.Topic][m.ID] = append(c.delivered[m.Topic][m.ID], m.Seq)
	c.events[killSub]++
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

// killAndRestart waits for a random point of one of the flows, kills the
// server with SIGKILL and starts it again on the same store and ports.
func (c *onceCampaign) killAndRestart(n int, srv server) server {
	point := c.rng.IntN(3)
	c.kills[point]++
	if point == killTime {
		time.Sleep(time.Duration(c.rng.IntN(300)) * time.Millisecond) // the random point itself
	} else {
		c.waitEvents(point, 1+c.rng.IntN(500))
	}
	if err := srv.cmd.Process.Kill(); err != nil {
		c.t.Fatalf("cycle %d: kill: %v", n, err)
	}
	srv.cmd.Wait()
	c.mu.Lock()
	c.serverRun++
	c.mu.Unlock()
	return serve(c.t, c.bin, c.dir, c.toml)
}

// waitEvents waits until k more events of kind happened, or a minute.
func (c *onceCampaign) waitEvents(kind, k int) {
	deadline := time.AfterFunc(time.Minute, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer deadline.Stop()
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for want := c.events[kind] + k; c.events[kind] < want && time.Since(start) < time.Minute; {
		c.cond.Wait()
	}
}

// settle publishes one last message to each topic on the last server and
// waits until the subscriber got it: every delivery of an earlier offset,
// and so every duplicate, came before it.
func (c *onceCampaign) settle(ctx context.Context, pub *client.Client) {
	t := c.t
	for _, tp := range onceTopics {
		id := "last-" + tp
		if err := pub.Publish(ctx, tp, []byte(id), client.WithQoS(client.ExactlyOnce), client.WithID(id)); err != nil {
			t.Fatalf("publish the last message: %v", err)
		}
	}
	late := false
	timer := time.AfterFunc(2*time.Minute, func() {
		c.mu.Lock()
		late = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for !late && !c.arrivedLocked("last-") {
		c.cond.Wait()
	}
	for _, err := range c.errs {
		t.Logf("%s: a publish failed and was retried: %v", c.kind, err)
	}
	if late {
		t.Errorf("%s: the last messages did not arrive in 2 minutes", c.kind)
	}
}

// arrivedLocked reports whether the message prefix+topic reached each
// topic's subscription. c.mu is held.
func (c *onceCampaign) arrivedLocked(prefix string) bool {
	for _, tp := range onceTopics {
		if len(c.delivered[tp][prefix+tp]) == 0 {
			return false
		}
	}
	return true
}

// onceResult counts what the subscriber received of what was published.
type onceResult struct {
	completed  int // publishes that completed with a PUBCOMP
	deliveries int // handler calls, the last messages excepted
	duplicates int // deliveries of a message beyond its first
	stored     int // of which at another offset: the message stored twice
	unsynced   int // duplicates whose first delivery came before a kill that their publish outlived
	gaps       int // completed publishes never delivered
	extra      int // messages delivered whose publish had not completed
}

// result compares the completed publishes with the deliveries.
func (c *onceCampaign) result() onceResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := onceResult{completed: len(c.completed)}
	for tp, ids := range c.delivered {
		for id, offsets := range ids {
			if id == "last-"+tp {
				continue
			}
			r.count(c, tp, id, offsets)
		}
	}
	for id, tp := range c.completed {
		if len(c.delivered[tp][id]) == 0 {
			r.gaps++
			if r.gaps <= 5 {
				c.t.Errorf("%s: %s completed on %s, never delivered", c.kind, id, tp)
			}
		}
	}
	return r
}

// count adds the deliveries of message id on topic, at offsets, to r.
func (r *onceResult) count(c *onceCampaign, tp, id string, offsets []uint64) {
	r.deliveries += len(offsets)
	r.duplicates += len(offsets) - 1
	if len(offsets) > 1 {
		if c.doneIn[id] > c.firstIn[tp+" "+id] {
			r.unsynced += len(offsets) - 1
		}
		if r.duplicates <= 5 {
			c.t.Logf("%s: %s delivered %d times on %s, at offsets %v, first in server run %d, its publish completed in run %d",
				c.kind, id, len(offsets), tp, offsets, c.firstIn[tp+" "+id], c.doneIn[id])
		}
	}
	for _, o := range offsets[1:] {
		if o != offsets[0] {
			r.stored++
		}
	}
	if c.completed[id] != tp {
		r.extra++
		if r.extra <= 5 {
			c.t.Errorf("%s: %s delivered on %s, its publish not completed there", c.kind, id, tp)
		}
	}
}
