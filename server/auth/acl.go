package auth

import "strings"

// Covers reports whether the patterns in allowed, taken together, match
// every topic that pattern can match, so that a user allowed to subscribe
// to allowed may subscribe to pattern. Patterns have '/'-separated levels;
// "+" and "*" match any one level, and a last level "#" matches its parent
// level and any levels below. Examples:
//
//	Covers([]string{"chat/#"}, "chat/+")          // true
//	Covers([]string{"chat/#"}, "chat")            // true: "chat/#" matches "chat"
//	Covers([]string{"chat/+"}, "chat/#")          // false: "chat/#" matches "chat/a/b"
//	Covers([]string{"chat", "chat/+/#"}, "chat/#") // true, though neither does alone
//
// All patterns are expected to be valid (see match.ValidatePattern).
func Covers(allowed []string, pattern string) bool {
	split := make([][]string, len(allowed))
	for i, a := range allowed {
		split[i] = strings.Split(a, "/")
	}
	return covers(split, strings.Split(pattern, "/"))
}

// covers is Covers on patterns split into levels.
//
// It walks req level by level, keeping the allowed patterns that match
// the prefix of every topic req matches so far ("alive"). At level i:
//
//   - an alive pattern with "#" at i matches every continuation: covered;
//   - where req can end at i (its levels are used up, or it has "#" there,
//     which also matches zero levels below a non-empty prefix), an alive
//     pattern must end at i too;
//   - a literal level of req keeps the patterns with that literal or a
//     one-level wildcard at i;
//   - a wildcard level of req ("+", "*", or the one-or-more levels of a
//     "#") can take a value that no pattern names, which only one-level
//     wildcards match, so only those patterns stay alive. Any other value
//     keeps a superset of them, so checking this value suffices.
//
// req's "#" stays in place while i advances; the walk ends because alive
// patterns must be longer than i and there are finitely many.
func covers(allowed [][]string, req []string) bool {
	alive := allowed
	j := 0 // req[j] is the level of req at level i of the topic
	for i := 0; ; i++ {
		for _, a := range alive {
			if i < len(a) && a[i] == "#" {
				return true
			}
		}
		tail := j < len(req) && req[j] == "#"
		if j == len(req) || tail && i > 0 {
			ends := false
			for _, a := range alive {
				ends = ends || len(a) == i
			}
			if !ends {
				return false
			}
			if !tail {
				return true
			}
		}
		lit := ""
		if !tail && !isOneLevel(req[j]) {
			lit = req[j]
		}
		next := make([][]string, 0, len(alive))
		for _, a := range alive {
			if i < len(a) && (isOneLevel(a[i]) || lit != "" && a[i] == lit) {
				next = append(next, a)
			}
		}
		if len(next) == 0 {
			return false
		}
		alive = next
		if !tail {
			j++
		}
	}
}

// isOneLevel reports whether lvl is a one-level wildcard.
func isOneLevel(lvl string) bool { return lvl == "+" || lvl == "*" }
