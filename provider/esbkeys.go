package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrESBSignature means a signature is missing, malformed or does not verify.
var ErrESBSignature = errors.New("ESB signature does not verify")

// ParseESBPrivateKey reads an ECDSA P-256 private key: PEM or base64 DER, PKCS#8 or SEC 1
// (what GovESB hands out as CLIENT_PRIVATE_KEY, in either of its usual shapes).
func ParseESBPrivateKey(s string) (*ecdsa.PrivateKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, err
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		if key, err = x509.ParseECPrivateKey(der); err != nil {
			return nil, errors.New("not a PKCS#8 or SEC 1 EC private key")
		}
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 private key")
	}
	return ec, nil
}

// ParseESBPublicKey reads an ECDSA P-256 public key: PEM or base64 DER, PKIX
// (SubjectPublicKeyInfo) or a certificate.
func ParseESBPublicKey(s string) (*ecdsa.PublicKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, err
	}
	var key any
	if key, err = x509.ParsePKIXPublicKey(der); err != nil {
		cert, cerr := x509.ParseCertificate(der)
		if cerr != nil {
			return nil, errors.New("not a PKIX EC public key or certificate")
		}
		key = cert.PublicKey
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key")
	}
	return ec, nil
}

// keyDER decodes a PEM block, or base64 DER (standard or URL alphabet, whitespace ignored).
func keyDER(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		// Environment files often carry PEM with literal \n.
		block, _ := pem.Decode([]byte(strings.ReplaceAll(s, `\n`, "\n")))
		if block == nil {
			return nil, errors.New("malformed PEM")
		}
		return block.Bytes, nil
	}
	compact := strings.Join(strings.Fields(s), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if der, err := enc.DecodeString(compact); err == nil {
			return der, nil
		}
	}
	return nil, errors.New("neither PEM nor base64 DER")
}

// SignESB signs data as GovESB expects: ECDSA P-256 over SHA-256 of the exact bytes, ASN.1
// DER, base64.
func SignESB(key *ecdsa.PrivateKey, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyESB checks a base64 ASN.1 signature over the exact bytes of data; ErrESBSignature
// when it is missing or does not verify.
func VerifyESB(key *ecdsa.PublicKey, data []byte, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(sig) == 0 {
		return ErrESBSignature
	}
	sum := sha256.Sum256(data)
	if !ecdsa.VerifyASN1(key, sum[:], sig) {
		return ErrESBSignature
	}
	return nil
}

// ESBKeyPair is a generated key pair in the shapes the settings take: the private key as
// PKCS#8 PEM, the public key as PKIX PEM.
type ESBKeyPair struct {
	PrivatePEM string
	PublicPEM  string
}

// GenerateESBKeyPair makes a P-256 key pair (for `switchyard dev` and the tests).
func GenerateESBKeyPair() (ESBKeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return ESBKeyPair{}, err
	}
	return ESBKeyPairOf(key)
}

// ESBKeyPairOf renders key and its public half as PEM.
func ESBKeyPairOf(key *ecdsa.PrivateKey) (ESBKeyPair, error) {
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return ESBKeyPair{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return ESBKeyPair{}, err
	}
	return ESBKeyPair{
		PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}, nil
}
