package worker_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/seal"
	"github.com/switchyard-hub/switchyard/worker"
)

const testPAN = "4111111111111111"

type transferLike struct {
	PAN     string            `json:"pan"`
	Headers map[string]string `json:"headers"`
}

func newCodec(t *testing.T, keys, current string) *worker.Codec {
	t.Helper()
	c, err := worker.NewCodec(worker.PayloadConfig{Keys: keys, KeyID: current})
	require.NoError(t, err)
	return c
}

func genKey(t *testing.T, id string) string {
	t.Helper()
	k, err := seal.GenerateKey(id)
	require.NoError(t, err)
	return k
}

func TestCodec(t *testing.T) {
	t.Parallel()
	k1, k2 := genKey(t, "k1"), genKey(t, "k2")
	in := transferLike{PAN: testPAN, Headers: map[string]string{"X-Upstream-Api-Key": "upstream-key-9d2c"}}

	t.Run("payloads are encrypted under the current key and decode to the value", func(t *testing.T) {
		dc := newCodec(t, k1, "").DataConverter()
		p, err := dc.ToPayload(in)
		require.NoError(t, err)
		require.Equal(t, worker.EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
		require.Equal(t, "k1", string(p.Metadata[worker.MetadataKeyID]))
		require.False(t, bytes.Contains(p.Data, []byte(testPAN)), "no card number in the payload")
		require.False(t, bytes.Contains(p.Data, []byte("upstream-key-9d2c")))
		require.False(t, bytes.Contains(p.Data, []byte("json/plain")), "the inner encoding is encrypted too")
		var out transferLike
		require.NoError(t, dc.FromPayload(p, &out))
		require.Equal(t, in, out)
	})

	t.Run("after a rotation, payloads written under the old key still decode", func(t *testing.T) {
		old, err := newCodec(t, k1, "").DataConverter().ToPayload(in)
		require.NoError(t, err)
		rotated := newCodec(t, k1+","+k2, "k2").DataConverter()
		var out transferLike
		require.NoError(t, rotated.FromPayload(old, &out))
		require.Equal(t, in, out)
		fresh, err := rotated.ToPayload(in)
		require.NoError(t, err)
		require.Equal(t, "k2", string(fresh.Metadata[worker.MetadataKeyID]))
	})

	t.Run("a payload under a retired key is refused, not passed through", func(t *testing.T) {
		p, err := newCodec(t, k1, "").DataConverter().ToPayload(in)
		require.NoError(t, err)
		_, err = newCodec(t, k2, "").Decode([]*commonpb.Payload{p})
		require.ErrorIs(t, err, seal.ErrUnknownKey)
	})

	t.Run("a tampered payload is refused", func(t *testing.T) {
		c := newCodec(t, k1, "")
		p, err := c.DataConverter().ToPayload(in)
		require.NoError(t, err)
		p.Data[len(p.Data)-1] ^= 1
		_, err = c.Decode([]*commonpb.Payload{p})
		require.ErrorIs(t, err, seal.ErrTampered)
	})

	t.Run("clear payloads (a CLI signal without a codec, older runs) pass through", func(t *testing.T) {
		plain, err := converter.GetDefaultDataConverter().ToPayload(in)
		require.NoError(t, err)
		var out transferLike
		require.NoError(t, newCodec(t, k1, "").DataConverter().FromPayload(plain, &out))
		require.Equal(t, in, out)
	})

	t.Run("failure messages are encrypted too", func(t *testing.T) {
		dc := newCodec(t, k1, "").DataConverter()
		fc := worker.FailureConverter(dc)
		f := fc.ErrorToFailure(temporal.NewApplicationError("card "+testPAN+" refused", "Declined"))
		require.NotContains(t, f.String(), testPAN)
		err := fc.FailureToError(f)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr))
		require.Contains(t, appErr.Error(), testPAN)
		require.Equal(t, "Declined", appErr.Type())
	})
}

func TestNewCodecNeedsKeys(t *testing.T) {
	t.Parallel()
	_, err := worker.NewCodec(worker.PayloadConfig{})
	require.ErrorIs(t, err, worker.ErrNoPayloadKeys)
	_, err = worker.NewCodec(worker.PayloadConfig{Keys: "k1:short"})
	require.Error(t, err)
	k1, k2 := genKey(t, "k1"), genKey(t, "k2")
	_, err = worker.NewCodec(worker.PayloadConfig{Keys: k1 + "," + k2})
	require.Error(t, err, "two keys need PAYLOAD_KEY_ID")
	c, err := worker.NewCodec(worker.PayloadConfig{Keys: k1 + "," + k2, KeyID: "k2"})
	require.NoError(t, err)
	require.Equal(t, "k2", c.KeyID())
}

func BenchmarkCodec(b *testing.B) {
	spec, _ := seal.GenerateKey("k1")
	c, _ := worker.NewCodec(worker.PayloadConfig{Keys: spec})
	dc := c.DataConverter()
	in := transferLike{PAN: testPAN, Headers: map[string]string{"Content-Type": "application/json", "Accept": "*/*"}}
	for b.Loop() {
		p, err := dc.ToPayload(in)
		if err != nil {
			b.Fatal(err)
		}
		var out transferLike
		if err := dc.FromPayload(p, &out); err != nil {
			b.Fatal(err)
		}
	}
}
