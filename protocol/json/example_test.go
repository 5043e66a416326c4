package json_test

import (
	"errors"
	"fmt"

	"github.com/whispeer-io/whispeer/protocol/json"
)

// A server reads a publish frame, and writes the delivery once for all
// subscribers.
func Example() {
	frame, err := json.Parse([]byte(`{"type":"publish","topic":"chat","payload":{"text":"hi"},"message_id":"m1","qos":1}`))
	if err != nil {
		fmt.Println(string(json.AppendError(nil, err.Error())))
		return
	}
	fmt.Println(frame.Type, frame.Topic, string(frame.Payload))
	fmt.Println(string(json.AppendPubAck(nil, frame.MessageID)))
	fmt.Println(string(json.AppendMessage(nil, frame.Topic, frame.Payload, 1689475200, frame.MessageID, frame.QoS)))
	// Output:
	// publish chat {"text":"hi"}
	// {"type":"puback","message_id":"m1"}
	// {"type":"message","topic":"chat","payload":{"text":"hi"},"timestamp":1689475200,"message_id":"m1","qos":1}
}

func ExampleParse_error() {
	_, err := json.Parse([]byte(`{"type":"publish","topic":"chat","payload":"x","qos":1}`))
	fmt.Println(errors.Is(err, json.ErrMessageIDRequired))
	fmt.Println(string(json.AppendError(nil, err.Error())))
	// Output:
	// true
	// {"type":"error","error":"message_id required for qos 1","message":"message_id required for qos 1"}
}

func ExampleAppendPayload() {
	for _, b := range [][]byte{[]byte(`{"t":21.5}`), []byte("plain text"), {0xff, 0x00}} {
		fmt.Println(string(json.AppendPayload(nil, b)))
	}
	// Output:
	// {"t":21.5}
	// "plain text"
	// {"base64":"/wA="}
}
