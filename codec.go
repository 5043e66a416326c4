package whispeer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Codec turns typed values into payloads and back, for [Topic].
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default [Codec], encoding/json. With Strict, a payload with
// fields the type does not have, or with trailing data, fails to decode.
type JSON struct {
	Strict bool
}

// Marshal encodes v as JSON.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (c JSON) Unmarshal(data []byte, v any) error {
	if !c.Strict {
		return json.Unmarshal(data, v)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

var _ Codec = JSON{}
