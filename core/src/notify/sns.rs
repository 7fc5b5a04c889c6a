//! Amazon SNS notifications turned into Slack messages: what a Lambda
//! subscribed to the fleet's SNS topic does.
//!
//! The input is the notification as SNS delivers it over HTTP(S)
//! (`{"Type": "Notification", "MessageId", "TopicArn", "Subject", "Message",
//! "Timestamp", ...}`) or as a Lambda receives it (`{"Records": [{"EventSource":
//! "aws:sns", "Sns": {...}}]}`, exactly one record). Its `Message` is a JSON
//! string holding one of:
//!
//! - an **EC2 Auto Scaling notification**: `Event` is
//!   `autoscaling:EC2_INSTANCE_LAUNCH`, `..._LAUNCH_ERROR`, `..._TERMINATE`,
//!   `..._TERMINATE_ERROR` or `autoscaling:TEST_NOTIFICATION`, with
//!   `AutoScalingGroupName`, `EC2InstanceId`, `Cause`, `Description`,
//!   `StatusCode`, `StatusMessage`, `StartTime`, `EndTime`, `Details`
//!   (`Availability Zone`, `Subnet ID`);
//! - a **CloudWatch alarm** state change: `AlarmName`, `NewStateValue`
//!   (`OK`, `ALARM`, `INSUFFICIENT_DATA`), `NewStateReason`, `OldStateValue`,
//!   `AlarmDescription`, `StateChangeTime`, `Region`, `Trigger`
//!   (`MetricName`, `Namespace`, `ComparisonOperator`, `Threshold`, ...).
//!
//! The Slack message says what happened (launched, terminated, failed to
//! launch, alarm raised or cleared) and why (`Cause`, `StatusMessage`,
//! `NewStateReason`). Errors name the field at fault: input that is not
//! JSON, a `Message` that is not JSON, a required field missing or of the
//! wrong type are [`ErrorKind::Parse`]; a notification that is not a
//! `Notification` (a `SubscriptionConfirmation`), an unknown `Event` or
//! alarm state, or a `Message` that is neither kind are
//! [`ErrorKind::InvalidInput`]; input over 1 MiB is
//! [`ErrorKind::LimitExceeded`] (SNS messages are at most 256 KiB).

use serde_json::{Map, Value};

use super::Message;
use crate::error::{Error, ErrorKind, Result};

/// The largest input accepted.
pub const MAX_SNS_SIZE: usize = 1 << 20;

/// The Slack message for an SNS notification (see the module documentation).
pub fn sns_to_slack(json: &str) -> Result<Message> {
    if json.len() > MAX_SNS_SIZE {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "SNS notification: {} bytes, more than the {MAX_SNS_SIZE} accepted",
                json.len()
            ),
        ));
    }
    let outer: Value = serde_json::from_str(json)
        .map_err(|e| Error::new(ErrorKind::Parse, format!("SNS notification: not JSON: {e}")))?;
    let outer = object(&outer, "SNS notification")?;
    let envelope = match outer.get("Records") {
        Some(records) => lambda_record(records)?,
        None => outer,
    };
    let kind = string(envelope, "Type", "SNS notification")?;
    if kind != "Notification" {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("SNS notification: Type is {kind:?}, not \"Notification\" (nothing to report)"),
        ));
    }
    let text = string(envelope, "Message", "SNS notification")?;
    let inner: Value = serde_json::from_str(text).map_err(|e| {
        Error::new(
            ErrorKind::Parse,
            format!("SNS notification: Message is not JSON ({e}): neither an Auto Scaling nor a CloudWatch alarm notification"),
        )
    })?;
    let inner = object(&inner, "SNS Message")?;
    let topic = optional(envelope, "TopicArn", "SNS notification")?;
    let mut message = if inner.contains_key("Event") {
        autoscaling(inner)?
    } else if inner.contains_key("AlarmName") {
        alarm(inner)?
    } else {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "SNS Message: neither an Auto Scaling notification (no Event) nor a CloudWatch alarm (no AlarmName)",
        ));
    };
    if let Some(topic) = topic {
        let time = optional(envelope, "Timestamp", "SNS notification")?.unwrap_or("");
        message = message.context(format!("SNS {topic} {time}").trim_end().to_owned());
    }
    Ok(message)
}

/// The `Sns` object of the one record of a Lambda event.
fn lambda_record(records: &Value) -> Result<&Map<String, Value>> {
    let Value::Array(records) = records else {
        return Err(Error::new(
            ErrorKind::Parse,
            "SNS Lambda event: Records is not an array",
        ));
    };
    let [record] = records.as_slice() else {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "SNS Lambda event: Records holds {} records, expected 1",
                records.len()
            ),
        ));
    };
    let record = object(record, "SNS Lambda event: Records[0]")?;
    if let Some(source) = optional(record, "EventSource", "SNS Lambda event: Records[0]")?
        && source != "aws:sns"
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("SNS Lambda event: Records[0].EventSource is {source:?}, not \"aws:sns\""),
        ));
    }
    match record.get("Sns") {
        Some(sns) => object(sns, "SNS Lambda event: Records[0].Sns"),
        None => Err(Error::new(
            ErrorKind::Parse,
            "SNS Lambda event: Records[0].Sns is missing",
        )),
    }
}

