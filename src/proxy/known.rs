//! What the config names, announced to the metrics so that their labelled series exist at
//! zero from start-up (and from a reload on, for what it adds): each credential's upstream
//! histogram and each client's request, refusal and WebSocket frame series (see
//! [`Metrics::known_client`]). Every label value comes from the config, none from a bot.

use std::collections::BTreeSet;

use crate::config::Config;
use crate::metrics::{KnownClient, Metrics};
use crate::policy::public_rule;

pub(super) fn announce(config: &Config, metrics: &Metrics) {
    for c in &config.credentials {
        metrics.known_credential(&c.name, c.exchange.id());
    }
    for client in &config.clients {
        let Some(credential) = config
            .credentials
            .iter()
            .find(|c| c.name == client.credential)
        else {
            continue;
        };
        let exchange = credential.exchange;
        // A preset expands to one rule per endpoint, all under the preset's name.
        let rules: BTreeSet<String> = client
            .allow
            .rules
            .iter()
            .map(|r| r.id.clone())
            .chain([public_rule(exchange)])
            .collect();
        metrics.known_client(&KnownClient {
            client: &client.name,
            credential: &credential.name,
            exchange: exchange.id(),
            rules: rules.into_iter().collect(),
            websocket: exchange.ws().is_some(),
        });
    }
}
