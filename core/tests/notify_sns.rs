//! SNS notifications (hand-written after AWS's documented shapes, in
//! `data/sns/`) as Slack messages: every Auto Scaling event, every alarm
//! state, the Lambda event form; malformed input as typed errors naming the field.

use debpull::ErrorKind;
use debpull::notify::{MAX_SNS_SIZE, Message, sns_to_slack};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/sns/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn slack(name: &str) -> (Message, Value) {
    let message = sns_to_slack(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let value: Value = serde_json::from_str(&message.to_json()).unwrap();
    (message, value)
}

#[test]
fn a_launch_says_which_instance_where_and_why() {
    let (m, v) = slack("launch.json");
    assert_eq!(
        m.headline(),
        ":rocket: Instance i-0123456789abcdef0 launched in web-production"
    );
    assert_eq!(m.field_value("Event"), Some("EC2_INSTANCE_LAUNCH"));
    assert_eq!(m.field_value("Group"), Some("web-production"));
    assert_eq!(m.field_value("Instance"), Some("i-0123456789abcdef0"));
    assert_eq!(m.field_value("Zone"), Some("eu-west-1b"));
    assert_eq!(m.field_value("Subnet"), Some("subnet-0a1b2c3d4e5f60718"));
    assert!(
        m.reason_text()
            .unwrap()
            .contains("changing the desired capacity from 2 to 3")
    );
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .starts_with(":rocket: Instance i-0123456789abcdef0")
    );
    assert!(v["blocks"].as_array().unwrap().iter().any(|b| {
        b["type"] == "context"
            && b["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("arn:aws:sns:eu-west-1:111122223333:fleet-events")
    }));
}

#[test]
fn the_lambda_event_form_gives_the_same_message() {
    // The same but for the context line (each notification its own time).
    let same = |a: &str, b: &str| {
        let (a, b) = (slack(a).0, slack(b).0);
        assert_eq!(
            (a.headline(), a.fields(), a.reason_text()),
            (b.headline(), b.fields(), b.reason_text())
        );
    };
    same("lambda_launch.json", "launch.json");
    // Lambda's spelling (SigningCertUrl) and a null Subject, as Lambda
    // delivers an alarm.
    same("lambda_alarm_no_subject.json", "alarm.json");
}

#[test]
fn a_termination_says_which_instance_and_why() {
    let (m, _) = slack("terminate.json");
    assert_eq!(
        m.headline(),
        ":wave: Instance i-0fedcba9876543210 terminated in web-production"
    );
    assert!(m.reason_text().unwrap().contains("EC2 health check"));
}

#[test]
fn a_launch_error_gives_the_status_message_first() {
    let (m, _) = slack("launch_error.json");
    assert_eq!(
        m.headline(),
        ":x: Failed to launch an instance in web-production"
    );
    assert_eq!(m.field_value("Status"), Some("Failed"));
    assert!(m.field_value("Instance").is_none());
    let reason = m.reason_text().unwrap();
    assert!(
        reason.starts_with("We currently do not have sufficient t3.small capacity"),
        "{reason}"
    );
}

#[test]
fn a_termination_error_names_the_instance() {
    let (m, _) = slack("terminate_error.json");
    assert_eq!(
        m.headline(),
        ":x: Failed to terminate instance i-0aaaabbbbccccdddd in web-production"
    );
    assert!(m.reason_text().unwrap().starts_with("Client.InternalError"));
}

#[test]
fn a_test_notification_is_short() {
    let (m, _) = slack("test_notification.json");
    assert_eq!(
        m.headline(),
        ":bell: Test notification from Auto Scaling group web-production"
    );
    assert!(m.reason_text().is_none());
}

#[test]
fn an_alarm_says_what_crossed_and_escapes_user_text() {
    let (m, v) = slack("alarm.json");
    assert_eq!(
        m.headline(),
        ":rotating_light: Alarm web-production 5xx in ALARM"
    );
    assert_eq!(m.field_value("State"), Some("OK → ALARM"));
    assert_eq!(
        m.field_value("Metric"),
        Some("AWS/ApplicationELB HTTPCode_Target_5XX_Count")
    );
    assert_eq!(
        m.field_value("Condition"),
        Some("GreaterThanThreshold 10.0")
    );
    assert_eq!(m.field_value("Region"), Some("EU (Ireland)"));
    assert!(
        m.reason_text()
            .unwrap()
            .starts_with("Threshold Crossed: 1 out of the last 1")
    );
    // The reason's "OK -> ALARM" and the description's <on the ALB> are escaped.
    let json = v.to_string();
    assert!(json.contains("OK -&gt; ALARM transition"), "{json}");
    assert!(json.contains("&lt;on the ALB&gt;"), "{json}");
    assert!(!json.contains("<on the ALB>"), "{json}");
}

#[test]
fn alarm_recoveries_and_missing_data_have_their_own_headline() {
    let (ok, _) = slack("alarm_ok.json");
    assert_eq!(
        ok.headline(),
        ":white_check_mark: Alarm web-production 5xx back to OK"
    );
    assert!(
        ok.field_value("Description").is_none(),
        "a null description is left out"
    );
    let (unknown, _) = slack("alarm_insufficient.json");
    assert_eq!(
        unknown.headline(),
        ":grey_question: Alarm web-production 5xx has insufficient data"
    );
    assert_eq!(
        unknown.reason_text(),
        Some("Insufficient Data: 1 datapoint was unknown.")
    );
}

fn error(input: &str) -> (ErrorKind, String) {
    let e = sns_to_slack(input).unwrap_err();
    (e.kind(), e.to_string())
}

/// The launch fixture with its inner message changed by `edit`.
fn launch_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut outer: Value = serde_json::from_str(&fixture("launch.json")).unwrap();
    let mut inner: Value = serde_json::from_str(outer["Message"].as_str().unwrap()).unwrap();
    edit(inner.as_object_mut().unwrap());
    outer["Message"] = Value::String(inner.to_string());
    outer.to_string()
}

