//! What leaves or replaces the database: the audit log and its export, patient
//! reports, backup and restore.

use super::*;

impl Services {
    pub fn audit(
        &self,
        token: &str,
        filter: &AuditFilter,
        limit: u32,
        offset: u32,
    ) -> Result<AuditPage, CommandError> {
        self.admin(token, Action::AuditExported)?;
        check_limit(limit)?;
        audit::query(&self.read(), filter, limit, offset).map_err(internal)
    }

    /// As [`Services::audit`], paged by id (see `audit::query_before`).
    pub fn audit_before(
        &self,
        token: &str,
        filter: &AuditFilter,
        limit: u32,
        before: Option<i64>,
    ) -> Result<AuditPage, CommandError> {
        self.admin(token, Action::AuditExported)?;
        check_limit(limit)?;
        audit::query_before(&self.read(), filter, limit, before).map_err(internal)
    }

    /// Checks the audit log's hash chain from its first entry to its last, on a
    /// connection of its own (a long walk must not hold up the shared reader).
    pub fn verify_audit(&self, token: &str) -> Result<AuditChainReport, CommandError> {
        self.admin(token, Action::AuditExported)?;
        let conn = db::open_reader_with(
            &self.dir.join(DB_FILE),
            self.sealing.as_ref().map(|s| &s.key),
        )
        .map_err(internal)?;
        // The file, not this process's copy: another process may have recorded since.
        let recorded = self
            .sealing
            .as_ref()
            .and_then(|_| Keystore::load(&Keystore::path_in(&self.dir)).ok().flatten())
            .and_then(|k| k.audit_head().cloned());
        audit::verify_chain_to(&conn, recorded.as_ref()).map_err(internal)
    }

    /// Writes the matching entries as CSV to `path` (atomically).
    pub fn export_audit(
        &self,
        token: &str,
        filter: &AuditFilter,
        path: &Path,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::AuditExported)?;
        let zone = crate::platform::SystemZone::new();
        let bytes = audit::export_csv(&self.read(), filter, &zone).map_err(internal)?;
        cardiorisk_files::write_atomic(path, &bytes).map_err(|e| cannot_write(path, e))?;
        self.record(
            Event::new(Action::AuditExported, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(path.display().to_string()),
        );
        Ok(())
    }

