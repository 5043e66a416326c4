package killtest_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/store/file"
	"github.com/whispeer-io/whispeer/store/sqlite"
)

// EnvCycles asks for the campaign: how many kill cycles each store and
// sync policy gets.
const EnvCycles = "WHISPEER_CRASH_CYCLES"

// topics are published to in turn.
var topics = [...]string{"crash/a", "crash/b", "crash/c"}

// publishers is how many goroutines publish at QoS 1 at once, each waiting
// for its PUBACK: the publishes in flight when the server is killed.
const publishers = 64

// TestCampaign kills `whispeer serve` with SIGKILL at a random point of a
// QoS 1 load, again and again on the same store, and checks after each
// kill that every message the server acknowledged, in this cycle or an
// earlier one, is in the store, intact.
func TestCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server many times")
	}
	v := os.Getenv(EnvCycles)
	if v == "" {
		t.Skipf("set %s to a number of cycles to run the campaign", EnvCycles)
	}
	cycles, err := strconv.Atoi(v)
	if err != nil || cycles < 1 {
		t.Fatalf("%s=%q: want a number of cycles", EnvCycles, v)
	}
	bin := buildWhispeer(t)
	for _, kind := range []string{"sqlite", "file"} {
		for _, sync := range []string{"batch", "always"} {
			t.Run(kind+"/"+sync, func(t *testing.T) {
				c := &campaign{t: t, bin: bin, kind: kind, sync: sync, dir: t.TempDir(),
					acked: map[string]ack{}, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))}
				for i := range cycles {
					c.cycle(i)
				}
				t.Logf("%s, sync %s: %d cycles, %d acknowledged messages, %d checks (each kill checks every earlier one), %d lost",
					kind, sync, cycles, len(c.acked), c.checks, c.lost)
			})
		}
	}
}

// buildWhispeer builds cmd/whispeer into a temporary directory.
func buildWhispeer(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "whispeer")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/whispeer-io/whispeer/cmd/whispeer")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// ack is what the test knows of an acknowledged message.
type ack struct {
	topic   string
	payload string
}

// campaign is the state of one store and policy's cycles.
type campaign struct {
	t          *testing.T
	bin        string
	kind, sync string
	dir        string
	rng        *rand.Rand
	acked      map[string]ack // by message id, over every cycle
	checks     int            // acknowledged messages looked up in the store
	lost       int            // of which not found, or changed
}

// storePath is where the server keeps its store.
func (c *campaign) storePath() string {
	if c.kind == "sqlite" {
		return filepath.Join(c.dir, "whispeer.db")
	}
	return filepath.Join(c.dir, "log")
}

// cycle starts the server, publishes until a random number of publishes
// is acknowledged, kills the server and checks the store.
func (c *campaign) cycle(n int) {
	t := c.t
	srv := c.start()
	killAfter := 50 + c.rng.IntN(3000)
	acks := c.publish(srv, n, killAfter)
	for id, a := range acks {
		c.acked[id] = a
	}
	if len(acks) < killAfter {
		t.Fatalf("cycle %d: %d acknowledged of %d before the kill", n, len(acks), killAfter)
	}
	c.check(n)
}

// server is a running `whispeer serve`.
type server struct {
	cmd *exec.Cmd
	url string // of its native TCP listener
}

// start runs `whispeer serve` on the campaign's store and returns once its
// native TCP listener is up.
func (c *campaign) start() server {
	return serve(c.t, c.bin, c.dir, serverConfig(freePort(c.t), freePort(c.t), c.kind, c.storePath(), c.sync, ""))
}

// serverConfig is the configuration of a campaign's server: its ports, its
// store and extra TOML appended.
func serverConfig(port, tcpPort int, kind, path, sync, extra string) string {
	return fmt.Sprintf(`[server]
host = "127.0.0.1"
port = %d
tcp_port = %d
max_publish_rate = 0

[store]
kind = %q
path = %q
sync = %q
%s`, port, tcpPort, kind, path, sync, extra)
}

// serve runs `whispeer serve` with the configuration toml, written in dir,
// and returns once its native TCP listener is up.
func serve(t *testing.T, bin, dir, toml string) server {
	conf := filepath.Join(dir, "whispeer.toml")
	if err := os.WriteFile(conf, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", conf)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "Native TCP listening on "); ok {
			go func() { // keeps the pipe drained
				for sc.Scan() {
				}
			}()
			return server{cmd: cmd, url: url}
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("the server did not start: %s", stderr.String())
	return server{}
}

// publish publishes at QoS 1 from several goroutines until killAfter
// publishes are acknowledged, then kills the server with SIGKILL, the
// publishes still in flight, and returns every acknowledged one.
func (c *campaign) publish(srv server, cycle, killAfter int) map[string]ack {
	t := c.t
	url := srv.url
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := client.Dial(ctx, url, client.WithCredentials("admin", "password"), client.WithoutReconnect(),
		client.WithErrorHandler(func(error) {}))
	if err != nil {
		t.Fatalf("cycle %d: dial %s: %v", cycle, url, err)
	}
	var (
		mu     sync.Mutex
		acks   = map[string]ack{}
		enough = make(chan struct{})
		wg     sync.WaitGroup
		stop   = make(chan struct{})
	)
	for p := range publishers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("c%d-p%d-%d", cycle, p, i)
				a := ack{topic: topics[i%len(topics)], payload: id + strings.Repeat("x", i%64)}
				err := cl.Publish(ctx, a.topic, []byte(a.payload), client.WithQoS(client.AtLeastOnce), client.WithID(id))
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acks[id] = a
				if len(acks) == killAfter {
					close(enough)
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-ctx.Done():
	}
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	close(stop)
	cl.Close()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return acks
}

// check opens the store the killed server left, which finds no damage
// there, and looks up every message acknowledged so far.
func (c *campaign) check(cycle int) {
	t := c.t
	var s whispeer.Store
	var err error
	if c.kind == "sqlite" {
		s, err = sqlite.Open(c.storePath())
	} else {
		s, err = file.Open(c.storePath())
	}
	if err != nil {
		t.Fatalf("cycle %d: open the store after the kill: %v", cycle, err)
	}
	defer s.Close()
	if c, ok := s.(interface{ Corrupt() uint64 }); ok && c.Corrupt() != 0 {
		t.Errorf("cycle %d: the store found %d damaged records after a kill; a kill leaves at most a torn tail", cycle, c.Corrupt())
	}
	found := make(map[string]ack, len(c.acked))
	for _, tp := range topics {
		err := s.Read(context.Background(), tp, 1, 0, func(m *whispeer.Message) error {
			found[m.ID] = ack{topic: m.Topic, payload: string(m.Payload)}
			return nil
		})
		if err != nil {
			t.Fatalf("cycle %d: read %s: %v", cycle, tp, err)
		}
	}
	lost := 0
	for id, a := range c.acked {
		c.checks++
		if got, ok := found[id]; !ok || got != a {
			lost++
			if lost <= 5 {
				t.Errorf("cycle %d: acknowledged message %s (%s) lost or changed: found %v, %+v", cycle, id, a.topic, ok, got)
			}
		}
	}
	c.lost += lost
	if lost > 0 {
		t.Errorf("cycle %d: %d of %d acknowledged messages lost", cycle, lost, len(c.acked))
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
