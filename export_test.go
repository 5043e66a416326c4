package whispeer

import "time"

// NewHistoryStore returns the in-memory history a broker without a store
// keeps, holding up to limit messages per topic, for tests to check it
// against the Store contract.
func NewHistoryStore(limit int) Store { return newMemHistory(limit, time.Now) }
