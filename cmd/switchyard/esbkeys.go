package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchyard-hub/switchyard/provider"
)

// esbKeys are the two key pairs of a local ESB relay: the hub's (it signs requests, the engine
// simulator verifies them) and the engine's (the other way round).
type esbKeys struct {
	client, engine provider.ESBKeyPair
}

// Local ESB client credentials, for a stack whose environment names none.
const (
	localESBClientID     = "switchyard-local"
	localESBClientSecret = "local-esb-client-secret"
)

// wireLocalESB points the hub's ESB relay at the engine simulator under simURL and gives both
// sides the same credentials and matching keys. Settings the environment gives win; keys is
// called only when a key is missing.
func wireLocalESB(e *env, simURL string, keys func() (esbKeys, error)) error {
	hub, engine := &e.Activities.ESB, &e.ESBSim
	simURL = strings.TrimRight(simURL, "/")
	if hub.TokenURL == "" {
		hub.TokenURL = simURL + "/esb/token"
	}
	if hub.EngineURL == "" {
		hub.EngineURL = simURL + "/esb/engine"
	}
	if hub.ClientID == "" && engine.ClientID == "" {
		hub.ClientID, engine.ClientID = localESBClientID, localESBClientID
		hub.ClientSecret, engine.ClientSecret = localESBClientSecret, localESBClientSecret
	}
	needClient := hub.ClientPrivateKey == "" && engine.ClientPublicKey == ""
	needEngine := hub.PublicKey == "" && engine.PrivateKey == ""
	if !needClient && !needEngine {
		return nil
	}
	k, err := keys()
	if err != nil {
		return err
	}
	if needClient {
		hub.ClientPrivateKey, engine.ClientPublicKey = k.client.PrivatePEM, k.client.PublicPEM
	}
	if needEngine {
		hub.PublicKey, engine.PrivateKey = k.engine.PublicPEM, k.engine.PrivatePEM
	}
	return nil
}

// ephemeralESBKeys makes fresh key pairs (the tests and the benchmark).
func ephemeralESBKeys() (esbKeys, error) {
	client, err := provider.GenerateESBKeyPair()
	if err != nil {
		return esbKeys{}, err
	}
	engine, err := provider.GenerateESBKeyPair()
	return esbKeys{client: client, engine: engine}, err
}

// Under DEV_DATA_DIR, `switchyard dev` keeps the hub's and the engine simulator's private keys
// (PKCS#8 PEM, readable by their owner only): made on the first run, reused after.
const (
	devESBClientKeyFile = "esb-client-key.pem"
	devESBEngineKeyFile = "esb-engine-key.pem"
)

// devESBKeys reads the dev key pairs from dataDir, or makes them there.
func devESBKeys(dataDir string) (esbKeys, error) {
	client, err := devESBKeyPair(filepath.Join(dataDir, devESBClientKeyFile))
	if err != nil {
		return esbKeys{}, err
	}
	engine, err := devESBKeyPair(filepath.Join(dataDir, devESBEngineKeyFile))
	return esbKeys{client: client, engine: engine}, err
}

func devESBKeyPair(path string) (provider.ESBKeyPair, error) {
	if b, err := os.ReadFile(path); err == nil {
		if err := os.Chmod(path, 0o600); err != nil {
			return provider.ESBKeyPair{}, err
		}
		key, err := provider.ParseESBPrivateKey(string(b))
		if err != nil {
			return provider.ESBKeyPair{}, errors.New(path + ": " + err.Error())
		}
		return provider.ESBKeyPairOf(key)
	} else if !errors.Is(err, os.ErrNotExist) {
		return provider.ESBKeyPair{}, err
	}
	pair, err := provider.GenerateESBKeyPair()
	if err != nil {
		return provider.ESBKeyPair{}, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return provider.ESBKeyPair{}, err
	}
	if _, err := f.WriteString(pair.PrivatePEM); err != nil {
		f.Close()
		return provider.ESBKeyPair{}, err
	}
	return pair, f.Close()
}
