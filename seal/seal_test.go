package seal_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-hub/switchyard/seal"
)

func ring(t *testing.T, current string, ids ...string) (*seal.Keys, string) {
	t.Helper()
	var specs []string
	for _, id := range ids {
		spec, err := seal.GenerateKey(id)
		require.NoError(t, err)
		specs = append(specs, spec)
	}
	spec := strings.Join(specs, ",")
	keys, err := seal.ParseKeys(spec, current)
	require.NoError(t, err)
	return keys, spec
}

func TestBox(t *testing.T) {
	t.Parallel()
	const secret = "client-secret-7f3e"

	t.Run("what is sealed opens, and the stored form shows neither the secret nor the key", func(t *testing.T) {
		keys, spec := ring(t, "", "k1")
		box := seal.NewBox(keys, "webhook-credentials")
		sealed, err := box.Seal([]byte(secret))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(sealed, "k1:"), sealed)
		require.NotContains(t, sealed, secret)
		require.NotContains(t, sealed, strings.TrimPrefix(spec, "k1:"))
		again, err := box.Seal([]byte(secret))
		require.NoError(t, err)
		require.NotEqual(t, sealed, again, "every seal is fresh")
		got, err := box.Open(sealed)
		require.NoError(t, err)
		require.Equal(t, secret, string(got))
	})

	t.Run("after a rotation, values sealed under the old key still open", func(t *testing.T) {
		_, oldSpec := ring(t, "", "k1")
		oldKeys, err := seal.ParseKeys(oldSpec, "")
		require.NoError(t, err)
		sealed, err := seal.NewBox(oldKeys, "p").Seal([]byte(secret))
		require.NoError(t, err)

		newSpec, err := seal.GenerateKey("k2")
		require.NoError(t, err)
		rotated, err := seal.ParseKeys(oldSpec+","+newSpec, "k2")
		require.NoError(t, err)
		box := seal.NewBox(rotated, "p")
		require.True(t, box.NeedsRotation(sealed))
		got, err := box.Open(sealed)
		require.NoError(t, err)
		require.Equal(t, secret, string(got))

		resealed, err := box.Seal(got)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(resealed, "k2:"), "new values use the current key")
		require.False(t, box.NeedsRotation(resealed))
	})

	t.Run("a tampered value does not open", func(t *testing.T) {
		keys, _ := ring(t, "", "k1")
		box := seal.NewBox(keys, "p")
		sealed, err := box.Seal([]byte(secret))
		require.NoError(t, err)
		id, encoded, _ := strings.Cut(sealed, ":")
		ct, err := base64.RawURLEncoding.DecodeString(encoded)
		require.NoError(t, err)
		for i := range ct {
			flipped := append([]byte(nil), ct...)
			flipped[i] ^= 0x01
			_, err := box.Open(id + ":" + base64.RawURLEncoding.EncodeToString(flipped))
			require.Error(t, err, "byte %d flipped", i)
		}
		_, err = box.Open(id + ":" + base64.RawURLEncoding.EncodeToString(ct[:len(ct)-1]))
		require.ErrorIs(t, err, seal.ErrTampered, "truncated")
		for _, bad := range []string{"", "k1", "k1:!!!", "no key id:abc", "k1:" + base64.RawURLEncoding.EncodeToString([]byte{1, 2, 3})} {
			_, err := box.Open(bad)
			require.ErrorIs(t, err, seal.ErrMalformed, "%q", bad)
		}
	})

	t.Run("a value sealed under a key the ring does not hold is refused", func(t *testing.T) {
		keys, _ := ring(t, "", "k1")
		other, _ := ring(t, "", "k9")
		sealed, err := seal.NewBox(other, "p").Seal([]byte(secret))
		require.NoError(t, err)
		_, err = seal.NewBox(keys, "p").Open(sealed)
		require.ErrorIs(t, err, seal.ErrUnknownKey)
	})

	t.Run("a key of the same id but other bytes does not open it", func(t *testing.T) {
		a, _ := ring(t, "", "k1")
		b, _ := ring(t, "", "k1")
		sealed, err := seal.NewBox(a, "p").Seal([]byte(secret))
		require.NoError(t, err)
		_, err = seal.NewBox(b, "p").Open(sealed)
		require.ErrorIs(t, err, seal.ErrTampered)
	})

	t.Run("a value sealed for one purpose does not open for another", func(t *testing.T) {
		keys, _ := ring(t, "", "k1")
		sealed, err := seal.NewBox(keys, "webhook-credentials").Seal([]byte(secret))
		require.NoError(t, err)
		_, err = seal.NewBox(keys, "sync-credentials").Open(sealed)
		require.ErrorIs(t, err, seal.ErrTampered)
	})

	t.Run("a value moved to another key id does not open", func(t *testing.T) {
		keys, _ := ring(t, "k1", "k1", "k2")
		box := seal.NewBox(keys, "p")
		sealed, err := box.Seal([]byte(secret))
		require.NoError(t, err)
		_, err = box.Open("k2" + strings.TrimPrefix(sealed, "k1"))
		require.ErrorIs(t, err, seal.ErrTampered)
	})
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k1, err := seal.GenerateKey("k1")
	require.NoError(t, err)
	k2, err := seal.GenerateKey("k2")
	require.NoError(t, err)
	short := "k3:" + base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))

	keys, err := seal.ParseKeys(" "+k1+" , "+k2+" ", "k2")
	require.NoError(t, err)
	require.Equal(t, "k2", keys.Current())
	require.Equal(t, []string{"k1", "k2"}, keys.IDs())
	for _, printed := range []string{keys.String(), fmt.Sprintf("%v %+v %#v", keys, keys, keys)} {
		require.NotContains(t, printed, strings.TrimPrefix(k1, "k1:"), "key bytes never print")
	}

	one, err := seal.ParseKeys(k1, "")
	require.NoError(t, err)
	require.Equal(t, "k1", one.Current(), "a single key is the current one")

	for name, tc := range map[string]struct{ spec, current string }{
		"no keys":                 {"", ""},
		"two keys and no current": {k1 + "," + k2, ""},
		"an unknown current key":  {k1, "k9"},
		"a duplicate id":          {k1 + "," + k1, "k1"},
		"a short key":             {short, ""},
		"not base64":              {"k1:not base64!", ""},
		"no id":                   {":" + strings.TrimPrefix(k1, "k1:"), ""},
		"a bad id":                {"k 1:" + strings.TrimPrefix(k1, "k1:"), ""},
	} {
		_, err := seal.ParseKeys(tc.spec, tc.current)
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), strings.TrimPrefix(k1, "k1:"), "%s: errors never show a key", name)
	}
	_, err = seal.ParseKeys("", "")
	require.ErrorIs(t, err, seal.ErrNoKeys)
}

