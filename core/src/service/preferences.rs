//! Settings and display preferences, stored in the database and audited.

use super::*;

impl Services {
    /// A stored setting (`None` when never set).
    pub fn setting(&self, key: &str) -> Result<Option<String>, CommandError> {
        use rusqlite::OptionalExtension;
        self.read()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(internal)
    }

    /// Stores settings (administrators only), audited.
    pub fn set_settings(&self, token: &str, values: &[(&str, String)]) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::SettingsChanged)?;
        self.write_settings(&actor, started, values)
    }

    /// The display preferences of this installation (defaults until someone chooses).
    pub fn preferences(&self) -> Result<Preferences, CommandError> {
        let stored = |key: &str| self.setting(key);
        Ok(Preferences {
            language: stored(PREF_LANGUAGE)?
                .and_then(|v| Language::parse(&v))
                .unwrap_or_default(),
            units: stored(PREF_UNITS)?
                .and_then(|v| Units::parse(&v))
                .unwrap_or_default(),
        })
    }

    /// Any signed-in user may choose the language and the units: display
    /// preferences of this installation, audited like other settings.
    pub fn set_preference(&self, token: &str, key: &str, value: &str) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        let (key, allowed) = match preference_values(key) {
            Some(allowed) if key == PREF_LANGUAGE => (PREF_LANGUAGE, allowed),
            Some(allowed) => (PREF_UNITS, allowed),
            None => {
                let keys = format!("{PREF_LANGUAGE} or {PREF_UNITS}");
                return Err(FieldError::rule("key", &[("keys", &keys)]).into());
            }
        };
        if !allowed.contains(&value) {
            let values = allowed.join(", ");
            let args = [("key", key), ("values", values.as_str())];
            return Err(FieldError::broke(key, "value", &args).into());
        }
        self.write_settings(&actor, started, &[(key, value.to_string())])
    }

    fn write_settings(
        &self,
        by: &Session,
        started: Instant,
        values: &[(&str, String)],
    ) -> Result<(), CommandError> {
        let detail = values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.commit(
            |_| {
                Event::new(Action::SettingsChanged, Status::Ok, started)
                    .by(by.user_id, &by.username)
                    .detail(detail)
            },
            |tx| {
                for (k, v) in values {
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        rusqlite::params![k, v],
                    )
                    .map_err(internal)?;
                }
                Ok(())
            },
        )
    }
}
