package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// MaxJTIBytes is the longest token id the revocation endpoint takes.
const MaxJTIBytes = 256

// maxRevokeBody bounds the body of POST /api/revocations.
const maxRevokeBody = 4096

// Revoker is a Source that can revoke applications' tokens by their
// "jti". The revocation endpoints answer 404 for a Source that is not one.
type Revoker interface {
	// Revoke denies the token id until exp, when the token expires, and
	// closes the connections authenticated with it, returning how many.
	Revoke(jti string, exp time.Time) (closed int, err error)
	// Revocations lists the denied ids whose tokens have not expired.
	Revocations() []Revocation
}

// Revocation is one revoked token: its "jti" and its "exp", in seconds
// since the Unix epoch, as the token carries them.
type Revocation struct {
	JTI string `json:"jti"`
	Exp int64  `json:"exp"`
}

// The bodies of the revocation endpoints.
type (
	// RevocationList is the body of GET /api/revocations.
	RevocationList struct {
		Revocations []Revocation `json:"revocations"`
	}
	// Revoked is the body of a successful POST /api/revocations.
	Revoked struct {
		Revocation
		Closed int `json:"closed"` // connections closed
	}
)

// registerRevocations mounts GET and POST /api/revocations on mux.
func (h *Handler) registerRevocations(mux *http.ServeMux) {
	mux.Handle("GET /api/revocations", h.api(h.revoker(h.revocations)))
	mux.Handle("POST /api/revocations", h.api(h.revoker(h.revoke)))
	mux.Handle("/api/revocations", h.api(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+": use GET or POST")
	}))
}

// revoker answers 404 when the source cannot revoke tokens, else runs f.
func (h *Handler) revoker(f func(Revoker, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rv, ok := h.src.(Revoker)
		if !ok {
			writeError(w, http.StatusNotFound, "this server revokes no tokens")
			return
		}
		f(rv, w, r)
	}
}

func (h *Handler) revocations(rv Revoker, w http.ResponseWriter, _ *http.Request) {
	list := RevocationList{Revocations: rv.Revocations()}
	if list.Revocations == nil {
		list.Revocations = []Revocation{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (h *Handler) revoke(rv Revoker, w http.ResponseWriter, r *http.Request) {
	var req Revocation
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRevokeBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, "body longer than "+strconv.Itoa(maxRevokeBody)+" bytes")
			return
		}
		writeError(w, http.StatusBadRequest, "body: want {\"jti\": string, \"exp\": seconds since the epoch}: "+err.Error())
		return
	}
	switch {
	case req.JTI == "" || len(req.JTI) > MaxJTIBytes:
		writeError(w, http.StatusBadRequest, "jti must hold 1 to "+strconv.Itoa(MaxJTIBytes)+" bytes")
		return
	case req.Exp <= h.opts.Now().Unix():
		writeError(w, http.StatusBadRequest, "exp must be the token's expiry, in the future: an expired token is refused anyway")
		return
	}
	closed, err := rv.Revoke(req.JTI, time.Unix(req.Exp, 0))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.log.Info("whispeer: token revoked by the admin API", "jti", req.JTI, "closed", closed, "admin_remote", r.RemoteAddr)
	writeJSON(w, http.StatusCreated, Revoked{Revocation: req, Closed: closed})
}
