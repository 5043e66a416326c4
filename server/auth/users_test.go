package auth

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/whispeer-io/whispeer/server/config"
)

// testUsers returns alice (hashed password), bob (plain text) and carol
// (hashed, no permissions).
func testUsers(t *testing.T) *Users {
	t.Helper()
	us, err := NewUsers([]config.User{
		{Username: "alice", Password: config.Secret(cheapHash(t, "alice-pw")),
			Publish: []string{"chat/alice", "sensors/+/alice"}, Subscribe: []string{"chat/#", "news/+"}},
		{Username: "bob", Password: "bob-pw", Publish: []string{"#"}, Subscribe: []string{"#"}},
		{Username: "carol", Password: config.Secret(cheapHash(t, "carol-pw"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return us
}

func TestNewUsers_Errors(t *testing.T) {
	tests := []struct {
		name    string
		entries []config.User
		want    string
	}{
		{"empty name", []config.User{{Password: "x"}}, "empty username"},
		{"long name", []config.User{{Username: strings.Repeat("n", MaxUsernameBytes+1), Password: "x"}}, "username longer than 256 bytes"},
		{"empty password", []config.User{{Username: "a"}}, `auth.users[0] ("a"): empty password`},
		{"duplicate", []config.User{{Username: "a", Password: "x"}, {Username: "a", Password: "y"}}, `auth.users[1] ("a"): duplicate`},
		{"bad hash", []config.User{{Username: "a", Password: "$argon2id$v=19$m=1,t=1,p=1$x$y"}}, "invalid password hash"},
		{"bad publish pattern", []config.User{{Username: "a", Password: "x", Publish: []string{"a/#/b"}}}, `publish pattern "a/#/b"`},
		{"bad subscribe pattern", []config.User{{Username: "a", Password: "x", Subscribe: []string{"a//b"}}}, `subscribe pattern "a//b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewUsers(tt.entries)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewUsers() = %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), `"x"`) {
				t.Errorf("error %q repeats a password", err)
			}
		})
	}
}

func TestUsers_Authenticate(t *testing.T) {
	us := testUsers(t)
	tests := []struct {
		name, username, password string
		ok                       bool
	}{
		{"hashed, right password", "alice", "alice-pw", true},
		{"hashed, wrong password", "alice", "bob-pw", false},
		{"hashed, empty password", "alice", "", false},
		{"plain, right password", "bob", "bob-pw", true},
		{"plain, wrong password", "bob", "bob-p", false},
		{"plain, longer password", "bob", "bob-pw!", false},
		{"unknown user", "mallory", "alice-pw", false},
		{"empty user", "", "", false},
		{"name is case-sensitive", "Alice", "alice-pw", false},
		{"another user's password", "carol", "alice-pw", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := us.Authenticate(tt.username, tt.password)
			switch {
			case tt.ok && (err != nil || u == nil || u.Name() != tt.username):
				t.Errorf("Authenticate() = %v, %v; want user %q", u, err, tt.username)
			case !tt.ok && (u != nil || !errors.Is(err, ErrBadCredentials)):
				t.Errorf("Authenticate() = %v, %v; want ErrBadCredentials", u, err)
			}
		})
	}
}

// TestUsers_AuthenticateEqualWork checks that every kind of login computes
// exactly one argon2id hash with the same parameters.
func TestUsers_AuthenticateEqualWork(t *testing.T) {
	us := testUsers(t)
	type call struct{ memory, time uint32 }
	var calls []call
	orig := idKey
	t.Cleanup(func() { idKey = orig })
	idKey = func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		calls = append(calls, call{memory, time})
		return orig(pw, salt, time, memory, threads, keyLen)
	}
	tests := []struct{ name, username, password string }{
		{"hashed user", "alice", "alice-pw"},
		{"hashed user, wrong password", "alice", "nope"},
		{"plain-text user", "bob", "bob-pw"},
		{"plain-text user, wrong password", "bob", "nope"},
		{"unknown user", "mallory", "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			us.Authenticate(tt.username, tt.password)
			want := []call{{cheap.Memory, cheap.Time}}
			if len(calls) != 1 || calls[0] != want[0] {
				t.Errorf("argon2id calls = %+v, want %+v", calls, want)
			}
		})
	}
}

func TestUsers_DummyParams(t *testing.T) {
	plainOnly, err := NewUsers([]config.User{{Username: "a", Password: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if plainOnly.dummy.Params != DefaultParams {
		t.Errorf("dummy parameters without hashed users = %+v, want DefaultParams", plainOnly.dummy.Params)
	}
	if got := testUsers(t).dummy.Params; got != cheap {
		t.Errorf("dummy parameters = %+v, want the first user's %+v", got, cheap)
	}
}

func TestUsers_Lookup(t *testing.T) {
	us := testUsers(t)
	if u, ok := us.Lookup("bob"); !ok || u.Name() != "bob" {
		t.Errorf("Lookup(bob) = %v, %v", u, ok)
	}
	if u, ok := us.Lookup("mallory"); ok || u != nil {
		t.Errorf("Lookup(mallory) = %v, %v", u, ok)
	}
	if us.Len() != 3 {
		t.Errorf("Len() = %d, want 3", us.Len())
	}
}

func TestUsers_AuthenticateConcurrent(t *testing.T) {
	us := testUsers(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			name, pw := "alice", "alice-pw"
			if i%2 == 1 {
				name, pw = "bob", "wrong"
			}
			u, err := us.Authenticate(name, pw)
			if (i%2 == 0) != (err == nil && u != nil) {
				t.Errorf("Authenticate(%s) = %v, %v", name, u, err)
			}
		})
	}
	wg.Wait()
}

func TestUser_CanPublish(t *testing.T) {
	us := testUsers(t)
	alice, _ := us.Lookup("alice")
	bob, _ := us.Lookup("bob")
	carol, _ := us.Lookup("carol")
	tests := []struct {
		name  string
		user  *User
		topic string
		want  bool
	}{
		{"exact", alice, "chat/alice", true},
		{"other topic", alice, "chat/bob", false},
		{"below exact", alice, "chat/alice/x", false},
		{"wildcard grant", alice, "sensors/kitchen/alice", true},
		{"wildcard grant, wrong tail", alice, "sensors/kitchen/bob", false},
		{"everything", bob, "any/topic/at/all", true},
		{"wildcard topic refused", bob, "chat/+", false},
		{"hash topic refused", bob, "#", false},
		{"no permissions", carol, "chat/alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.user.CanPublish(tt.topic); got != tt.want {
				t.Errorf("%s.CanPublish(%q) = %v, want %v", tt.user.Name(), tt.topic, got, tt.want)
			}
		})
	}
}

func TestUser_CanSubscribe(t *testing.T) {
	us := testUsers(t)
	alice, _ := us.Lookup("alice") // subscribe: chat/#, news/+
	bob, _ := us.Lookup("bob")     // subscribe: #
	carol, _ := us.Lookup("carol") // none
	tests := []struct {
		name    string
		user    *User
		pattern string
		want    bool
	}{
		{"topic under grant", alice, "chat/a", true},
		{"grant root", alice, "chat", true},
		{"plus under hash", alice, "chat/+", true},
		{"star under hash", alice, "chat/*/x", true},
		{"same pattern", alice, "chat/#", true},
		{"deeper hash", alice, "chat/a/#", true},
		{"outside", alice, "other", false},
		{"everything", alice, "#", false},
		{"plus one level", alice, "news/+", true},
		{"star for plus", alice, "news/*", true},
		{"hash beyond plus", alice, "news/#", false},
		{"below plus", alice, "news/a/b", false},
		{"plus root", alice, "+", false},
		{"all for all", bob, "#", true},
		{"all for anything", bob, "+/+/#", true},
		{"nothing granted", carol, "chat/a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.user.CanSubscribe(tt.pattern); got != tt.want {
				t.Errorf("%s.CanSubscribe(%q) = %v, want %v", tt.user.Name(), tt.pattern, got, tt.want)
			}
		})
	}
}

// TestUsers_HashesBounded holds every argon2id computation until released
// and checks that no more than MaxHashes run at once, that
// HashQueueFactor×MaxHashes more wait, and that the rest fail at once with
// ErrBusy.
func TestUsers_HashesBounded(t *testing.T) {
	const limit, refused = 2, 20
	const admitted = limit * (1 + HashQueueFactor)
	const callers = admitted + refused
	us, err := NewUsers([]config.User{{Username: "a", Password: "x"}}, WithMaxHashes(limit))
	if err != nil {
		t.Fatal(err)
	}
	if us.MaxHashes() != limit {
		t.Fatalf("MaxHashes = %d, want %d", us.MaxHashes(), limit)
	}
	entered, release := make(chan struct{}, callers), make(chan struct{})
	var running, peak atomic.Int64
	orig := idKey
	t.Cleanup(func() { idKey = orig })
	idKey = func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		entered <- struct{}{}
		<-release
		running.Add(-1)
		return make([]byte, keyLen)
	}
	errs := make(chan error, callers)
	for range callers {
		go func() {
			_, err := us.Authenticate("a", "wrong")
			errs <- err
		}()
	}
	for range refused {
		if err := <-errs; !errors.Is(err, ErrBusy) {
			t.Fatalf("a check beyond the queue returned %v, want ErrBusy", err)
		}
	}
	// A login the caller trusts is not refused, and waits its turn.
	known := make(chan error, 1)
	go func() {
		_, err := us.AuthenticateKnown("a", "wrong")
		known <- err
	}()
	for range limit {
		<-entered
	}
	close(release)
	if err := <-known; !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("a known login with the queue full returned %v, want ErrBadCredentials", err)
	}
	for range admitted {
		if err := <-errs; !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("an admitted check returned %v, want ErrBadCredentials", err)
		}
	}
	if p := peak.Load(); p > limit {
		t.Fatalf("%d hashes ran at once, want at most %d", p, limit)
	}
}

func TestMemoryBudget_MaxHashes(t *testing.T) {
	const mem = 64 << 10 // KiB
	const none = math.MaxInt64
	procs := runtime.GOMAXPROCS(0)
	cases := []struct {
		name string
		b    memoryBudget
		want int
	}{
		{"nothing known", memoryBudget{limit: none, gcPercent: 100}, min(MaxHashesDefault, procs)},
		{"a quarter of the limit holds two", memoryBudget{limit: 512 << 20, physical: 64 << 30, gcPercent: 400}, min(2, procs)},
		{"never less than one", memoryBudget{limit: 64 << 20, gcPercent: 100}, 1},
		{"a big machine", memoryBudget{limit: none, physical: 64 << 30, gcPercent: 400}, min(MaxHashesDefault, procs)},
		{"2 GiB with GOGC=400", memoryBudget{limit: none, physical: 2 << 30, gcPercent: 400}, 1},
		{"4 GiB with GOGC=100", memoryBudget{limit: none, physical: 4 << 30, gcPercent: 100}, min(4, procs)},
		{"collector off", memoryBudget{limit: none, physical: 4 << 30, gcPercent: -1}, 1},
	}
	for _, tc := range cases {
		if got := tc.b.maxHashes(mem); got != tc.want {
			t.Errorf("%s: maxHashes(64 MiB) = %d, want %d", tc.name, got, tc.want)
		}
	}
	if b := currentBudget(); b.limit <= 0 || b.gcPercent == 0 {
		t.Errorf("currentBudget() = %+v", b)
	}
}