    /// Writes the patient's one-page report to `path`, audited.
    pub fn export_report(
        &self,
        token: &str,
        patient_id: i64,
        format: report::Format,
        language: Language,
        units: Units,
        path: &Path,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        let record = self.load_record(patient_id)?;
        let printed_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let user = auth::find_by_id(&self.read(), actor.user_id)
            .map_err(internal)?
            .map(|u| u.info.display_name)
            .unwrap_or_else(|| actor.username.clone());
        let zone = crate::platform::SystemZone::new();
        let cx = report::Context {
            language,
            units,
            printed_by: &user,
            printed_at: &printed_at,
            zone: &zone,
        };
        let bytes = report::render(&record, &cx, format).map_err(CommandError::internal)?;
        cardiorisk_files::write_atomic(path, &bytes).map_err(|e| cannot_write(path, e))?;
        self.record(
            Event::new(Action::ReportExported, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .about(format!("patient:{patient_id}"))
                .patient(Some(patient_id))
                .detail(format!("{} report to {}", format.as_str(), path.display())),
        );
        Ok(())
    }

    /// Writes the support bundle (`facts`, then the support log in `log_dir`) to
    /// `path`, atomically; any signed-in user may, as it holds no patient data.
    pub fn export_support_bundle(
        &self,
        token: &str,
        log_dir: &Path,
        facts: &[(&str, String)],
        path: &Path,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.session(token)?;
        let bytes = crate::support::bundle(log_dir, facts);
        cardiorisk_files::write_atomic(path, &bytes).map_err(|e| cannot_write(path, e))?;
        tracing::info!(bytes = bytes.len(), "support bundle exported");
        self.record(
            Event::new(Action::SupportBundleExported, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(path.display().to_string()),
        );
        Ok(())
    }

    /// Copies the live database to `path` with SQLite's online backup, in one step on
    /// the reading connection: one consistent snapshot, while writes carry on. The
    /// copy is sealed with the same data key, page for page, and carries the key
    /// file's wraps (`backup_file`): it restores here without a question, and
    /// elsewhere with the password of an account in it or the recovery key; without
    /// one it reads as random bytes.
    pub fn backup(&self, token: &str, path: &Path) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::DatabaseBackup)?;
        let key = self.data_key()?;
        let wraps = self.wraps_for_backup();
        // The copy lands beside `path` first, then becomes the backup whole: a full disk
        // or a busy database leaves neither a partial backup nor the copy behind, and
        // an earlier backup at `path` as it was.
        let tmp = crate::db::with_suffix(path, ".database");
        let finished = self.copy_database(key, &tmp).and_then(|()| {
            match wraps {
                Some(wraps) => crate::backup_file::write(&tmp, &wraps, path),
                None => std::fs::rename(&tmp, path),
            }
            .map_err(|e| cannot_write(path, e))
        });
        let _ = crate::db::remove_file_if_there(&tmp);
        finished?;
        self.record(
            Event::new(Action::DatabaseBackup, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(path.display().to_string()),
        );
        Ok(())
    }

    /// The live database, one consistent snapshot taken with SQLite's online backup on
    /// the reading connection, into `to` (created private), sealed with `key`.
    fn copy_database(&self, key: &DataKey, to: &Path) -> Result<(), CommandError> {
        // Created empty and private first: SQLite then writes into it, keeping the mode.
        cardiorisk_files::create_private(to).map_err(|e| cannot_write(to, e))?;
        let failed = |e: rusqlite::Error| {
            CommandError::coded(ErrorCode::BackupFailed, &[("detail", &e.to_string())])
        };
        let mut copy = Connection::open(to).map_err(failed)?;
        db::apply_key(&copy, key).map_err(failed)?;
        let reader = self.read();
        let backup = rusqlite::backup::Backup::new(&reader, &mut copy).map_err(failed)?;
        match backup.step(-1).map_err(failed)? {
            rusqlite::backup::StepResult::Done => Ok(()),
            other => {
                let detail = format!("the database stayed busy ({other:?}); try again");
                Err(CommandError::coded(
                    ErrorCode::BackupFailed,
                    &[("detail", &detail)],
                ))
            }
        }
    }

    /// Replaces the live database with the backup at `path`, after checking that it
    /// is a sound CardioRisk database this app can read. The backup is first copied
    /// into the data directory and brought up to this schema; then one transaction
    /// replaces every table, keeps the audit entries newer than the backup's newest
    /// and writes the restore's own entry, so a process killed at any moment leaves
    /// the database as it was or as restored with its whole trail. Then every
    /// session ends (the restored accounts may differ), every cache built from
    /// database content is emptied and the active model reloaded.
    pub fn restore(&self, token: &str, path: &Path) -> Result<(), CommandError> {
        self.restore_with(token, path, None)
    }

    /// As [`Services::restore`], for a backup that another installation sealed (or
    /// this computer before it was set up again): `secret` opens its wraps. Accounts
    /// whose password the restore changed lose their wrap here (they get a new one at
    /// their next sign-in); the account whose password opened the backup gets one now.
    pub fn restore_with(
        &self,
        token: &str,
        path: &Path,
        secret: Option<&BackupSecret>,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::DatabaseRestored)?;
        let key = self.data_key()?;
        let not_a_backup = |e: &dyn std::fmt::Display| {
            CommandError::coded(ErrorCode::NotABackup, &[("detail", &e.to_string())])
        };
        let bundle = crate::backup_file::read(path).map_err(|e| not_a_backup(&e))?;
        let source_file = self.dir.join(RESTORE_SOURCE_FILE);
        let (source, backup_key) = match &bundle {
            None => (path, key.clone()),
            Some(bundle) => {
                let backup_key = if bundle.keys.seals(key) {
                    key.clone()
                } else {
                    unlock_backup(&bundle.keys, secret).inspect_err(|e| {
                        if e.code == ErrorCode::BackupSecret {
                            // Someone guessing at another installation's backup.
                            self.record(
                                Event::new(Action::DatabaseRestored, Status::Denied, started)
                                    .by(actor.user_id, &actor.username)
                                    .detail(format!(
                                        "{}: the password or recovery key given does not open \
                                         this backup",
                                        path.display()
                                    )),
                            );
                        }
                    })?
                };
                bundle
                    .extract_database(path, &source_file)
                    .map_err(|e| cannot_write(&source_file, e))?;
                (source_file.as_path(), backup_key)
            }
        };
        let restored = self.restore_checked(actor, started, path, source, &backup_key, secret);
        let _ = crate::db::remove_file_if_there(&source_file);
        restored
    }

