package provider

import "time"

// ESBTestClock is a relay's clock under a test's control.
type ESBTestClock struct{ now time.Time }

// Advance moves the clock on.
func (c *ESBTestClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// ESBClock gives the test e's clock.
func ESBClock(e *ESB) *ESBTestClock {
	c := &ESBTestClock{now: time.Now()}
	e.now = func() time.Time { return c.now }
	return c
}
