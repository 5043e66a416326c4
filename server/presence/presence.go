package presence

import (
	"cmp"
	"slices"
	"sync"
)

// Client is one client present in a topic.
type Client struct {
	// User is the name of the user the client authenticated as.
	User string
	// ClientID is the id the client gave for itself, or its connection's
	// id when it gave none.
	ClientID string
	// Conn is the id of the client's connection on its server, such as
	// "ws:7": unique among the clients present.
	Conn string
}

// Event is a client joining or leaving a topic.
type Event struct {
	Topic  string
	Join   bool // true for a join, false for a leave
	Client Client
}

// Watcher receives the join and leave events of a topic's other clients.
// It runs in the goroutine of the client that joined or left, under no
// lock of the registry, and must not block: a server's queues the event
// for its connection.
type Watcher func(Event)

// Key names one subscription of a client, to tell apart the
// subscriptions a client may hold in one topic.
type Key struct {
	SID     uint32
	Pattern string
}

// Registry is the presence of every topic of a server. The zero Registry
// is not usable: make one with New.
type Registry struct {
	// maxEvents is the most clients a topic may have for join and leave
	// events to be sent in it.
	maxEvents int
	// relay, if set, gets the joins and leaves that the registry sends
	// events for, for the other servers of a cluster.
	relay func(Event)

	mu     sync.Mutex
	topics map[string]*topic
}

// topic is one topic's presence.
type topic struct {
	members map[string]*member // by Client.Conn
	users   map[string]int     // clients per user
}

// member is one client present in a topic.
type member struct {
	client Client
	subs   map[Key]Watcher // the client's subscriptions; nil Watcher for one without events
}

// New returns an empty registry that sends join and leave events in a
// topic only while it has at most maxEvents clients (counted with the one
// joining, or the one leaving). maxEvents of 0 sends none.
func New(maxEvents int, opts ...Option) *Registry {
	r := &Registry{maxEvents: max(maxEvents, 0), topics: make(map[string]*topic)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Option configures a Registry.
type Option func(*Registry)

// WithRelay makes the registry give f each join and leave of a topic
// with at most its event limit of clients, whether or not a client here
// watches it, so that the other servers of a cluster may send it to
// theirs (see Deliver). f runs as a Watcher does and must not block.
func WithRelay(f func(Event)) Option { return func(r *Registry) { r.relay = f } }

// Deliver gives e, a join or leave on another server of a cluster, to the
// watchers of e.Topic's clients here, when the topic has at most the
// registry's event limit of clients here.
func (r *Registry) Deliver(e Event) {
	r.mu.Lock()
	var notify []Watcher
	if t := r.topics[e.Topic]; t != nil {
		notify = r.watchers(t, "")
	}
	r.mu.Unlock()
	emit(notify, e)
}

// Join records that c holds the subscription key in topic; w, if not nil,
// gets the join and leave events of the topic's other clients from now
// on. The first subscription of c in topic makes it join: the watchers of
// the other clients get the event, when the topic has no more than the
// registry's event limit of clients.
func (r *Registry) Join(topicName string, c Client, key Key, w Watcher) {
	r.mu.Lock()
	t := r.topics[topicName]
	if t == nil {
		t = &topic{members: make(map[string]*member), users: make(map[string]int)}
		r.topics[topicName] = t
	}
	m := t.members[c.Conn]
	joined := m == nil
	if joined {
		m = &member{client: c, subs: make(map[Key]Watcher, 1)}
		t.members[c.Conn] = m
		t.users[c.User]++
	}
	m.subs[key] = w
	var notify []Watcher
	relay := joined && r.relay != nil && len(t.members) <= r.maxEvents
	if joined {
		notify = r.watchers(t, c.Conn)
	}
	r.mu.Unlock()
	e := Event{Topic: topicName, Join: true, Client: m.client}
	emit(notify, e)
	if relay {
		r.relay(e)
	}
}

// Leave records that the client of connection conn no longer holds the
// subscription key in topic. Its last subscription there makes it leave:
// the watchers of the other clients get the event, as for Join. A Leave
// of a subscription not recorded does nothing.
func (r *Registry) Leave(topicName, conn string, key Key) {
	r.mu.Lock()
	t := r.topics[topicName]
	var m *member
	if t != nil {
		m = t.members[conn]
	}
	if m == nil {
		r.mu.Unlock()
		return
	}
	delete(m.subs, key)
	if len(m.subs) > 0 {
		r.mu.Unlock()
		return
	}
	notify := r.watchers(t, conn) // counted with the one leaving
	relay := r.relay != nil && len(t.members) <= r.maxEvents
	delete(t.members, conn)
	if t.users[m.client.User]--; t.users[m.client.User] == 0 {
		delete(t.users, m.client.User)
	}
	if len(t.members) == 0 {
		delete(r.topics, topicName)
	}
	r.mu.Unlock()
	e := Event{Topic: topicName, Client: m.client}
	emit(notify, e)
	if relay {
		r.relay(e)
	}
}

// watchers returns the watchers of t's members other than conn, or none
// when t has more members than the event limit. It runs under r.mu.
func (r *Registry) watchers(t *topic, conn string) []Watcher {
	if len(t.members) > r.maxEvents {
		return nil
	}
	var ws []Watcher
	for id, m := range t.members {
		if id == conn {
			continue
		}
		for _, w := range m.subs {
			if w != nil {
				ws = append(ws, w)
			}
		}
	}
	return ws
}

// emit gives e to each watcher.
func emit(ws []Watcher, e Event) {
	for _, w := range ws {
		w(e)
	}
}

// List returns the clients present in topic, at most limit of them (all
// with a limit ≤ 0), sorted by user and then connection, and how many
// there are in all. When there are more than limit, which of them it
// returns is unspecified: it copies no more than limit under its lock.
func (r *Registry) List(topicName string, limit int) (clients []Client, total int) {
	r.mu.Lock()
	if t := r.topics[topicName]; t != nil {
		total = len(t.members)
		n := total
		if limit > 0 {
			n = min(n, limit)
		}
		clients = make([]Client, 0, n)
		for _, m := range t.members {
			if len(clients) == n {
				break
			}
			clients = append(clients, m.client)
		}
	}
	r.mu.Unlock()
	slices.SortFunc(clients, func(a, b Client) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Conn, b.Conn))
	})
	return clients, total
}

// Stats is the size of a topic's presence.
type Stats struct {
	Clients int // clients present
	Users   int // distinct users among them
}

// Stats returns how many clients and users are present in topic.
func (r *Registry) Stats(topicName string) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.topics[topicName]
	if t == nil {
		return Stats{}
	}
	return Stats{Clients: len(t.members), Users: len(t.users)}
}

// Users returns the distinct users present in topic, at most limit of
// them (all with a limit ≤ 0), in no order.
func (r *Registry) Users(topicName string, limit int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.topics[topicName]
	if t == nil {
		return nil
	}
	n := len(t.users)
	if limit > 0 {
		n = min(n, limit)
	}
	users := make([]string, 0, n)
	for u := range t.users {
		if len(users) == n {
			break
		}
		users = append(users, u)
	}
	return users
}

// Topics returns how many topics have a client present.
func (r *Registry) Topics() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.topics)
}
