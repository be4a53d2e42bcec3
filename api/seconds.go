package api

import (
	"fmt"
	"strconv"
	"time"
)

// Seconds is a duration read from the environment either as a bare number of seconds ("30", the
// form the original mediator used) or as a Go duration ("30s", "1m30s").
type Seconds time.Duration

// Decode implements envconfig.Decoder.
func (s *Seconds) Decode(value string) error {
	if n, err := strconv.ParseFloat(value, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("negative duration %q", value)
		}
		*s = Seconds(time.Duration(n * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return fmt.Errorf("%q is neither seconds nor a duration like 30s", value)
	}
	if d < 0 {
		return fmt.Errorf("negative duration %q", value)
	}
	*s = Seconds(d)
	return nil
}

// Duration returns the value as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }
