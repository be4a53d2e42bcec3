package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/switchyard-hub/switchyard/transaction"
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

// checkPath answers 400 INVALID_PATH, with the reason, to a path transaction.CheckPath refuses:
// one the hub and an upstream could read differently.
func checkPath(u *url.URL) error {
	var invalid *transaction.InvalidPathError
	if err := transaction.CheckPath(u); errors.As(err, &invalid) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidPath, Message: invalid.Error(),
			Details: map[string]any{"reason": invalid.Reason}}
	}
	return nil
}
