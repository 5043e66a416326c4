package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/sqlite"
)

// schemaV0 is the database as whispeer wrote it before its schema had a
// version.
const schemaV0 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE topics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
	epoch INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL);
CREATE TABLE messages (topic INTEGER NOT NULL, off INTEGER NOT NULL,
	time INTEGER NOT NULL, qos INTEGER NOT NULL, id TEXT NOT NULL, headers BLOB,
	payload BLOB NOT NULL, PRIMARY KEY (topic, off)) WITHOUT ROWID;
CREATE TABLE cursors (subscriber TEXT NOT NULL, topic TEXT NOT NULL,
	epoch INTEGER NOT NULL, off INTEGER NOT NULL, PRIMARY KEY (subscriber, topic)) WITHOUT ROWID;
INSERT INTO meta VALUES ('id', 42);
INSERT INTO topics VALUES (1, 'old', 7, 1, 2);
INSERT INTO messages VALUES (1, 1, 1000, 1, 'm1', NULL, x'c157010000');
INSERT INTO messages VALUES (1, 2, 1500, 1, 'm2', NULL, x'c157020000');
`

// TestStore_MigratesOldDatabase opens a database written before messages
// had a sealed column, when whether a payload was an envelope was read
// from its first bytes: its messages read back sealed where the payload
// begins like an envelope, as the broker then delivered them, and the
// store then keeps Sealed as declared, across a reopen.
func TestStore_MigratesOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schemaV0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ctx := context.Background()
	want := []*whispeer.Message{
		{Topic: "old", ID: "m1", Seq: 1, QoS: 1, Payload: []byte{0xC1, 0x57, 1, 0, 0}, Sealed: true, Time: time.Unix(0, 1000)},
		{Topic: "old", ID: "m2", Seq: 2, QoS: 1, Payload: []byte{0xC1, 0x57, 2, 0, 0}, Time: time.Unix(0, 1500)},
		{Topic: "old", ID: "m3", Seq: 3, QoS: 1, Payload: []byte{0xC1, 0x57, 1, 0, 0}, Time: time.Unix(0, 2000)},
		{Topic: "old", ID: "m4", Seq: 4, QoS: 2, PublisherID: "p", Payload: []byte{0xC1, 0x57, 1, 0, 0}, Sealed: true, Time: time.Unix(0, 3000)},
	}
	for round := range 2 {
		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		if round == 0 {
			for _, w := range want[2:] {
				appendWait(t, s, &whispeer.Message{Topic: w.Topic, ID: w.ID, QoS: w.QoS, PublisherID: w.PublisherID, Payload: w.Payload, Sealed: w.Sealed, Time: w.Time})
			}
		}
		var got []*whispeer.Message
		if err := s.Read(ctx, "old", 1, 0, func(m *whispeer.Message) error { got = append(got, m); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: read %d messages, want %d", round, len(got), len(want))
		}
		for i, m := range got {
			w := want[i]
			if m.ID != w.ID || m.Seq != w.Seq || m.Sealed != w.Sealed || m.QoS != w.QoS || m.PublisherID != w.PublisherID || string(m.Payload) != string(w.Payload) || !m.Time.Equal(w.Time) {
				t.Fatalf("round %d: read %+v, want %+v", round, m, w)
			}
		}
	}
}

// appendWait appends m and waits until it is durable.
func appendWait(t *testing.T, s whispeer.Store, m *whispeer.Message) {
	t.Helper()
	done := make(chan error, 1)
	if err := s.Append(context.Background(), m, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStore_MigratedCursorsSavedWhenOpened checks that a cursor saved
// before cursors had a time is listed as saved when the store was opened,
// so that a durable subscriber who never comes back expires from then.
func TestStore_MigratedCursorsSavedWhenOpened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schemaV0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO cursors (subscriber, topic, epoch, off) VALUES ('old', 't', 5, 2)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := time.Now()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after := time.Now()
	var got []whispeer.Cursor
	err = s.Cursors(context.Background(), func(c whispeer.Cursor, saved time.Time) bool {
		if saved.Before(before.Round(0)) || saved.After(after.Round(0)) {
			t.Errorf("cursor %+v saved at %v, want when the store was opened, between %v and %v", c, saved, before, after)
		}
		got = append(got, c)
		return true
	})
	want := whispeer.Cursor{Subscriber: "old", Topic: "t", Epoch: 5, Offset: 2}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("Cursors gave %+v, %v; want %+v", got, err, want)
	}
}
