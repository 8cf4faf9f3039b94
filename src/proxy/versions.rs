//! Watching the credentials' key versions while serving: each is logged at start-up, and again
//! when it becomes due for rotation (`warn_days` before its end) or expires, and once a day
//! while it stays due or expired. The refusal itself does not wait for this watch: every
//! request and frame checks its credential's version when it is admitted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::reload::log_version;
use super::state::State;
use crate::rotation::Standing;

/// How often the versions are looked at.
const EVERY: Duration = Duration::from_secs(30);
/// How often a due or expired version is logged again.
const REMIND: Duration = Duration::from_secs(86_400);

/// Runs until the process ends.
pub async fn watch_key_versions(state: Arc<State>) {
    // (credential, version) → where it stood when last logged, and when.
    let mut logged: HashMap<(String, u32), (Standing, Instant)> = HashMap::new();
    loop {
        let now = SystemTime::now();
        let snapshot = state.snapshot();
        let mut names: Vec<&String> = snapshot.credentials.keys().collect();
        names.sort();
        for name in names {
            let c = &snapshot.credentials[name];
            let standing = c.version.standing(now);
            let key = (c.name.clone(), c.version.number);
            let due = match logged.get(&key) {
                None => true,
                Some((before, _)) if *before != standing => true,
                Some((Standing::Current, _)) => false,
                Some((_, at)) => at.elapsed() >= REMIND,
            };
            if due {
                log_version(c, "serve");
                logged.insert(key, (standing, Instant::now()));
            }
        }
        tokio::time::sleep(EVERY).await;
    }
}
