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
// hub's own rules (msisdn, nocontrol) and JSON field names in its errors.
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
	return v
}
