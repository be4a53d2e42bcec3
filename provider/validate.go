package provider

import (
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"github.com/go-playground/validator/v10"
)

var msisdnPattern = regexp.MustCompile(`^\+?[0-9]{10,15}$`)

// NewValidator returns the validator of the typed requests: go-playground/validator with the
// hub's own rules (msisdn, nocontrol, resourceid) and JSON field names in its errors.
func NewValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	_ = v.RegisterValidation("msisdn", func(fl validator.FieldLevel) bool {
		return msisdnPattern.MatchString(fl.Field().String())
	})
	_ = v.RegisterValidation("nocontrol", func(fl validator.FieldLevel) bool {
		return !strings.ContainsFunc(fl.Field().String(), unicode.IsControl)
	})
	_ = v.RegisterValidation("resourceid", func(fl validator.FieldLevel) bool {
		return ValidResourceID(fl.Field().String())
	})
	return v
}

// ValidResourceID reports whether s can name a provider's resource in a URL path (the
// validator's resourceid rule): it starts with an ASCII letter or digit, so it is never . or ..,
// and holds no /.
func ValidResourceID(s string) bool {
	if s == "" || strings.Contains(s, "/") {
		return false
	}
	c := s[0]
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
