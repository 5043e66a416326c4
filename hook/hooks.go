package hook

// Connect sees every new client connection before it is served; an error
// refuses the connection with [whispeer.ErrRejected].
type Connect interface {
	OnConnect(c Conn) error
}

// Auth sees every successful authentication, with c.User set, before the
// client is told of it; an error refuses the authentication with
// [whispeer.ErrRejected].
type Auth interface {
	OnAuthenticate(c Conn) error
}

// Ack sees every client's acknowledgment of a message delivered at
// [whispeer.AtLeastOnce] or more, by the message's id.
type Ack interface {
	OnAck(c Conn, id string)
}

// Disconnect sees every client connection that ended, with the reason (nil
// for an orderly close).
type Disconnect interface {
	OnDisconnect(c Conn, err error)
}