func BenchmarkEncrypt(b *testing.B) {
	spec, _ := seal.GenerateKey("k1")
	keys, _ := seal.ParseKeys(spec, "")
	payload := []byte(strings.Repeat(`{"json":"payload"}`, 64))
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, _, err := keys.Encrypt(payload, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// A MAC is the same for the same data, purpose and key; it changes with any of them, and it
// does not hold the data.
func TestMAC(t *testing.T) {
	one, err := seal.GenerateKey("one")
	require.NoError(t, err)
	two, err := seal.GenerateKey("two")
	require.NoError(t, err)
	keys, err := seal.ParseKeys(one+","+two, "one")
	require.NoError(t, err)
	other, err := seal.ParseKeys(one+","+two, "two")
	require.NoError(t, err)
	const card = "4242424242424242"
	mac := keys.MAC([]byte(card), "card-fingerprint")
	require.Equal(t, mac, keys.MAC([]byte(card), "card-fingerprint"))
	require.True(t, strings.HasPrefix(mac, "one:"), mac)
	require.NotContains(t, mac, "4242")
	require.NotEqual(t, mac, keys.MAC([]byte("4000056655664242"), "card-fingerprint"), "another number")
	require.NotEqual(t, mac, keys.MAC([]byte(card), "another-purpose"), "another purpose")
	require.NotEqual(t, mac, other.MAC([]byte(card), "card-fingerprint"), "another current key")
}
