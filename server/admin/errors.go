package admin

import (
	"net/http"

	"github.com/whispeer-io/whispeer"
)

// ErrorBody is the body of every error the API answers: a text for people
// and the code of the protocols' errors for programs ("invalid",
// "unauthorized", "forbidden", "not_found", "conflict", "too_large",
// "limit", "unavailable" or "internal").
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// statusOfCode maps the class of a whispeer error to an HTTP status.
var statusOfCode = map[whispeer.Code]int{
	whispeer.CodeInternal:     http.StatusInternalServerError,
	whispeer.CodeInvalid:      http.StatusBadRequest,
	whispeer.CodeUnauthorized: http.StatusUnauthorized,
	whispeer.CodeForbidden:    http.StatusForbidden,
	whispeer.CodeNotFound:     http.StatusNotFound,
	whispeer.CodeConflict:     http.StatusConflict,
	whispeer.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	whispeer.CodeLimit:        http.StatusTooManyRequests,
	whispeer.CodeUnavailable:  http.StatusServiceUnavailable,
}

// StatusOf returns the HTTP status of an error of class code.
func StatusOf(code whispeer.Code) int {
	if s, ok := statusOfCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// codeOfStatus returns the name of the class of error that status answers.
func codeOfStatus(status int) string {
	switch status {
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return whispeer.CodeInvalid.String()
	}
	for c, s := range statusOfCode {
		if s == status {
			return c.String()
		}
	}
	return whispeer.CodeInternal.String()
}
