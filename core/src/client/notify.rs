//! [`Updater::update_with_events`]: the run, its events, and (with
//! [`UpdaterOptions::notifier`](super::UpdaterOptions::notifier)) a Slack
//! message for a run that updated, failed or rolled back, posted after the
//! run (see [`crate::notify`]: a failed post never changes the outcome).

use super::{EventSink, Outcome, Updater};

impl Updater {
    /// [`Updater::update`], calling `on_event` with the run's [`Event`] before
    /// returning its outcome. A run cancelled before its installer started
    /// emits one [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) event;
    /// one cancelled after emits that event, then (from the install task, when
    /// it ends) the event of its real outcome. With a notifier, the run's
    /// message is posted before the outcome is returned; the install task's
    /// later event is posted from a task of its own.
    pub async fn update_with_events(&self, on_event: EventSink) -> Outcome {
        #[cfg(feature = "notify")]
        if let Some(notifier) = self.options.notifier.clone() {
            return notified(self, on_event, notifier).await;
        }
        self.update_with_events_unnotified(on_event).await
    }
}

#[cfg(feature = "notify")]
async fn notified(
    updater: &Updater,
    on_event: EventSink,
    notifier: crate::notify::Notifier,
) -> Outcome {
    use std::sync::{Arc, Mutex};

    use super::Event;
    use crate::notify::Message;

    /// Messages of the run, until it returns; after that (an install task
    /// outliving a cancelled run) they are posted as they come.
    #[derive(Default)]
    struct Pending {
        done: bool,
        messages: Vec<Message>,
    }
    let pending = Arc::new(Mutex::new(Pending::default()));
    let sink: EventSink = {
        let pending = Arc::clone(&pending);
        let notifier = notifier.clone();
        Arc::new(move |event: &Event| {
            on_event(event);
            let Some(message) = Message::from_event(event) else {
                return;
            };
            let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
            if !pending.done {
                pending.messages.push(message);
            } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let notifier = notifier.clone();
                runtime.spawn(async move {
                    notifier.notify(&message).await;
                });
            }
        })
    };
    let outcome = updater.update_with_events_unnotified(sink).await;
    let messages = {
        let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.done = true;
        std::mem::take(&mut pending.messages)
    };
    for message in &messages {
        notifier.notify(message).await;
    }
    outcome
}
