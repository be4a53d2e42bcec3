package platform

import (
	"encoding/json"
	"fmt"

	"github.com/switchyard-hub/switchyard/seal"
)

// VaultConfig is the key ring integrations' credentials and subscriptions' secrets are sealed
// with. Unset, the payload key ring (PAYLOAD_KEYS) seals them, under purposes of their own.
type VaultConfig struct {
	// Keys is "id:base64key,..." like PAYLOAD_KEYS. Keep every key that sealed a stored value.
	Keys string `envconfig:"SECRET_KEYS"`
	// KeyID is the key new values are sealed with; optional with one key.
	KeyID string `envconfig:"SECRET_KEY_ID"`
}

// NewVaultFromConfig builds the vault from SECRET_KEYS, or from the payload ring when it is unset.
func NewVaultFromConfig(cfg VaultConfig, payloadKeys, payloadKeyID string) (*Vault, error) {
	spec, id, name := cfg.Keys, cfg.KeyID, "SECRET_KEYS / SECRET_KEY_ID"
	if spec == "" {
		spec, id, name = payloadKeys, payloadKeyID, "PAYLOAD_KEYS / PAYLOAD_KEY_ID"
	}
	keys, err := seal.ParseKeys(spec, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return NewVault(keys), nil
}

// Vault seals integrations' credentials, subscriptions' signing secrets, sites' api keys and
// card data for storage, each under its own purpose (a value sealed for one does not open as
// another), and opens them again. It is built from SECRET_KEYS (or, unset, the payload key
// ring).
type Vault struct {
	credentials   *seal.Box
	subscriptions *seal.Box
	siteKeys      *seal.Box
	cards         *seal.Box
	keys          *seal.Keys
}

// NewVault returns a vault sealing under keys.
func NewVault(keys *seal.Keys) *Vault {
	return &Vault{credentials: seal.NewBox(keys, "integration-credentials"),
		subscriptions: seal.NewBox(keys, "subscription-secret"), siteKeys: seal.NewBox(keys, "site-api-key"),
		cards: seal.NewBox(keys, "card-data"), keys: keys}
}

// SealCredentials encrypts credentials for the integrations table.
func (v *Vault) SealCredentials(c Credentials) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return v.credentials.Seal(b)
}

// OpenCredentials decrypts what SealCredentials wrote.
func (v *Vault) OpenCredentials(sealed string) (Credentials, error) {
	b, err := v.credentials.Open(sealed)
	if err != nil {
		return Credentials{}, fmt.Errorf("opening integration credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("opening integration credentials: %w", err)
	}
	return c, nil
}

// SealSecret encrypts a subscription's signing secret.
func (v *Vault) SealSecret(secret string) (string, error) {
	return v.subscriptions.Seal([]byte(secret))
}

// OpenSecret decrypts what SealSecret wrote.
func (v *Vault) OpenSecret(sealed string) (string, error) {
	b, err := v.subscriptions.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("opening subscription secret: %w", err)
	}
	return string(b), nil
}

// SealSiteKey encrypts a site's api key (the key its plugin presents).
func (v *Vault) SealSiteKey(key string) (string, error) {
	return v.siteKeys.Seal([]byte(key))
}

// OpenSiteKey decrypts what SealSiteKey wrote.
func (v *Vault) OpenSiteKey(sealed string) (string, error) {
	b, err := v.siteKeys.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("opening site api key: %w", err)
	}
	return string(b), nil
}

// SealCardSecret encrypts card data the hub keeps (a card number, a payment method's details).
func (v *Vault) SealCardSecret(s string) (string, error) {
	return v.cards.Seal([]byte(s))
}

// OpenCardSecret decrypts what SealCardSecret wrote; a value sealed under another purpose
// does not open.
func (v *Vault) OpenCardSecret(sealed string) (string, error) {
	b, err := v.cards.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("opening card data: %w", err)
	}
	return string(b), nil
}

// Open builds an integration from its stored form: the sealed credentials are opened and the
// config document decoded.
func (v *Vault) Open(id, name, platform, sealedCredentials string, config []byte, active bool) (Integration, error) {
	creds, err := v.OpenCredentials(sealedCredentials)
	if err != nil {
		return Integration{}, err
	}
	in := Integration{ID: id, Name: name, Platform: Name(platform), Credentials: creds, Active: active}
	if len(config) > 0 {
		if err := json.Unmarshal(config, &in.Config); err != nil {
			return Integration{}, fmt.Errorf("integration config: %w", err)
		}
	}
	return in, nil
}

// CardFingerprint is a keyed digest of a card number (seal.Keys.MAC, purpose
// "card-fingerprint"): two requests for the same card compare equal, and the digest tells
// nothing of the number without the key.
func (v *Vault) CardFingerprint(number string) string {
	return v.keys.MAC([]byte(number), "card-fingerprint")
}
