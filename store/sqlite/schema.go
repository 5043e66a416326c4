package sqlite

import (
	"database/sql"
	"fmt"
)

// migrations take a database from one version of the schema to the next:
// migrations[i] from version i, as PRAGMA user_version records it, to
// i+1. A database created by a version of whispeer before the first
// migration has version 0, as does a new one once schema has created it.
var migrations = []string{
	// Whether the payload is an envelope, as its publisher declared
	// (whispeer.Message.Sealed); the messages stored before are not.
	`ALTER TABLE messages ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0`,
	// The CRC-32C of the message (sum); NULL for the messages stored
	// before, which reads do not check.
	`ALTER TABLE messages ADD COLUMN crc INTEGER`,
	// The messages stored before there was a sealed column, which have no
	// sum either, are envelopes if their payload begins like one
	// (envelope.IsEnvelope): the broker then read it so and delivered them
	// so, and history stored then is delivered as it was.
	`UPDATE messages SET sealed = 1 WHERE crc IS NULL AND sealed = 0
		AND length(payload) >= 5 AND substr(payload, 1, 3) = x'c15701'`,
	// The id of an exactly-once message's publisher
	// (whispeer.Message.PublisherID), written with the message; NULL for
	// the others, and for the messages stored before.
	`ALTER TABLE messages ADD COLUMN publisher TEXT`,
	// The exactly-once messages by time, for ReadExactlyOnce.
	`CREATE INDEX messages_exactly_once ON messages (time) WHERE qos = 2`,
	// When a cursor was last saved, in Unix nanoseconds
	// (whispeer.CursorStore.Cursors); 0 for those saved before, which
	// Cursors gives as saved when the store was opened.
	`ALTER TABLE cursors ADD COLUMN saved INTEGER NOT NULL DEFAULT 0`,
}

// migrate creates the schema if need be and applies the migrations the
// database has not had, each in a transaction of its own.
func migrate(db *sql.DB) error {
	if _, err := db.Exec(schema); err != nil {
		return err
	}
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this whispeer's (%d)", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if err := migrateTo(db, v+1); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
	}
	return nil
}

// migrateTo applies the migration to version v.
func migrateTo(db *sql.DB, v int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(migrations[v-1]); err != nil {
		return err
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		return err
	}
	return tx.Commit()
}
