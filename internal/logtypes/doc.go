// Package logtypes is the log-type registry of prowl: the schemas of the
// built-in log types (Okta.SystemLog, AWS.CloudTrail, GitHub.Audit,
// GSuite.Reports, Syslog.RFC5424) and of custom ones loaded from YAML, and
// the normalizer that every ingested event goes through before it reaches
// detections and the data lake.
//
// # Schemas
//
// A Schema names a log type and describes its fields: type, whether it is
// required, which indicators (ip, email, domain, …) its values are, and
// which timestamp field gives the event time. Built-in schemas are YAML files
// embedded from schemas/ and read by the same loader as custom schema files
// (LoadSchemaFile), so both obey one format; docs/log-types.md documents it.
//
// # Normalization
//
// Normalizer.Normalize checks one raw JSON event against its schema and
// returns the normalized event: the original JSON, compacted, with every
// original field kept in its original order, followed by the standard p_
// fields (p_log_type, p_row_id, p_event_time, p_parse_time,
// p_schema_version, p_source_id, p_source_label and the p_any_* indicator
// lists). An event that cannot be normalized comes back as a *Rejection with
// a machine-readable reason, so that the caller can quarantine it: nothing
// is dropped silently.
//
// The normalizer does not decode events into maps. It validates and walks
// the raw bytes once with a hand-written scanner that follows the schema, and
// builds the output by appending the p_ fields to the original bytes; only
// events that need rewriting (insignificant whitespace, coerced values,
// p_ fields in the input) are copied token by token.
package logtypes