fn autoscaling(m: &Map<String, Value>) -> Result<Message> {
    const WHERE: &str = "SNS Message (Auto Scaling)";
    let event = string(m, "Event", WHERE)?;
    let group = string(m, "AutoScalingGroupName", WHERE)?;
    let instance = optional(m, "EC2InstanceId", WHERE)?.unwrap_or("");
    let short = event.strip_prefix("autoscaling:").unwrap_or(event);
    let message = match short {
        "TEST_NOTIFICATION" => {
            return Ok(Message::new(
                ":bell:",
                format!("Test notification from Auto Scaling group {group}"),
            )
            .field("Event", short)
            .field("Group", group)
            .field("Time", optional(m, "Time", WHERE)?.unwrap_or("")));
        }
        "EC2_INSTANCE_LAUNCH" => Message::new(
            ":rocket:",
            format!("Instance {} launched in {group}", required_id(instance)?),
        ),
        "EC2_INSTANCE_TERMINATE" => Message::new(
            ":wave:",
            format!("Instance {} terminated in {group}", required_id(instance)?),
        ),
        "EC2_INSTANCE_LAUNCH_ERROR" => {
            Message::new(":x:", format!("Failed to launch an instance in {group}"))
        }
        "EC2_INSTANCE_TERMINATE_ERROR" => Message::new(
            ":x:",
            if instance.is_empty() {
                format!("Failed to terminate an instance in {group}")
            } else {
                format!("Failed to terminate instance {instance} in {group}")
            },
        ),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{WHERE}: Event {event:?} is not a known Auto Scaling event"),
            ));
        }
    };
    let cause = string(m, "Cause", WHERE)?;
    let status_message = optional(m, "StatusMessage", WHERE)?.unwrap_or("");
    let reason = if status_message.is_empty() {
        cause.to_owned()
    } else {
        format!("{status_message}\n{cause}")
    };
    let details = match m.get("Details") {
        Some(Value::Object(d)) => Some(d),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(Error::new(
                ErrorKind::Parse,
                format!("{WHERE}: Details is not an object"),
            ));
        }
    };
    let detail = |key: &str| -> Result<&str> {
        match details {
            Some(d) => Ok(optional(d, key, "SNS Message (Auto Scaling): Details")?.unwrap_or("")),
            None => Ok(""),
        }
    };
    Ok(message
        .field("Event", short)
        .field("Group", group)
        .field("Instance", instance)
        .field("Status", optional(m, "StatusCode", WHERE)?.unwrap_or(""))
        .field("Zone", detail("Availability Zone")?)
        .field("Subnet", detail("Subnet ID")?)
        .field("Start", optional(m, "StartTime", WHERE)?.unwrap_or(""))
        .field("End", optional(m, "EndTime", WHERE)?.unwrap_or(""))
        .field(
            "Description",
            optional(m, "Description", WHERE)?.unwrap_or(""),
        )
        .reason(reason))
}

fn required_id(instance: &str) -> Result<&str> {
    if instance.is_empty() {
        return Err(Error::new(
            ErrorKind::Parse,
            "SNS Message (Auto Scaling): EC2InstanceId is missing",
        ));
    }
    Ok(instance)
}

fn alarm(m: &Map<String, Value>) -> Result<Message> {
    const WHERE: &str = "SNS Message (CloudWatch alarm)";
    let name = string(m, "AlarmName", WHERE)?;
    let state = string(m, "NewStateValue", WHERE)?;
    let reason = string(m, "NewStateReason", WHERE)?;
    let old = optional(m, "OldStateValue", WHERE)?;
    let (emoji, what) = match state {
        "ALARM" => (":rotating_light:", "in ALARM"),
        "OK" => (":white_check_mark:", "back to OK"),
        "INSUFFICIENT_DATA" => (":grey_question:", "has insufficient data"),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{WHERE}: NewStateValue {state:?} is not OK, ALARM or INSUFFICIENT_DATA"),
            ));
        }
    };
    let mut message = Message::new(emoji, format!("Alarm {name} {what}"))
        .field("Event", "alarm state change")
        .field("Alarm", name)
        .field(
            "State",
            match old {
                Some(old) => format!("{old} → {state}"),
                None => state.to_owned(),
            },
        )
        .field("Region", optional(m, "Region", WHERE)?.unwrap_or(""))
        .field("Time", optional(m, "StateChangeTime", WHERE)?.unwrap_or(""))
        .field(
            "Description",
            optional(m, "AlarmDescription", WHERE)?.unwrap_or(""),
        );
    match m.get("Trigger") {
        Some(Value::Object(t)) => {
            const TRIGGER: &str = "SNS Message (CloudWatch alarm): Trigger";
            let metric = match (
                optional(t, "Namespace", TRIGGER)?,
                optional(t, "MetricName", TRIGGER)?,
            ) {
                (Some(ns), Some(name)) => format!("{ns} {name}"),
                (None, Some(name)) => name.to_owned(),
                _ => String::new(),
            };
            let condition = match (
                optional(t, "ComparisonOperator", TRIGGER)?,
                t.get("Threshold"),
            ) {
                (Some(op), Some(Value::Number(n))) => format!("{op} {n}"),
                (Some(op), _) => op.to_owned(),
                _ => String::new(),
            };
            message = message
                .field("Metric", metric)
                .field("Condition", condition);
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(Error::new(
                ErrorKind::Parse,
                format!("{WHERE}: Trigger is not an object"),
            ));
        }
    }
    Ok(message.reason(reason))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| Error::new(ErrorKind::Parse, format!("{what}: not a JSON object")))
}

/// A required string field.
fn string<'a>(m: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a str> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(Error::new(
            ErrorKind::Parse,
            format!("{what}: {key} is missing"),
        )),
        Some(_) => Err(Error::new(
            ErrorKind::Parse,
            format!("{what}: {key} is not a string"),
        )),
    }
}

/// An optional string field (`null` counts as absent).
fn optional<'a>(m: &'a Map<String, Value>, key: &str, what: &str) -> Result<Option<&'a str>> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(Error::new(
            ErrorKind::Parse,
            format!("{what}: {key} is not a string"),
        )),
    }
}
