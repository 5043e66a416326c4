package json

import "strconv"

// PresenceClient is one client of a presence answer: the user it
// authenticated as and its client id.
type PresenceClient struct {
	User     string
	ClientID string
}

// AppendPresence appends the answer to a presence request: the clients
// listed, how many there are in all (count), and whether some were left
// out of the list (truncated):
//
//	{"type":"presence","topic":…,"clients":[{"user":…,"client_id":…},…],"count":n,"truncated":false}
func AppendPresence(dst []byte, topic string, clients []PresenceClient, count int, truncated bool) []byte {
	dst = append(dst, `{"type":"presence","topic":`...)
	dst = AppendString(dst, topic)
	dst = append(dst, `,"clients":[`...)
	for i, c := range clients {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPresenceClient(dst, c)
	}
	dst = append(dst, `],"count":`...)
	dst = strconv.AppendInt(dst, int64(count), 10)
	dst = append(dst, `,"truncated":`...)
	dst = strconv.AppendBool(dst, truncated)
	return append(dst, '}')
}

// appendPresenceClient appends {"user":…,"client_id":…}.
func appendPresenceClient(dst []byte, c PresenceClient) []byte {
	dst = append(dst, `{"user":`...)
	dst = AppendString(dst, c.User)
	dst = append(dst, `,"client_id":`...)
	dst = AppendString(dst, c.ClientID)
	return append(dst, '}')
}

// AppendPresenceStats appends the answer to a presence_stats request:
//
//	{"type":"presence_stats","topic":…,"clients":n,"users":m}
func AppendPresenceStats(dst []byte, topic string, clients, users int) []byte {
	dst = append(dst, `{"type":"presence_stats","topic":`...)
	dst = AppendString(dst, topic)
	dst = append(dst, `,"clients":`...)
	dst = strconv.AppendInt(dst, int64(clients), 10)
	dst = append(dst, `,"users":`...)
	dst = strconv.AppendInt(dst, int64(users), 10)
	return append(dst, '}')
}

// AppendJoin appends the event of a client joining the topic of a
// subscription made with "presence": true (leave false), or leaving it
// (leave true):
//
//	{"type":"join","topic":…,"user":…,"client_id":…}
//	{"type":"leave","topic":…,"user":…,"client_id":…}
func AppendJoin(dst []byte, leave bool, topic string, c PresenceClient) []byte {
	if leave {
		dst = append(dst, `{"type":"leave","topic":`...)
	} else {
		dst = append(dst, `{"type":"join","topic":`...)
	}
	dst = AppendString(dst, topic)
	dst = append(dst, `,"user":`...)
	dst = AppendString(dst, c.User)
	dst = append(dst, `,"client_id":`...)
	dst = AppendString(dst, c.ClientID)
	return append(dst, '}')
}
