package json

import "testing"

func TestParse_ExactlyOnceFrames(t *testing.T) {
	for _, tc := range []struct {
		in     string
		typ    Type
		id     string
		offset uint64
	}{
		{`{"type":"pubrel","message_id":"o-9"}`, TypePubRel, "o-9", 0},
		{`{"type":"pubrec","message_id":"o-9","offset":43}`, TypePubRec, "o-9", 43},
		{`{"type":"pubcomp","message_id":"o\u002d9","offset":43}`, TypePubComp, "o-9", 43},
	} {
		f, err := Parse([]byte(tc.in))
		if err != nil || f.Type != tc.typ || f.MessageID != tc.id || f.Offset != tc.offset {
			t.Errorf("Parse(%s) = %v, %v", tc.in, f, err)
		}
	}
	if _, err := Parse([]byte(`{"type":"pubrel"}`)); err == nil {
		t.Error("a pubrel without message_id parsed")
	}
	f, err := Parse([]byte(`{"type":"auth","token":"t","client_id":"shop-1"}`))
	if err != nil || f.ClientID != "shop-1" || f.Token != "t" {
		t.Errorf("auth with client_id: %v, %v", f, err)
	}
	f, err = Parse([]byte(`{"type":"subscribe","topic":"orders","qos":2}`))
	if err != nil || f.QoS != 2 {
		t.Errorf("subscribe at QoS 2: %v, %v", f, err)
	}
}

func TestAppend_ExactlyOnceFrames(t *testing.T) {
	for got, want := range map[string]string{
		string(AppendPubRec(nil, "o-9")):         `{"type":"pubrec","message_id":"o-9"}`,
		string(AppendPubComp(nil, "o-9", false)): `{"type":"pubcomp","message_id":"o-9"}`,
		string(AppendPubComp(nil, "o-9", true)):  `{"type":"pubcomp","message_id":"o-9","reason":"not_found"}`,
		string(AppendPubRel(nil, "o-9", 43)):     `{"type":"pubrel","message_id":"o-9","offset":43}`,
		string(AppendPubRel(nil, "o-9", 0)):      `{"type":"pubrel","message_id":"o-9"}`,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
