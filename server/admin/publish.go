package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/match"
	pjson "github.com/whispeer-io/whispeer/protocol/json"
)

// PublishRequest is the body of POST /api/publish and one message of a
// batch. Payload and Encoding are those of the JSON protocol's publish:
// any JSON value, sent as its bytes; with "encoding":"text" a JSON string
// whose text is sent; with "encoding":"base64" {"base64":"…"}.
type PublishRequest struct {
	Topic     string            `json:"topic"`
	Payload   json.RawMessage   `json:"payload"`
	Encoding  string            `json:"encoding,omitempty"`
	Sealed    bool              `json:"sealed,omitempty"` // the payload is an envelope, passed untouched
	Headers   map[string]string `json:"headers,omitempty"`
	MessageID string            `json:"message_id,omitempty"` // required at QoS 2
	QoS       uint8             `json:"qos,omitempty"`        // 0, 1 or 2
}

// BatchRequest is the body of POST /api/publish/batch.
type BatchRequest struct {
	Messages []PublishRequest `json:"messages"`
}

// Published is the body of a successful POST /api/publish and, with Error
// and Code, one result of a batch. Offset and Epoch are always written for
// a message accepted, Duplicate only when true, Error and Code only for a
// message refused.
type Published struct {
	Offset    uint64 `json:"offset,omitempty"`
	Epoch     uint64 `json:"epoch,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"` // a QoS 2 retry, not delivered again
	Error     string `json:"error,omitempty"`
	Code      string `json:"code,omitempty"`
}

// BatchResponse is the body of POST /api/publish/batch: one result per
// message, in their order.
type BatchResponse struct {
	Results []Published `json:"results"`
}

// registerPublish mounts the publish endpoints on mux.
func (h *Handler) registerPublish(mux *http.ServeMux) {
	mux.Handle("POST /api/publish", h.app(h.backend(h.publish)))
	mux.Handle("POST /api/publish/batch", h.app(h.backend(h.publishBatch)))
	mux.Handle("/api/publish", h.app(ignoreCaller(notAllowed("POST"))))
	mux.Handle("/api/publish/batch", h.app(ignoreCaller(notAllowed("POST"))))
}

// ignoreCaller adapts f to an endpoint of h.app.
func ignoreCaller(f http.HandlerFunc) func(*caller, http.ResponseWriter, *http.Request) {
	return func(_ *caller, w http.ResponseWriter, r *http.Request) { f(w, r) }
}

// backend answers 404 when the source is no Backend, else runs f.
func (h *Handler) backend(f func(Backend, *caller, http.ResponseWriter, *http.Request)) func(*caller, http.ResponseWriter, *http.Request) {
	return func(c *caller, w http.ResponseWriter, r *http.Request) {
		b, ok := h.src.(Backend)
		if !ok {
			writeError(w, http.StatusNotFound, "this server publishes nothing for backends")
			return
		}
		f(b, c, w, r)
	}
}

func (h *Handler) publish(b Backend, c *caller, w http.ResponseWriter, r *http.Request) {
	var req PublishRequest
	if !decodeBody(w, r, h.limits.MaxBodyBytes, &req) {
		return
	}
	p, e := c.publication(&req)
	if e != nil {
		writeError(w, StatusOf(e.Code), e.Message)
		return
	}
	if !c.allowPublish(1) {
		writeRateError(w, c)
		return
	}
	res := b.Publish(r.Context(), []Publication{p})[0]
	if res.Err != nil {
		writeError(w, StatusOf(whispeer.ErrorCode(res.Err)), errorText(res.Err))
		return
	}
	writeRaw(w, http.StatusOK, append(appendPublished(nil, resultBody(res)), '\n'))
}

func (h *Handler) publishBatch(b Backend, c *caller, w http.ResponseWriter, r *http.Request) {
	var req BatchRequest
	if !decodeBody(w, r, h.limits.MaxBatchBodyBytes, &req) {
		return
	}
	if n := len(req.Messages); n == 0 || n > h.limits.MaxBatch {
		status := http.StatusBadRequest
		if n > 0 {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, "a batch holds 1 to "+strconv.Itoa(h.limits.MaxBatch)+" messages, got "+strconv.Itoa(n))
		return
	}
	out := make([]Published, len(req.Messages))
	ps := make([]Publication, 0, len(req.Messages))
	at := make([]int, 0, len(req.Messages)) // the index in out of each of ps
	for i := range req.Messages {
		p, e := c.publication(&req.Messages[i])
		if e != nil {
			out[i] = Published{Error: e.Message, Code: e.Code.String()}
			continue
		}
		ps, at = append(ps, p), append(at, i)
	}
	if len(ps) > 0 && !c.allowPublish(len(ps)) {
		writeRateError(w, c)
		return
	}
	if len(ps) > 0 {
		for j, res := range b.Publish(r.Context(), ps) {
			out[at[j]] = resultBody(res)
		}
	}
	body := make([]byte, 0, 16+48*len(out))
	body = append(body, `{"results":[`...)
	for i := range out {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendPublished(body, out[i])
	}
	writeRaw(w, http.StatusOK, append(body, "]}\n"...))
}