#[test]
fn malformed_input_is_a_typed_error_naming_the_field() {
    let (kind, text) = error("{\"Type\": \"Notification\",");
    assert_eq!(kind, ErrorKind::Parse);
    assert!(text.starts_with("SNS notification: not JSON"), "{text}");

    let (kind, text) = error("[1, 2]");
    assert_eq!(
        (kind, text.as_str()),
        (ErrorKind::Parse, "SNS notification: not a JSON object")
    );

    let (kind, text) = error(r#"{"Type": "Notification"}"#);
    assert_eq!(
        (kind, text.as_str()),
        (ErrorKind::Parse, "SNS notification: Message is missing")
    );

    let (kind, text) = error(r#"{"Type": "Notification", "Message": 5}"#);
    assert_eq!(
        (kind, text.as_str()),
        (
            ErrorKind::Parse,
            "SNS notification: Message is not a string"
        )
    );

    let (kind, text) = error(r#"{"Type": "Notification", "Message": "Hello from the console"}"#);
    assert_eq!(kind, ErrorKind::Parse);
    assert!(
        text.starts_with("SNS notification: Message is not JSON"),
        "{text}"
    );

    let (kind, text) = error(&launch_with(|m| {
        m.remove("AutoScalingGroupName");
    }));
    assert_eq!(
        (kind, text.as_str()),
        (
            ErrorKind::Parse,
            "SNS Message (Auto Scaling): AutoScalingGroupName is missing"
        )
    );
    let (kind, text) = error(&launch_with(|m| {
        m.remove("Cause");
    }));
    assert_eq!(
        (kind, text.as_str()),
        (
            ErrorKind::Parse,
            "SNS Message (Auto Scaling): Cause is missing"
        )
    );
    let (kind, text) = error(&launch_with(|m| {
        m.insert("EC2InstanceId".into(), json!(""));
    }));
    assert_eq!(
        (kind, text.as_str()),
        (
            ErrorKind::Parse,
            "SNS Message (Auto Scaling): EC2InstanceId is missing"
        )
    );
    let (kind, text) = error(&launch_with(|m| {
        m.insert("Details".into(), json!("eu-west-1b"));
    }));
    assert_eq!(
        (kind, text.as_str()),
        (
            ErrorKind::Parse,
            "SNS Message (Auto Scaling): Details is not an object"
        )
    );
    let mut alarm: Value = serde_json::from_str(&fixture("alarm.json")).unwrap();
    let mut inner: Value = serde_json::from_str(alarm["Message"].as_str().unwrap()).unwrap();
    inner.as_object_mut().unwrap().remove("NewStateReason");
    alarm["Message"] = Value::String(inner.to_string());
    let (kind, text) = error(&alarm.to_string());
    assert_eq!(
        (kind, text.as_str()),
        (
            ErrorKind::Parse,
            "SNS Message (CloudWatch alarm): NewStateReason is missing"
        )
    );
}

#[test]
fn unknown_kinds_are_invalid_input() {
    let (kind, text) = error(&launch_with(|m| {
        m.insert("Event".into(), json!("autoscaling:EC2_INSTANCE_REBOOT"));
    }));
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(
        text.contains("\"autoscaling:EC2_INSTANCE_REBOOT\" is not a known Auto Scaling event"),
        "{text}"
    );

    let (kind, text) = error(
        r#"{"Type": "Notification", "Message": "{\"AlarmName\": \"a\", \"NewStateValue\": \"MAYBE\", \"NewStateReason\": \"r\"}"}"#,
    );
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(text.contains("NewStateValue \"MAYBE\""), "{text}");

    let (kind, text) = error(r#"{"Type": "Notification", "Message": "{\"source\": \"aws.ec2\"}"}"#);
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(
        text.contains("neither an Auto Scaling notification"),
        "{text}"
    );

    let (kind, text) = error(
        r#"{"Type": "SubscriptionConfirmation", "Message": "You have chosen to subscribe", "SubscribeURL": "https://sns.example/"}"#,
    );
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(
        text.contains("Type is \"SubscriptionConfirmation\""),
        "{text}"
    );

    let (kind, text) = error(r#"{"Records": []}"#);
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(text.contains("Records holds 0 records"), "{text}");

    let (kind, text) = error(r#"{"Records": [{"EventSource": "aws:sqs", "Sns": {}}]}"#);
    assert_eq!(kind, ErrorKind::InvalidInput);
    assert!(text.contains("EventSource is \"aws:sqs\""), "{text}");

    let (kind, _) = error(&" ".repeat(MAX_SNS_SIZE + 1));
    assert_eq!(kind, ErrorKind::LimitExceeded);
}
