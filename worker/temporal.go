package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-hub/switchyard/workflows"
)

// TemporalConfig says where the Temporal frontend is.
type TemporalConfig struct {
	Address   string `envconfig:"TEMPORAL_ADDRESS" default:"localhost:7233"`
	Namespace string `envconfig:"TEMPORAL_NAMESPACE" default:"default"`
}

// Dial connects a Temporal client. metrics may be nil.
func Dial(ctx context.Context, cfg TemporalConfig, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:       cfg.Address,
		Namespace:      cfg.Namespace,
		Logger:         sdklog.NewStructuredLogger(logger.With("component", "temporal")),
		MetricsHandler: metrics,
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s: %w", cfg.Address, err)
	}
	return c, nil
}

// EnsureSearchAttributes registers Switchyard's custom search attributes in the namespace when
// they are missing. Safe to call from every process at start-up.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for _, key := range workflows.SearchAttributeKeys() {
		if _, ok := have.GetCustomAttributes()[key.GetName()]; !ok {
			missing[key.GetName()] = indexedType(key)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("adding search attributes: %w", err)
	}
	return nil
}

func indexedType(key temporal.SearchAttributeKey) enums.IndexedValueType {
	return enums.IndexedValueType(key.GetValueType())
}

// SearchAttributeFlags are the `temporal server start-dev` flags that register the attributes.
func SearchAttributeFlags() []string {
	var args []string
	for _, key := range workflows.SearchAttributeKeys() {
		args = append(args, "--search-attribute", key.GetName()+"="+key.GetValueType().String())
	}
	return args
}