// appendPublished appends p as JSON, written by hand: a batch's answer
// costs a fraction of what encoding/json takes for it.
func appendPublished(b []byte, p Published) []byte {
	b = append(b, '{')
	if p.Error != "" {
		b = append(b, `"error":`...)
		b = pjson.AppendString(b, p.Error)
		b = append(b, `,"code":`...)
		b = pjson.AppendString(b, p.Code)
		return append(b, '}')
	}
	b = append(b, `"offset":`...)
	b = strconv.AppendUint(b, p.Offset, 10)
	b = append(b, `,"epoch":`...)
	b = strconv.AppendUint(b, p.Epoch, 10)
	if p.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	return append(b, '}')
}

// writeRaw writes body, JSON, with status.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body) // the client went away
}

// writeRateError answers 429 to a request past the caller's publish rate.
func writeRateError(w http.ResponseWriter, c *caller) {
	writeError(w, http.StatusTooManyRequests, "the key "+strconv.Quote(c.name)+" publishes at most "+
		strconv.Itoa(c.key.MaxPublishRate)+" messages a second, in bursts of as many: try again later")
}

// resultBody returns the body of res.
func resultBody(res Result) Published {
	if res.Err != nil {
		return Published{Error: errorText(res.Err), Code: whispeer.ErrorCode(res.Err).String()}
	}
	return Published{Offset: res.Offset, Epoch: res.Epoch, Duplicate: res.Duplicate}
}

// publication checks req and returns what the caller publishes, or why it
// may not.
func (c *caller) publication(req *PublishRequest) (Publication, *whispeer.Error) {
	invalid := func(msg string) (Publication, *whispeer.Error) {
		return Publication{}, &whispeer.Error{Code: whispeer.CodeInvalid, Message: msg}
	}
	if err := match.ValidateTopic(req.Topic, match.DefaultLimits); err != nil {
		return invalid("invalid topic " + boundedQuote(req.Topic) + ": " + err.Error())
	}
	if !c.mayPublish(req.Topic) {
		return Publication{}, &whispeer.Error{Code: whispeer.CodeForbidden,
			Message: "the key " + strconv.Quote(c.name) + " may not publish to " + strconv.Quote(req.Topic)}
	}
	switch {
	case len(req.Payload) == 0:
		return invalid(`field "payload" is required`)
	case req.QoS > 2:
		return invalid(`field "qos" must be 0, 1 or 2`)
	case req.QoS == 2 && req.MessageID == "":
		return invalid(`field "message_id" is required at QoS 2`)
	case len(req.MessageID) > whispeer.MaxIDBytes:
		return invalid(`field "message_id" is longer than ` + strconv.Itoa(whispeer.MaxIDBytes) + " bytes")
	}
	f := pjson.Frame{Payload: req.Payload}
	switch req.Encoding {
	case "", "json":
	case "text":
		f.Encoding = pjson.EncodingText
	case "base64":
		f.Encoding = pjson.EncodingBase64
	default:
		return invalid(`field "encoding" must be "json", "text" or "base64"`)
	}
	payload, err := f.PayloadBytes(nil)
	if err != nil {
		return invalid(errorText(err))
	}
	if req.Sealed && !envelope.IsEnvelope(payload) {
		return invalid("the payload is declared an envelope but does not start like one")
	}
	return Publication{Topic: req.Topic, Payload: payload, ID: req.MessageID, QoS: req.QoS,
		Headers: req.Headers, Sealed: req.Sealed, Publisher: c.Publisher()}, nil
}

// decodeBody decodes r's JSON body, at most limit bytes, into v, or
// answers 400 or 413 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, int64(limit)))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(new(json.RawMessage)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return true
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeError(w, http.StatusRequestEntityTooLarge, "body longer than "+strconv.Itoa(limit)+" bytes")
		return false
	}
	writeError(w, http.StatusBadRequest, "body is not the JSON this endpoint takes: "+bounded(err.Error()))
	return false
}

// errorText returns an error's text without the "whispeer: " prefix.
func errorText(err error) string {
	s := err.Error()
	if len(s) > 10 && s[:10] == "whispeer: " {
		return s[10:]
	}
	return s
}

// maxEcho is the most bytes of a client's input that an error repeats.
const maxEcho = 200

// bounded returns s cut to maxEcho bytes.
func bounded(s string) string {
	if len(s) > maxEcho {
		return s[:maxEcho] + "…"
	}
	return s
}

// boundedQuote quotes s cut to maxEcho bytes.
func boundedQuote(s string) string { return strconv.Quote(bounded(s)) }