    fn restore_checked(
        &self,
        actor: AdminSession,
        started: Instant,
        path: &Path,
        source: &Path,
        backup_key: &DataKey,
        secret: Option<&BackupSecret>,
    ) -> Result<(), CommandError> {
        let key = self.data_key()?;
        db::check_backup(source, backup_key).map_err(|e| {
            CommandError::coded(ErrorCode::NotABackup, &[("detail", &e.to_string())])
        })?;
        let failed = |e: db::DbError| {
            CommandError::coded(ErrorCode::RestoreFailed, &[("detail", &e.to_string())])
        };
        let passwords_before = auth::password_hashes(&self.read()).map_err(internal)?;
        let staged = self.dir.join(RESTORE_STAGING_FILE);
        db::stage(source, backup_key, &staged, key).map_err(failed)?;
        if let Err(e) = self.begin_restore(&staged, &passwords_before, secret) {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
        crate::fault_point("restore-begun");
        let replaced = db::replace_from(&mut self.writer.lock(), &staged, |tx, carried| {
            let event = Event::new(Action::DatabaseRestored, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail(format!(
                    "{}; {} audit entr{} newer than the backup carried over; every session ended",
                    path.display(),
                    carried,
                    if carried == 1 { "y" } else { "ies" }
                ));
            self.writer.record_in(tx, vec![event])
        });
        let _ = std::fs::remove_file(&staged);
        let committed = match replaced {
            Ok(committed) => committed,
            Err(e) => {
                // Nothing restored: the wrap added for the backup's opener goes again.
                self.settle_restore();
                return Err(failed(e));
            }
        };
        self.writer.publish(committed);
        crate::fault_point("restore-committed");
        self.keep_audit_head_after(true);
        self.rewrap_after_restore(secret);
        self.sessions.end_all();
        self.keys.clear();
        let (predictor, source) = self.registry.active();
        self.swap_model(ActiveModel { predictor, source });
        Ok(())
    }
}

impl Services {
    /// Records the audit log's last entry in the key file, so that entries removed
    /// from the end of the log later are found missing. Done at each sign-in and
    /// sign-out, after a restore, when the app or `serve` stops, and every
    /// [`AUDIT_HEAD_EVERY`] while the log grows.
    pub fn keep_audit_head(&self) {
        self.keep_audit_head_after(false);
    }

    pub(crate) fn keep_audit_head_after(&self, restored: bool) {
        let Some(sealing) = &self.sealing else {
            return;
        };
        let head = match audit::last_linked(&self.read()) {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the audit log's last entry could not be read");
                return;
            }
        };
        let mut keystore = sealing.keystore.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keystore) = keystore.as_mut() {
            if let Err(e) = keystore.record_audit_head(head, restored) {
                tracing::error!(error = %e, "the audit log's last entry was not recorded");
            }
        }
    }

    /// The key file's wraps as a backup carries them; `None` for services opened with
    /// a key but no key file beside the database (`Services::open` in tests and
    /// benches: the vault always has one), whose backups stay bare sealed files.
    fn wraps_for_backup(&self) -> Option<Vec<u8>> {
        let sealing = self.sealing.as_ref()?;
        let keystore = sealing.keystore.lock().unwrap_or_else(|e| e.into_inner());
        keystore.as_ref().map(Keystore::for_backup)
    }

    /// Before a restore commits: records in the key file each account's password hash
    /// now, and wraps the key for the account whose password opened another
    /// installation's backup, if that password signs in to its account in the backup
    /// (`keys::restore`). Refused if the key file cannot be written: the restore must
    /// not leave wraps it cannot settle.
    fn begin_restore(
        &self,
        staged: &Path,
        before: &std::collections::HashMap<String, String>,
        secret: Option<&BackupSecret>,
    ) -> Result<(), CommandError> {
        let Some(sealing) = &self.sealing else {
            return Ok(());
        };
        let in_backup = match secret {
            Some(BackupSecret::Password { .. }) => {
                let conn = db::open_reader_with(staged, Some(&sealing.key)).map_err(internal)?;
                auth::password_hashes(&conn).map_err(internal)?
            }
            _ => Default::default(),
        };
        let opener = match secret {
            Some(BackupSecret::Password { username, password }) => in_backup
                .get(&username.to_ascii_lowercase())
                .filter(|hash| auth::verify_password(password, hash))
                .map(|hash| crate::keys::Opener {
                    username,
                    password,
                    hash_in_backup: hash,
                }),
            _ => None,
        };
        let mut keystore = sealing.keystore.lock().unwrap_or_else(|e| e.into_inner());
        match keystore.as_mut() {
            Some(keystore) => keystore
                .begin_restore(&sealing.key, before, opener)
                .map_err(|e| {
                    CommandError::coded(ErrorCode::RestoreFailed, &[("detail", &e.to_string())])
                }),
            None => Ok(()),
        }
    }

