-- +goose Up
-- The National ESB relay (seed 001's ExternalSystemRegistration): which organizations are
-- reached through the GovESB engine, with which codes, for one channel or for every request
-- (channel_id NULL: the organization's global registration, what MEDIATOR_MODE=pure_esb takes
-- first).

CREATE TABLE external_system_registrations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization text NOT NULL CHECK (organization ~ '^[A-Za-z0-9._:-]{1,100}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    api_code     text NOT NULL DEFAULT '' CHECK (length(api_code) <= 200),
    push_code    text NOT NULL DEFAULT '' CHECK (length(push_code) <= 200),
    channel_id   uuid REFERENCES channels (id) ON DELETE CASCADE,
    is_active    boolean NOT NULL DEFAULT true,
    is_demo      boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (api_code <> '' OR push_code <> '')
);

-- One registration per organization and channel, and one global one per organization.
CREATE UNIQUE INDEX external_system_registrations_channel_key
    ON external_system_registrations (organization, channel_id) WHERE channel_id IS NOT NULL;
CREATE UNIQUE INDEX external_system_registrations_global_key
    ON external_system_registrations (organization) WHERE channel_id IS NULL;
CREATE INDEX external_system_registrations_channel_idx ON external_system_registrations (channel_id);

-- +goose Down
DROP TABLE external_system_registrations;
