package server

import (
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/presence"
)

// presenceInfoHead is the size of a PRESENCEINFO without its clients and
// text: length prefix, type, id, code, flags, count, users, client count
// and text length.
const presenceInfoHead = 4 + 1 + 4 + 1 + 1 + 4 + 4 + 2 + 2

// presence answers a PRESENCE with a PRESENCEINFO: the clients present in
// the topic, as many as presence.list_limit and the client's frame limit
// allow, or the counts alone.
func (n *native) presence(p *wire.Presence) {
	if !n.caps.Has(wire.CapPresence) {
		n.refuse(&opError{whispeer.CodeInvalid, "PRESENCE needs the presence capability"}, wire.TypePresence, false)
		return
	}
	topic := string(p.Topic)
	info := wire.PresenceInfo{ID: p.ID}
	if e := n.s.checkPresence(topic); e != nil {
		info.Code, info.Text = e.wireCode(), []byte("whispeer: "+e.text)
		n.sendPresenceInfo(&info)
		return
	}
	stats := p.Stats
	err := n.s.srv.presenceFor(topic, min(n.s.srv.cfg.Presence.ListLimit, 1<<16-1), func(pr admin.Presence) {
		info.Count, info.Users = uint32(pr.Count), uint32(pr.Users)
		if !stats {
			budget := n.maxOut - presenceInfoHead
			kv := make([]string, 0, 2*len(pr.Clients))
			for _, c := range pr.Clients {
				size := 4 + len(c.User) + len(c.ClientID)
				if size > budget {
					break
				}
				budget -= size
				kv = append(kv, c.User, c.ClientID)
			}
			info.Clients, _ = wire.MakePresenceClients(kv...) // each fits: a user name or a client id is short
			info.Truncated = info.Clients.Len() < pr.Count
		}
		n.sendPresenceInfo(&info)
	})
	if err != nil {
		info.Code, info.Text = wire.CodeUnavailable, []byte(err.Error())
		n.sendPresenceInfo(&info)
	}
}

// sendPresenceInfo sends a PRESENCEINFO.
func (n *native) sendPresenceInfo(info *wire.PresenceInfo) {
	b, err := wire.AppendPresenceInfo(n.newBuf(presenceInfoHead+len(info.Text)+64), info)
	if err != nil {
		n.sendError(&opError{whispeer.CodeInternal, "presence answer: " + errorText(err)}, false, wire.TypePresence)
		return
	}
	n.s.send(n.finish(b))
}

// watcher returns the watcher of subscription sid made with the presence
// flag, which sends each join and leave as a JOINLEAVE. It runs in other
// sessions' goroutines: it reads only what HELLO fixed.
func (n *native) watcher(sid uint32) presence.Watcher {
	return func(e presence.Event) {
		j := wire.JoinLeave{SID: sid, Leave: !e.Join, User: []byte(e.Client.User), Client: []byte(e.Client.ClientID)}
		b, err := wire.AppendJoinLeave(n.newBuf(16+len(j.User)+len(j.Client)), &j)
		if err == nil {
			n.s.send(n.finish(b))
		}
	}
}