    /// After a restore: the wraps follow the restored accounts (see
    /// [`Services::settle_restore`]); the account whose password opened the backup
    /// keeps or gets its wrap if that password signs in to it.
    fn rewrap_after_restore(&self, secret: Option<&BackupSecret>) {
        let Some(after) = self.settle_restore() else {
            return;
        };
        if let Some(BackupSecret::Password { username, password }) = secret {
            self.with_keystore("after a restore", |keystore, key| {
                let signs_in = after
                    .get(&username.to_ascii_lowercase())
                    .is_some_and(|hash| auth::verify_password(password, hash));
                if signs_in && !keystore.can_unlock(username) {
                    keystore.wrap_for(key, username, password)?;
                }
                Ok(())
            });
        }
    }

    /// Settles a restore begun (also one whose process died before it could): an
    /// account whose password hash the restore changed, or that the restored data
    /// lacks or has disabled, loses its wrap, whose password no longer signs in; the
    /// account gets a new one at its next sign-in while the data is open. Answers the
    /// accounts' password hashes as they are now.
    pub(crate) fn settle_restore(&self) -> Option<std::collections::HashMap<String, String>> {
        let now = match auth::password_hashes(&self.read()) {
            Ok(now) => now,
            Err(e) => {
                tracing::error!(error = %e, "the restored accounts could not be read");
                return None;
            }
        };
        self.with_keystore("after a restore", |keystore, key| {
            keystore.settle_restore(key, &now)
        });
        Some(now)
    }

    pub(crate) fn restore_pending(&self) -> bool {
        let Some(sealing) = &self.sealing else {
            return false;
        };
        let keystore = sealing.keystore.lock().unwrap_or_else(|e| e.into_inner());
        keystore.as_ref().is_some_and(Keystore::restore_pending)
    }

    /// The key the database is sealed with (every database but one in clear being sealed).
    fn data_key(&self) -> Result<&DataKey, CommandError> {
        self.sealing.as_ref().map(|s| &s.key).ok_or_else(|| {
            CommandError::coded(
                ErrorCode::KeyFile,
                &[("detail", "the database is not sealed yet")],
            )
        })
    }
}

fn cannot_write(path: &Path, e: impl std::fmt::Display) -> CommandError {
    CommandError::coded(
        ErrorCode::CannotWrite,
        &[
            ("path", &path.display().to_string()),
            ("detail", &e.to_string()),
        ],
    )
}

/// What opens a backup that another installation sealed.
pub enum BackupSecret {
    /// The password of an account in that backup.
    Password { username: String, password: String },
    /// That installation's recovery key, as typed.
    Recovery(String),
}

fn unlock_backup(keys: &Keystore, secret: Option<&BackupSecret>) -> Result<DataKey, CommandError> {
    use crate::keys::KeyError;
    // A wrap that cannot be used at all (a damaged or hostile file) says so; any
    // other failure is the secret's.
    let refused = |e: KeyError| match e {
        KeyError::Damaged { .. } | KeyError::TooNew { .. } => {
            CommandError::coded(ErrorCode::NotABackup, &[("detail", &e.to_string())])
        }
        _ => CommandError::coded(ErrorCode::BackupSecret, &[]),
    };
    match secret {
        None => Err(CommandError::coded(ErrorCode::BackupFromElsewhere, &[])),
        Some(BackupSecret::Password { username, password }) => {
            keys.unlock(username, password).map_err(refused)
        }
        Some(BackupSecret::Recovery(typed)) => {
            let recovery = crate::keys::RecoveryKey::parse(typed)
                .map_err(|_| CommandError::coded(ErrorCode::BackupSecret, &[]))?;
            keys.unlock_with_recovery(&recovery).map_err(refused)
        }
    }
}
