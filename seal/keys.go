// Package seal encrypts what the hub must keep but never show: Temporal payloads (through the
// worker's payload codec) and credentials stored in PostgreSQL (through a Box). Keys are named:
// a key ring maps key ids to AES-256 keys and names the current one, every ciphertext records
// the id of the key that sealed it, so keys rotate (add a key, make it current) and what older
// keys sealed still opens.
//
// Each message is sealed with AES-256-GCM under a key of its own, derived with HMAC-SHA256 (NIST
// SP 800-108, counter mode) from the named key, a random 32-byte salt and the caller's purpose. Plain AES-GCM with
// random 96-bit nonces must not seal more than about 2^32 messages under one key; a busy hub
// writes that many payloads in weeks, so each message gets a fresh key instead, and a value
// sealed for one purpose (a Temporal payload, say) never opens as another (a stored credential).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// Sentinel errors. Messages never carry key material.
var (
	// ErrNoKeys: no key is configured.
	ErrNoKeys = errors.New("no encryption keys")
	// ErrUnknownKey: the ciphertext names a key id the ring does not hold.
	ErrUnknownKey = errors.New("unknown encryption key id")
	// ErrTampered: the ciphertext does not authenticate under its key (altered, truncated, sealed
	// for another purpose or under another key of the same id).
	ErrTampered = errors.New("ciphertext failed authentication")
	// ErrMalformed: the sealed value is not in a format this package writes.
	ErrMalformed = errors.New("malformed sealed value")
)

// formatV1 is the first byte of every ciphertext: version 1 is salt(32) || AES-256-GCM
// ciphertext and tag, under a zero nonce (each message's key is used once).
const (
	formatV1 = 1
	saltSize = 32
)

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Keys is a key ring: AES-256 keys by id, and the current one new data is sealed under.
// Its String never shows key material.
type Keys struct {
	current string
	keys    map[string][]byte
}

// ParseKeys reads a key ring from its textual form, "id:base64key,id:base64key" (standard base64
// of 32 random bytes, ids of letters, digits, '.', '_' and '-'). current names the key new data
// is sealed under; it may be empty when the ring holds one key.
func ParseKeys(spec, current string) (*Keys, error) {
	k := &Keys{keys: map[string][]byte{}}
	var order []string
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, encoded, ok := strings.Cut(entry, ":")
		id = strings.TrimSpace(id)
		if !ok || !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("key %d: want id:base64key with an id of letters, digits, '.', '_' or '-'", len(order)+1)
		}
		if _, dup := k.keys[id]; dup {
			return nil, fmt.Errorf("key id %q is listed twice", id)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
		if err != nil {
			return nil, fmt.Errorf("key %q is not standard base64", id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("key %q has %d bytes: want %d random bytes (openssl rand -base64 32)", id, len(key), KeySize)
		}
		k.keys[id] = key
		order = append(order, id)
	}
	switch {
	case len(order) == 0:
		return nil, ErrNoKeys
	case current == "" && len(order) == 1:
		current = order[0]
	case current == "":
		return nil, fmt.Errorf("%d keys are listed: name the current one (%s)", len(order), strings.Join(order, ", "))
	}
	if _, ok := k.keys[current]; !ok {
		return nil, fmt.Errorf("the current key %q is not listed (have %s)", current, strings.Join(order, ", "))
	}
	k.current = current
	return k, nil
}

// GenerateKey returns a new random key in the ring's textual form, "id:base64key".
func GenerateKey(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("key id %q: use letters, digits, '.', '_' or '-'", id)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// Current is the id of the key new data is sealed under.
func (k *Keys) Current() string { return k.current }

// IDs lists the ring's key ids, sorted.
func (k *Keys) IDs() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// String names the keys, never their bytes.
func (k *Keys) String() string {
	return fmt.Sprintf("seal.Keys{current: %s, ids: %v}", k.current, k.IDs())
}

// GoString is String, so %#v shows no key material either.
func (k *Keys) GoString() string { return k.String() }

// Encrypt seals plaintext under the current key for purpose, and returns the key's id with the
// ciphertext. The same purpose must be given to Decrypt.
func (k *Keys) Encrypt(plaintext []byte, purpose string) (keyID string, ciphertext []byte, err error) {
	out := make([]byte, 1+saltSize, 1+saltSize+len(plaintext)+16)
	out[0] = formatV1
	salt := out[1:]
	if _, err := rand.Read(salt); err != nil {
		return "", nil, err
	}
	aead, err := k.aead(k.current, salt, purpose)
	if err != nil {
		return "", nil, err
	}
	return k.current, aead.Seal(out, zeroNonce[:], plaintext, []byte(k.current)), nil
}

// Decrypt opens a ciphertext Encrypt sealed for purpose under the key named keyID.
func (k *Keys) Decrypt(keyID string, ciphertext []byte, purpose string) ([]byte, error) {
	if _, ok := k.keys[keyID]; !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	if len(ciphertext) < 1+saltSize+16 || ciphertext[0] != formatV1 {
		return nil, ErrMalformed
	}
	salt := ciphertext[1 : 1+saltSize]
	aead, err := k.aead(keyID, salt, purpose)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(nil, zeroNonce[:], ciphertext[1+saltSize:], []byte(keyID))
	if err != nil {
		return nil, ErrTampered
	}
	return plaintext, nil
}

var zeroNonce [12]byte

// macLabel separates MAC keys from message keys.
const macLabel = "switchyard mac v1: "

// MAC is a keyed digest of data for purpose under the current key, "<key id>:<hex>": equal data
// gives an equal MAC while the current key stays, and the MAC tells nothing of data without the
// key (so low-entropy values, a card number, can be compared without being kept). The MAC key
// is derived as the message keys are, with a label of its own and no salt.
func (k *Keys) MAC(data []byte, purpose string) string {
	derive := hmac.New(sha256.New, k.keys[k.current])
	derive.Write([]byte{0, 0, 0, 1})
	derive.Write([]byte(macLabel))
	derive.Write([]byte(purpose))
	derive.Write([]byte{0})
	derive.Write([]byte{0, 0, 1, 0})
	mac := hmac.New(sha256.New, derive.Sum(nil))
	mac.Write(data)
	return k.current + ":" + hex.EncodeToString(mac.Sum(nil))
}

const kdfLabel = "switchyard seal v1: "

// aead is AES-256-GCM under the message key derived from the named key, the purpose and the
// salt: one block of NIST SP 800-108's KDF in counter mode with HMAC-SHA256 (the named key is
// uniformly random, so HKDF's extract step would add nothing but time).
func (k *Keys) aead(keyID string, salt []byte, purpose string) (cipher.AEAD, error) {
	mac := hmac.New(sha256.New, k.keys[keyID])
	mac.Write([]byte{0, 0, 0, 1}) // counter
	mac.Write([]byte(kdfLabel))
	mac.Write([]byte(purpose))
	mac.Write([]byte{0}) // separates the label from the context
	mac.Write(salt)
	mac.Write([]byte{0, 0, 1, 0}) // 256 output bits
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
