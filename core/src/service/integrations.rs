//! The REST gateway's side of the services: API keys, clients, plans, scoring through
//! the cache, and the request log written in batches.

use super::*;

impl Services {
    /// The client of an API key that verified before, without hashing.
    pub fn cached_key(&self, key: &str) -> Option<ClientAuth> {
        self.keys.cached(key)
    }

    /// The client an API key belongs to; `None` for a malformed, unknown or wrong
    /// key. Blocks as long as an argon2 check takes even when none was needed;
    /// [`Services::authenticate_key_paced`] leaves that wait to the caller.
    pub fn authenticate_key(&self, key: &str) -> Result<Option<ClientAuth>, CommandError> {
        let (outcome, not_before) = self.authenticate_key_paced(key);
        wait_until(not_before);
        outcome
    }

    /// As [`Services::authenticate_key`], with the moment before which a refusal must
    /// not be answered, so an unknown prefix or a remembered wrong key takes as long
    /// as a checked one and the timing tells nothing about which prefixes exist.
    pub fn authenticate_key_paced(
        &self,
        key: &str,
    ) -> (Result<Option<ClientAuth>, CommandError>, Instant) {
        let started = Instant::now();
        let rehash = |id: i64, new_hash: &str, old_hash: &str| {
            let stored = self.commit(
                |_| {
                    Event::new(Action::ClientKeyRehashed, Status::Ok, started)
                        .about(format!("client:{id}"))
                        .detail("the key's hash made again with the current parameters")
                },
                |tx| {
                    tx.execute(
                        "UPDATE api_clients SET key_hash = ?2 WHERE id = ?1 AND key_hash = ?3",
                        rusqlite::params![id, new_hash, old_hash],
                    )
                    .map_err(internal)
                },
            );
            if let Err(e) = stored {
                // The old hash still verifies; the next right use tries again.
                tracing::warn!(client = id, error = %e.message, "a key's new hash was not stored");
            }
        };
        match self.keys.authenticate(&self.reader, key, rehash) {
            Ok(clients::KeyCheck::Valid(c)) => (Ok(Some(c)), started),
            Ok(clients::KeyCheck::Refused { hashed: true }) => (Ok(None), started),
            Ok(clients::KeyCheck::Refused { hashed: false }) => {
                (Ok(None), started + clients::typical_key_verification())
            }
            Err(e) => (Err(internal(e)), started),
        }
    }

    /// Scores validated inputs through the prediction cache; `true` when cached. A
    /// model output that is not a probability is an `Internal` error, never a class.
    pub fn score(&self, inputs: &Measurements) -> Result<(Prediction, bool), CommandError> {
        let model = self.model();
        self.cache
            .get_or(inputs, model.predictor.version(), || {
                model.predictor.predict(inputs)
            })
            .map_err(|e| {
                CommandError::coded(
                    ErrorCode::ScoringFailed,
                    &[
                        ("version", model.predictor.version()),
                        ("detail", &e.to_string()),
                    ],
                )
            })
    }

    pub fn list_clients(&self, token: &str) -> Result<Vec<ApiClient>, CommandError> {
        self.admin(token, Action::AccountChanged)?;
        clients::list(&self.read()).map_err(internal)
    }

    /// Creates an integration client; its key is returned here once and stored hashed.
    pub fn create_client(
        &self,
        token: &str,
        name: &str,
        plan: &str,
    ) -> Result<NewApiClient, CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::ClientCreated)?;
        let name = name.trim();
        let mut problems = Vec::new();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push(FieldError::rule("name", &[]));
        }
        if !clients::plan_exists(&self.conn(), plan).map_err(internal)? {
            problems.push(FieldError::rule("plan", &[("plan", plan)]));
        }
        if !problems.is_empty() {
            return Err(CommandError::fields(problems));
        }
        let (id, key) = self.commit(
            |(id, _): &(i64, String)| {
                Event::new(Action::ClientCreated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("client:{id}"))
                    .detail(format!("integration client {name} ({plan})"))
            },
            |tx| clients::insert(tx, name, plan).map_err(internal),
        )?;
        let client = clients::get(&self.read(), id)
            .map_err(internal)?
            .ok_or_else(|| internal("the new client vanished"))?;
        Ok(NewApiClient {
            client,
            api_key: key,
        })
    }

    pub fn delete_client(&self, token: &str, id: i64) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::ClientDeleted)?;
        self.commit(
            |_| {
                Event::new(Action::ClientDeleted, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("client:{id}"))
                    .detail("integration client deleted")
            },
            |tx| match clients::delete(tx, id).map_err(internal)? {
                0 => Err(CommandError::coded(
                    ErrorCode::NoClient,
                    &[("id", &id.to_string())],
                )),
                _ => Ok(()),
            },
        )?;
        self.keys.clear();
        Ok(())
    }

    /// Creates or changes a plan's requests per minute.
    pub fn set_plan(&self, token: &str, plan: &str, per_minute: u32) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::PlanChanged)?;
        let valid_name = !plan.is_empty()
            && plan.len() <= 32
            && plan
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid_name || per_minute == 0 {
            return Err(CommandError::coded(ErrorCode::BadPlan, &[]));
        }
        self.commit(
            |_| {
                Event::new(Action::PlanChanged, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("plan:{plan}"))
                    .detail(format!("{per_minute} requests per minute"))
            },
            |tx| clients::set_plan(tx, plan, per_minute).map_err(internal),
        )?;
        self.keys.clear();
        Ok(())
    }

    /// Writes many events that change nothing else (the gateway's request log)
    /// straight into the audit log, in one transaction, waiting at most `busy` for
    /// another connection's lock.
    pub fn record_batch(&self, events: Vec<Event>, busy: Duration) -> Result<(), CommandError> {
        self.writer.transact(Some(busy), |_| Ok(((), events)))
    }
}
