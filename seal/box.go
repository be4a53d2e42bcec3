package seal

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Box seals credentials for storage in a text column: "<key id>:<base64 ciphertext>". It is
// bound to one purpose (say "webhook-credentials"): a value sealed by one box does not open in a
// box of another purpose, so a ciphertext copied between columns fails instead of decrypting.
type Box struct {
	keys    *Keys
	purpose string
}

// NewBox returns a box sealing under keys for purpose.
func NewBox(keys *Keys, purpose string) *Box {
	return &Box{keys: keys, purpose: "box: " + purpose}
}

// Seal encrypts plaintext under the current key.
func (b *Box) Seal(plaintext []byte) (string, error) {
	id, ct, err := b.keys.Encrypt(plaintext, b.purpose)
	if err != nil {
		return "", err
	}
	return id + ":" + base64.RawURLEncoding.EncodeToString(ct), nil
}

// Open decrypts what Seal wrote, under whichever key of the ring sealed it. It fails with
// ErrMalformed, ErrUnknownKey or ErrTampered.
func (b *Box) Open(sealed string) ([]byte, error) {
	id, encoded, ok := strings.Cut(sealed, ":")
	if !ok || !keyIDPattern.MatchString(id) {
		return nil, ErrMalformed
	}
	ct, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: the ciphertext is not base64", ErrMalformed)
	}
	return b.keys.Decrypt(id, ct, b.purpose)
}

// NeedsRotation reports whether a sealed value was written under a key other than the current
// one, so a background job can re-seal it (Open, then Seal) before the old key is retired.
func (b *Box) NeedsRotation(sealed string) bool {
	id, _, _ := strings.Cut(sealed, ":")
	return id != b.keys.Current()
}
