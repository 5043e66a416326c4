// Package redis is whispeer on Redis (7.0 or later), alone, behind
// Sentinel or as a Redis Cluster, through rueidis with auto-pipelining: a
// [whispeer.Store] (Store), the history the nodes of a whispeer cluster
// share, and the [whispeer.Backplane] (Backplane) that carries their live
// messages, which the store publishes as it appends them.
//
// # Keys
//
// A topic T has two keys, "<prefix>:{T}:s", a Stream of its messages, each
// under the entry id "<offset>-0", and "<prefix>:{T}:m", a hash of its
// epoch, last offset and payload bytes kept; its live messages are
// published on the sharded channel "<prefix>:{T}:p". The hash tag {T}
// puts all three in one slot of a Redis Cluster. A durable subscriber's
// cursors are the hash "<prefix>:c:{subscriber}".
//
// # Exactly once
//
// The append script of an [whispeer.ExactlyOnce] message also sets the
// key "<prefix>:{T}:d:<n>:<publisher>:<id>" (n the publisher's length) to
// its offset and epoch, expiring after the window of [WithDedup]; while
// it exists an append of the same topic, publisher and id appends nothing
// and fails with [whispeer.ErrDuplicate], which a broker answers as a
// retry: the de-duplication window of every broker sharing the store, so
// that a publisher may retry through any node of a cluster.
//
// # Offsets and epochs
//
// One Lua script appends a run of a topic's messages: it reads the
// topic's state, numbers the messages with the next offsets, adds them to
// the stream and, with [WithPublish], publishes them on the topic's
// channel as one message, all at once, so the order of a topic's history
// and of its live messages is the order the script ran in, the same for
// every node. A topic whose hash is missing,
// or counts messages while its stream is gone, has lost its history
// (Redis restarted empty, or evicted a key): the next script to touch it
// gives it a new epoch and starts again at offset 1, and subscribers
// resuming from the old epoch are told they did not recover. Redis must
// not evict these keys: run it with maxmemory-policy noeviction.
//
// # Durability
//
// Appends wait in one bounded queue ([DefaultMaxQueue]) for the store's
// writer, which sends them to Redis in pipelined batches, in the order
// they were queued, and waits for each batch's replies before the next;
// a run of consecutive appends to one topic in a batch is one call of
// the append script, of at most 64 messages and 64 KiB of records.
// Append waits for its message's offset. AppendAsync, which a broker with
// a backplane uses for QoS 0 messages and for its clients' QoS 1
// messages, returns once queued: without a done callback it fails with
// [ErrBusy] when the queue is full; with one it waits for room, and done
// reports the outcome.
//
// An append is acknowledged (its done called) once Redis replied, or with
// [WithWait] once as many replicas acknowledged it: what Redis loses on a
// crash depends on its own persistence (appendonly, appendfsync).
//
// # Live messages and patterns
//
// A Backplane subscribes to the sharded channel of each topic its broker
// has subscribers for (SSUBSCRIBE, served by the shard that holds the
// topic), and unsubscribes when the last is gone. Redis has no patterns
// for sharded channels, so the append script also publishes each run
// on the unsharded channel "<prefix>:w:<first level of the topic>" (off
// with [WithoutPatterns]): a pattern whose first level is a name, such as
// "chat/+", subscribes to that channel; one that starts with a wildcard,
// such as "#", to all of them (PSUBSCRIBE "<prefix>:w:*"). The cost: every
// message is published twice, and on a Redis Cluster an unsharded publish
// is broadcast to every node of the cluster; a node with a "#" pattern
// receives every message of the cluster. What is published on the
// channels is versioned ("v2:"); a Backplane drops what does not decode,
// counts it (Damaged) and logs it as the count doubles. A subscription
// receives messages from the moment Redis confirmed it, which Watch
// waits for.
//
// The subscriptions share one dedicated connection per Redis, or per
// master of a Redis Cluster (the one whose slots hold the channel, read
// with CLUSTER SLOTS and followed when Redis answers MOVED or moves a
// slot), and one goroutine per connection keeps them: however many
// topics are watched, the goroutines and connections are as many as the
// masters. After a lost connection the goroutine connects again, with a
// backoff up to 2 seconds, and subscribes every channel again in
// pipelines of 512. When it cannot connect to a master that serves no
// slot any more (it failed over to a replica at another address, or left
// the cluster), the connection is given up and no longer counts as lost,
// and its channels are subscribed again where their slots are now. A
// channel that could not be subscribed again where its slot moved is
// tried again, with a backoff up to 2 seconds, until it is or no watch
// needs it.
//
// Received payloads, each one message or a run of up to 64 messages of
// one topic, wait for the broker in a queue bounded in payloads
// ([DefaultQueue], [WithQueue]) and in bytes ([DefaultQueueBytes],
// [WithQueueBytes]).
//
// # The nodes of a cluster
//
// Besides messages, the nodes of a cluster share through the store: the
// list of the live nodes (Register, Nodes); a control channel (Control),
// Redis Pub/Sub on "<prefix>:ctl", on which a node asks every other node
// and gathers their replies within its context's deadline, naming those
// that did not reply, and sends notices such as presence events, with
// every message it takes bounded in size and count; and leases (Lease,
// Release), a key "<prefix>:lease:<name>" held by one node at a time for
// a time it renews, such as the node that applies retention.
//
// # Concurrency
//
// A Store, and a Control, are safe for concurrent use; neither holds a
// lock during a call to Redis. Appends to one topic are numbered in the
// order Redis runs them.
package redis
