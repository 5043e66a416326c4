package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/whispeer-io/whispeer/internal/match"
)

// SubjectPlaceholder stands for a token's subject in the topic patterns of
// an issuer and of a token's "whispeer" claim: "users/{sub}/#" grants the
// user "alice" the topics under "users/alice".
const SubjectPlaceholder = "{sub}"

// MaxGrantPatterns bounds the patterns of each list of a token's
// "whispeer" claim.
const MaxGrantPatterns = 64

// GrantClaim is the "whispeer" claim of an application's token: the topic
// patterns its user may publish to (Pub) and subscribe to (Sub), each
// within what the issuer may grant. A token without the claim is granted
// all the issuer may grant.
type GrantClaim struct {
	Pub []string `json:"pub"`
	Sub []string `json:"sub"`
}

// grants are an issuer's topic patterns: the most its tokens may grant.
type grants struct {
	publish, subscribe []string
	needsSubject       bool // a pattern holds SubjectPlaceholder
}

// newGrants checks an issuer's patterns, with a stand-in for the subject.
func newGrants(publish, subscribe []string) (grants, error) {
	g := grants{publish: publish, subscribe: subscribe}
	for _, list := range [][]string{publish, subscribe} {
		for _, p := range list {
			g.needsSubject = g.needsSubject || strings.Contains(p, SubjectPlaceholder)
			if err := match.ValidatePattern(substitute(p, "x"), match.DefaultLimits); err != nil {
				return g, fmt.Errorf("pattern %q: %w", p, err)
			}
		}
	}
	return g, nil
}

// substitute puts subject in place of SubjectPlaceholder in pattern.
func substitute(pattern, subject string) string {
	if !strings.Contains(pattern, SubjectPlaceholder) {
		return pattern
	}
	return strings.ReplaceAll(pattern, SubjectPlaceholder, subject)
}

// validLevel reports whether subject can stand in a topic as one level
// that is no wildcard, so that substituting it widens no pattern.
func validLevel(subject string) error {
	if subject == "" || strings.Contains(subject, "/") || match.IsPattern(subject) {
		return errors.New("subject is not a single topic level")
	}
	return match.ValidateTopic(subject, match.DefaultLimits)
}

// user returns the user that a token of subject with claim c (nil when the
// token has none) may act as: c's patterns, each covered by the issuer's,
// or the issuer's when c is nil. It fails when c asks for more than the
// issuer may grant, has an invalid pattern, or when a pattern names the
// subject and the subject is not one topic level.
func (g grants) user(subject string, c *GrantClaim) (*User, error) {
	needs := g.needsSubject
	if c != nil {
		if len(c.Pub) > MaxGrantPatterns || len(c.Sub) > MaxGrantPatterns {
			return nil, fmt.Errorf("claim \"whispeer\" holds more than %d patterns in a list", MaxGrantPatterns)
		}
		for _, p := range append(c.Pub[:len(c.Pub):len(c.Pub)], c.Sub...) {
			needs = needs || strings.Contains(p, SubjectPlaceholder)
		}
	}
	if needs {
		if err := validLevel(subject); err != nil {
			return nil, err
		}
	}
	pub := substituteAll(g.publish, subject)
	sub := substituteAll(g.subscribe, subject)
	if c != nil {
		var err error
		if pub, err = narrow(pub, substituteAll(c.Pub, subject), "publish to"); err != nil {
			return nil, err
		}
		if sub, err = narrow(sub, substituteAll(c.Sub, subject), "subscribe to"); err != nil {
			return nil, err
		}
	}
	u := &User{name: subject, publish: pub}
	for _, p := range sub {
		u.subscribe = append(u.subscribe, strings.Split(p, "/"))
	}
	return u, nil
}

// substituteAll is substitute on every pattern of list.
func substituteAll(list []string, subject string) []string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = substitute(p, subject)
	}
	return out
}

// narrow checks that each pattern asked for is valid and covered by
// allowed, and returns them.
func narrow(allowed, asked []string, op string) ([]string, error) {
	for _, p := range asked {
		if err := match.ValidatePattern(p, match.DefaultLimits); err != nil {
			return nil, fmt.Errorf("claim \"whispeer\": pattern %q: %w", p, err)
		}
		if !Covers(allowed, p) {
			return nil, fmt.Errorf("claim \"whispeer\" grants more than the issuer may: %s %q", op, p)
		}
	}
	return asked, nil
}
