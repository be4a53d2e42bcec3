package worker

import (
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-hub/switchyard/seal"
)

// Metadata of an encrypted payload.
const (
	// EncodingEncrypted is the "encoding" of a payload the codec encrypted.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key a payload was encrypted with.
	MetadataKeyID = "encryption-key-id"
	// payloadPurpose binds payload ciphertexts to this use (see seal).
	payloadPurpose = "temporal-payload"
)

// PayloadConfig holds the keys that encrypt every Temporal payload: workflow and activity inputs
// and results, signals, queries, memos and failure details. A card number, a client's request
// headers or a provider's answer never reach Temporal in clear.
type PayloadConfig struct {
	// Keys is the key ring, "id:base64key,..." (32 random bytes each: openssl rand -base64 32).
	// Required, except under `switchyard dev`, which generates a key and keeps it under .data/.
	Keys string `envconfig:"PAYLOAD_KEYS"`
	// KeyID is the key new payloads are encrypted with; optional when PAYLOAD_KEYS holds one key.
	// Rotate by adding a key to PAYLOAD_KEYS, making it current here, and keeping the old one
	// for as long as histories it encrypted are kept (the namespace's retention).
	KeyID string `envconfig:"PAYLOAD_KEY_ID"`
}

// ErrNoPayloadKeys is returned when PAYLOAD_KEYS is empty.
var ErrNoPayloadKeys = errors.New("PAYLOAD_KEYS is not set: Temporal payloads hold card numbers and credentials and " +
	"are always encrypted; set PAYLOAD_KEYS=k1:$(openssl rand -base64 32) (switchyard dev makes its own key)")

// Codec is the payload codec (converter.PayloadCodec) that encrypts payloads with the current key
// and decrypts them with whichever key of the ring encrypted them. A payload that is not
// encrypted (one written by `temporal workflow signal` without a codec, or before encryption was
// on) passes through unchanged.
type Codec struct {
	keys *seal.Keys
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec builds the codec from the configured key ring.
func NewCodec(cfg PayloadConfig) (*Codec, error) {
	if cfg.Keys == "" {
		return nil, ErrNoPayloadKeys
	}
	keys, err := seal.ParseKeys(cfg.Keys, cfg.KeyID)
	if err != nil {
		return nil, fmt.Errorf("PAYLOAD_KEYS / PAYLOAD_KEY_ID: %w", err)
	}
	return &Codec{keys: keys}, nil
}

// KeyID is the id of the key new payloads are encrypted with.
func (c *Codec) KeyID() string { return c.keys.Current() }

// Encode encrypts each payload, metadata and data together, under the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encoding a payload: %w", err)
		}
		keyID, ciphertext, err := c.keys.Encrypt(plain, payloadPurpose)
		if err != nil {
			return nil, fmt.Errorf("encrypting a payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(keyID),
			},
			Data: ciphertext,
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload; others pass through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		keyID := string(p.GetMetadata()[MetadataKeyID])
		plain, err := c.keys.Decrypt(keyID, p.GetData(), payloadPurpose)
		if err != nil {
			return nil, fmt.Errorf("decrypting a payload (key %q): %w", keyID, err)
		}
		decoded := &commonpb.Payload{}
		if err := proto.Unmarshal(plain, decoded); err != nil {
			return nil, fmt.Errorf("decoding a decrypted payload: %w", err)
		}
		out[i] = decoded
	}
	return out, nil
}

// DataConverter is the one data converter of every Temporal client and worker of the hub: the
// SDK's default JSON conversion, then the codec.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter encodes failures with the data converter, their messages and stack traces
// included (an upstream's error text can quote a request), so they are encrypted too.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: dc, EncodeCommonAttributes: true,
	})
}
