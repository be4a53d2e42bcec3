package api

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// CodeInvalidPath answers a proxied path that the hub and an upstream could read differently.
const CodeInvalidPath = "INVALID_PATH"

// pathPattern matches a channel's path_pattern against an incoming path. A pattern is an exact
// path, a path whose segments may be "*" (exactly one segment) and whose last segment may be
// "**" (the rest, possibly nothing), or a regular expression when it starts with "^". A single
// trailing slash is ignored on both sides.
type pathPattern struct {
	raw      string
	re       *regexp.Regexp
	segments []string
	rest     bool // ends with /**
}

const maxPatternLength = 512

func compilePattern(raw string) (pathPattern, error) {
	if raw == "" || len(raw) > maxPatternLength {
		return pathPattern{}, fmt.Errorf("must be 1 to %d characters", maxPatternLength)
	}
	if strings.HasPrefix(raw, "^") {
		re, err := regexp.Compile(raw)
		if err != nil {
			return pathPattern{}, fmt.Errorf("invalid regular expression: %v", err)
		}
		return pathPattern{raw: raw, re: re}, nil
	}
	if !strings.HasPrefix(raw, "/") {
		return pathPattern{}, fmt.Errorf("must start with / (a path) or ^ (a regular expression)")
	}
	p := pathPattern{raw: raw, segments: splitPath(raw)}
	for i, seg := range p.segments {
		switch {
		case seg == "**" && i == len(p.segments)-1:
			p.rest, p.segments = true, p.segments[:i]
		case seg == "**":
			return pathPattern{}, fmt.Errorf("** is only allowed as the last segment")
		case seg != "*" && strings.Contains(seg, "*"):
			return pathPattern{}, fmt.Errorf("* must be a whole segment")
		}
	}
	return p, nil
}

func (p pathPattern) match(path string) bool {
	if p.re != nil {
		return p.re.MatchString(path)
	}
	segs := splitPath(path)
	if len(segs) < len(p.segments) || (!p.rest && len(segs) != len(p.segments)) {
		return false
	}
	for i, want := range p.segments {
		if want != "*" && want != segs[i] {
			return false
		}
	}
	return true
}

// splitPath splits "/a/b/" into [a b]; "/" into [].
func splitPath(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

// checkPath refuses a proxied path that the hub and an upstream could read differently: dot
// segments ("/x/../payments", "/./", servlet-style "..;"), empty segments ("//"; a single trailing
// slash is fine), a backslash, control characters, and "/", "\\" or "." percent-encoded once or
// twice ("..%2f", "%2e%2e", "%252e"). Channels are matched on the path as it arrives and the
// upstream gets that same path, so a path that an upstream would normalise into another channel's
// is answered 400 instead of being matched as something else.
func checkPath(u *url.URL) error {
	invalid := func(reason string) error {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidPath, Message: "invalid path: " + reason,
			Details: map[string]any{"reason": reason}}
	}
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
