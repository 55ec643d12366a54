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
        let value = |key: &str| -> Result<String, CommandError> {
            let allowed = PREFERENCE_VALUES
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .unwrap_or(&[""]);
            Ok(self
                .setting(key)?
                .filter(|v| allowed.contains(&v.as_str()))
                .unwrap_or_else(|| allowed[0].to_string()))
        };
        Ok(Preferences {
            language: value(PREF_LANGUAGE)?,
            units: value(PREF_UNITS)?,
        })
    }

    /// Any signed-in user may choose the language and the units: display
    /// preferences of this installation, audited like other settings.
    pub fn set_preference(&self, token: &str, key: &str, value: &str) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        let Some((key, allowed)) = PREFERENCE_VALUES.iter().find(|(k, _)| *k == key) else {
            return Err(CommandError::fields(vec![(
                "key".into(),
                format!("key must be {PREF_LANGUAGE} or {PREF_UNITS}"),
            )]));
        };
        if !allowed.contains(&value) {
            return Err(CommandError::fields(vec![(
                (*key).into(),
                format!("{key} must be one of {}", allowed.join(", ")),
            )]));
        }
        self.write_settings(&actor, started, &[(*key, value.to_string())])
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
