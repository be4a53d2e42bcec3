package transaction

import (
	"net/url"
	"strings"
)

// InvalidPathError is a proxied path the hub refuses; Reason says why.
type InvalidPathError struct{ Reason string }

func (e *InvalidPathError) Error() string { return "invalid path: " + e.Reason }

// CheckPath refuses a proxied path that the hub and an upstream could read differently: dot
// segments ("/x/../payments", "/./", servlet-style "..;"), empty segments ("//"; a single trailing
// slash is fine), a backslash, control characters, and "/", "\\" or "." percent-encoded once or
// twice ("..%2f", "%2e%2e", "%252e"). Channels are matched on the path as it arrives and the
// upstream gets that same path, so a path an upstream would normalise into another channel's is
// refused instead of being matched as something else. A rerun checks the path it recovered
// (a row logged before paths were checked) by this same rule.
func CheckPath(u *url.URL) error {
	invalid := func(reason string) error { return &InvalidPathError{Reason: reason} }
	p := u.Path
	if !strings.HasPrefix(p, "/") {
		return invalid("must start with /")
	}
	if strings.Contains(p, `\`) {
		return invalid("backslashes are not allowed")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return invalid("control characters are not allowed")
		}
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		name, _, _ := strings.Cut(seg, ";")
		switch {
		case seg == "" && i < len(segs)-1:
			return invalid("empty segments (//) are not allowed")
		case name == "." || name == "..":
			return invalid("dot segments (. and ..) are not allowed")
		}
	}
	for _, s := range []string{strings.ToLower(u.EscapedPath()), strings.ToLower(p)} {
		for _, enc := range []string{"%2f", "%5c", "%2e"} {
			if strings.Contains(s, enc) {
				return invalid("encoded /, \\ or . is not allowed")
			}
		}
	}
	return nil
}

// CheckLoggedPath checks a path as a transaction's request carries it (the path as it arrived).
func CheckLoggedPath(path string) error {
	return CheckPath(&url.URL{Path: path, RawPath: path})
}
