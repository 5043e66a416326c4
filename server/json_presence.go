package server

import (
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/presence"
)

// jsonPresence answers a presence or presence_stats request.
func (s *session) jsonPresence(f *json.Frame) {
	if e := s.checkPresence(f.Topic); e != nil {
		s.sendErrorFor(refOf(f), e.text)
		return
	}
	topic, stats, ref := f.Topic, f.Type == json.TypePresenceStats, refOf(f)
	err := s.srv.presenceFor(topic, s.srv.cfg.Presence.ListLimit, func(p admin.Presence) {
		if stats {
			s.reply(json.AppendPresenceStats(newFrame(64+len(topic)), topic, p.Count, p.Users))
			return
		}
		list := make([]json.PresenceClient, len(p.Clients))
		size := 96 + len(topic)
		for i, c := range p.Clients {
			list[i] = json.PresenceClient{User: c.User, ClientID: c.ClientID}
			size += 32 + len(c.User) + len(c.ClientID)
		}
		s.reply(json.AppendPresence(newFrame(size), topic, list, p.Count, len(p.Clients) < p.Count))
	})
	if err != nil {
		s.sendErrorFor(ref, errorText(err))
	}
}

// jsonWatcher returns the watcher of a subscription made with
// "presence": true, which sends each join and leave as a frame.
func (s *session) jsonWatcher() presence.Watcher {
	return func(e presence.Event) {
		c := json.PresenceClient{User: e.Client.User, ClientID: e.Client.ClientID}
		s.reply(json.AppendJoin(newFrame(64+len(e.Topic)+len(c.User)+len(c.ClientID)), !e.Join, e.Topic, c))
	}
}
