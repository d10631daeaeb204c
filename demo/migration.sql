-- Migration 001: the features table and its data contract.
CREATE EXTENSION pg_vigil;

-- One row per user event, as the feature pipeline lands it.
CREATE TABLE features (
    entity_id  bigint,            -- the user the features describe
    event_time timestamptz,
    country    text,              -- ISO 3166 alpha-2
    age        int,
    income     float8,            -- yearly, USD
    score      float8,            -- propensity score from the upstream model: a probability
    clicks     int,               -- clicks in the session
    email      text,
    device     text               -- ios / android / web; sometimes unknown
);

-- Keys and timestamps are non-negotiable: a row without them cannot be joined to labels.
SELECT vigil.expect_not_null('features', 'entity_id');
SELECT vigil.expect_not_null('features', 'event_time');

-- An impossible age means a broken upstream: refuse the whole batch (the default, 'reject').
SELECT vigil.expect_between('features', 'age', 0, 120, on_violation => 'reject');

-- A score outside [0, 1] is not a probability: set the row aside for a person to look at.
SELECT vigil.expect_between('features', 'score', 0, 1, on_violation => 'quarantine');

-- NaN / Infinity poison training (one NaN turns the loss into NaN): set those rows aside too.
SELECT vigil.expect_finite('features', 'income', on_violation => 'quarantine');

-- New markets appear before the country list is updated: keep the rows, but record them.
SELECT vigil.expect_in_set('features', 'country',
                           ARRAY['US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CA'],
                           on_violation => 'warn');

-- Bot sessions and -1 sentinels: clip clicks into the plausible range instead of losing the row.
SELECT vigil.expect_between('features', 'clicks', 0, 1000, on_violation => 'clamp');

-- A malformed email is useless as a feature, but the rest of the row is fine: drop the value.
SELECT vigil.expect_match('features', 'email', '^[^@]+@[^@]+$', on_violation => 'set_null');

-- Device is often unknown (privacy settings): record a batch only if over 5% of it is missing.
SELECT vigil.expect_not_null('features', 'device', on_violation => 'warn', mostly => 0.95);

-- Batch-level: a load whose score median leaves [0.2, 0.8] means the model changed (recorded,
-- rows kept).
SELECT vigil.expect_quantile_between('features', 'score', 0.5, 0.2, 0.8, on_violation => 'warn');

-- Record per-day statistics of every column, so drift shows against the table's own history.
SELECT vigil.watch('features', time_column => 'event_time', window_size => '1 day');
