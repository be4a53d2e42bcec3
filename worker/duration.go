package worker

import "time"

// Duration is a time.Duration read from the environment ("30s", "2m").
type Duration time.Duration

// Decode implements envconfig.Decoder.
func (d *Duration) Decode(v string) error {
	parsed, err := time.ParseDuration(v)
	*d = Duration(parsed)
	return err
}

// Duration returns the value as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }
