package server

import (
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/server/presence"
)

// jsonPresence answers a presence or presence_stats request.
func (s *session) jsonPresence(f *json.Frame) {
	if e := s.checkPresence(f.Topic); e != nil {
		s.sendErrorFor(refOf(f), e.text)
		return
	}
	p := s.srv.presence
	if f.Type == json.TypePresenceStats {
		st := p.Stats(f.Topic)
		s.reply(json.AppendPresenceStats(newFrame(64+len(f.Topic)), f.Topic, st.Clients, st.Users))
		return
	}
	clients, total := p.List(f.Topic, s.srv.cfg.Presence.ListLimit)
	list := make([]json.PresenceClient, len(clients))
	size := 96 + len(f.Topic)
	for i, c := range clients {
		list[i] = json.PresenceClient{User: c.User, ClientID: c.ClientID}
		size += 32 + len(c.User) + len(c.ClientID)
	}
	s.reply(json.AppendPresence(newFrame(size), f.Topic, list, total, len(clients) < total))
}

// jsonWatcher returns the watcher of a subscription made with
// "presence": true, which sends each join and leave as a frame.
func (s *session) jsonWatcher() presence.Watcher {
	return func(e presence.Event) {
		c := json.PresenceClient{User: e.Client.User, ClientID: e.Client.ClientID}
		s.reply(json.AppendJoin(newFrame(64+len(e.Topic)+len(c.User)+len(c.ClientID)), !e.Join, e.Topic, c))
	}
}
