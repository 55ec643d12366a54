//! Accounts and sessions: first-run set-up, sign-in with lock-outs, sign-out, and
//! the administrators' account management.

use super::*;

impl Services {
    pub fn needs_setup(&self) -> Result<bool, CommandError> {
        Ok(auth::count_users(&self.read()).map_err(internal)? == 0)
    }

    fn session_for(&self, info: UserInfo) -> SessionInfo {
        let token = self.sessions.start(Actor {
            user_id: info.id,
            username: info.username.clone(),
            role: info.role,
        });
        SessionInfo {
            token,
            user: info,
            idle_timeout_secs: self.sessions.idle().as_secs(),
            recovery_key: None,
        }
    }

    /// A session for an account whose password was checked elsewhere (first run,
    /// and the sign-in that sealed a database in clear).
    pub(crate) fn session_for_name(&self, username: &str) -> Result<SessionInfo, CommandError> {
        let account = auth::find_by_name(&self.conn(), username.trim())
            .map_err(internal)?
            .ok_or_else(wrong_credentials)?;
        Ok(self.session_for(account.info))
    }

    /// A new recovery key for this computer's data, shown once; the old one stops
    /// working when this returns.
    pub fn reissue_recovery_key(&self, token: &str) -> Result<String, CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::RecoveryKeyIssued)?;
        let no_file = || {
            CommandError::coded(
                ErrorCode::KeyFile,
                &[("detail", "this computer's data has no key file")],
            )
        };
        let sealing = self.sealing.as_ref().ok_or_else(no_file)?;
        let recovery = {
            let mut keystore = sealing.keystore.lock().unwrap_or_else(|e| e.into_inner());
            let keystore = keystore.as_mut().ok_or_else(no_file)?;
            keystore.reissue_recovery(&sealing.key).map_err(|e| {
                CommandError::coded(ErrorCode::KeyFile, &[("detail", &e.to_string())])
            })?
        };
        self.record(
            Event::new(Action::RecoveryKeyIssued, Status::Ok, started)
                .by(actor.user_id, &actor.username)
                .detail("the previous recovery key no longer opens the data"),
        );
        Ok(recovery.display().to_string())
    }

    /// Every password lost: the recovery key opened the data (see the vault), and an
    /// administrator's account gets `new_password`, unlocked and wrapped again.
    pub(crate) fn recover_account(
        &self,
        username: &str,
        new_password: &str,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        check_password("new_password", new_password)?;
        let account = auth::find_by_name(&self.conn(), username.trim())
            .map_err(internal)?
            .filter(|a| a.info.role == Role::Admin && !a.info.disabled)
            .ok_or_else(|| CommandError::coded(ErrorCode::NoAccount, &[("id", username.trim())]))?;
        let info = account.info;
        let hash = auth::hash_password(new_password);
        self.commit(
            |_| {
                Event::new(Action::RecoveryKeyUsed, Status::Ok, started)
                    .by(info.id, &info.username)
                    .detail("password set with the recovery key")
            },
            |tx| {
                auth::set_password(tx, info.id, &hash)
                    .map(drop)
                    .map_err(internal)
            },
        )?;
        self.sessions.end_user(info.id);
        self.with_keystore(
            "wrap a password set with the recovery key",
            |keystore, key| keystore.wrap_for(key, &info.username, new_password),
        );
        Ok(())
    }

    pub(crate) fn check_new_user(user: &NewUser) -> Result<(), CommandError> {
        let mut problems = Vec::new();
        if let Err(e) = check_username(user.username.trim()) {
            problems.push(e);
        }
        let name = user.display_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push(FieldError::rule("display_name", &[]));
        }
        if let Err(e) = check_password("password", &user.password) {
            problems.push(e);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CommandError::fields(problems))
        }
    }

    /// First run: creates the administrator. Refused once any account exists.
    pub fn set_up(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<SessionInfo, CommandError> {
        let started = Instant::now();
        let user = NewUser {
            username: username.trim().to_string(),
            display_name: display_name.trim().to_string(),
            password: password.to_string(),
            role: Role::Admin,
        };
        Self::check_new_user(&user)?;
        let hash = auth::hash_password(&user.password);
        let info = self.commit(
            |u: &UserInfo| {
                Event::new(Action::SetupCompleted, Status::Ok, started).by(u.id, &u.username)
            },
            |tx| {
                if auth::count_users(tx).map_err(internal)? > 0 {
                    return Err(CommandError::coded(ErrorCode::AlreadySetUp, &[]));
                }
                let id = auth::insert(tx, &user.username, &user.display_name, Role::Admin, &hash)
                    .map_err(internal)?;
                Ok(UserInfo {
                    id,
                    username: user.username.clone(),
                    display_name: user.display_name.clone(),
                    role: Role::Admin,
                    disabled: false,
                })
            },
        )?;
        Ok(self.session_for(info))
    }

    /// Signs in. Unknown and existing names are answered alike: same messages, both
    /// lock after five failures in a row, kept across restarts, and an unknown name
    /// is answered after as long as a password check takes. Blocks for that pacing;
    /// [`Services::sign_in_paced`] leaves the wait to the caller.
    pub fn sign_in(&self, username: &str, password: &str) -> Result<SessionInfo, CommandError> {
        let (outcome, not_before) = self.sign_in_paced(username, password);
        wait_until(not_before);
        outcome
    }

    /// As [`Services::sign_in`], returning with the moment before which the answer
    /// must not be given, so an async caller waits without holding a thread. Only a
    /// real account's check computes a hash; an unknown or locked name costs a
    /// database write at most.
    pub fn sign_in_paced(
        &self,
        username: &str,
        password: &str,
    ) -> (Result<SessionInfo, CommandError>, Instant) {
        let started = Instant::now();
        let outcome = self.check_sign_in(username, password, started);
        // The time a password check would have added after the same reads and write.
        let not_before = match &outcome {
            Err(SignInRefusal::Unchecked(_)) => Instant::now() + auth::typical_verification(),
            _ => started,
        };
        (outcome.map_err(SignInRefusal::into_error), not_before)
    }

    fn check_sign_in(
        &self,
        username: &str,
        password: &str,
        started: Instant,
    ) -> Result<SessionInfo, SignInRefusal> {
        let checked = SignInRefusal::Checked;
        let account = auth::find_by_name(&self.conn(), username.trim())
            .map_err(internal)
            .map_err(checked)?;
        let Some(account) = account else {
            return Err(self.unknown_name_failed(username, started));
        };
        let info = account.info.clone();
        if auth::is_locked(&self.conn(), &account)
            .map_err(internal)
            .map_err(checked)?
        {
            self.record(
                Event::new(Action::SignInFailed, Status::Denied, started)
                    .by(info.id, &info.username)
                    .detail("account locked"),
            );
            return Err(checked(locked_error()));
        }
        if !auth::verify_password(password, &account.password_hash) {
            let locked = self
                .commit(
                    |locked: &bool| {
                        let action = if *locked {
                            Action::AccountLocked
                        } else {
                            Action::SignInFailed
                        };
                        Event::new(action, Status::Denied, started)
                            .by(info.id, &info.username)
                            .detail("wrong password")
                    },
                    |tx| auth::record_failure(tx, info.id).map_err(internal),
                )
                .map_err(checked)?;
            return Err(checked(if locked {
                now_locked_error()
            } else {
                wrong_credentials()
            }));
        }
        // Only after the password is right: a disabled account must not reveal itself
        // to someone guessing names.
        if info.disabled {
            self.record(
                Event::new(Action::SignInFailed, Status::Denied, started)
                    .by(info.id, &info.username)
                    .detail("account disabled"),
            );
            return Err(checked(CommandError::coded(
                ErrorCode::AccountDisabled,
                &[],
            )));
        }
        self.commit(
            |_| {
                Event::new(Action::SignInSucceeded, Status::Ok, started).by(info.id, &info.username)
            },
            |tx| auth::record_success(tx, info.id).map_err(internal),
        )
        .map_err(checked)?;
        // An account without a wrap (made before encryption, re-enabled, or whose
        // re-wrap was cut short) can unlock this computer from now on.
        self.ensure_wrap(&info.username, password);
        self.keep_audit_head();
        Ok(self.session_for(info))
    }

    /// Runs `change` on the key file, if this database has one; a failure is noted in
    /// the support log and does not undo the account change that came with it (an
    /// account without a wrap gets one at its next sign-in).
    pub(super) fn with_keystore(
        &self,
        what: &str,
        change: impl FnOnce(&mut Keystore, &DataKey) -> Result<(), crate::keys::KeyError>,
    ) {
        let Some(sealing) = &self.sealing else {
            return;
        };
        let mut keystore = sealing.keystore.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keystore) = keystore.as_mut() {
            if let Err(e) = change(keystore, &sealing.key) {
                tracing::error!(error = %e, "the key file could not be updated ({what})");
            }
        }
    }

    fn ensure_wrap(&self, username: &str, password: &str) {
        self.with_keystore("wrap at sign-in", |keystore, key| {
            if keystore.can_unlock(username) {
                return Ok(());
            }
            keystore.wrap_for(key, username, password)
        });
    }

    /// A sign-in for a name with no account, counted and locked like a real one's,
    /// without a hash: the caller paces the answer instead.
    fn unknown_name_failed(&self, username: &str, started: Instant) -> SignInRefusal {
        let who = format!("unknown user #{}", self.unknown_names.tag(username));
        let locked_before = match self.unknown_names.is_locked(&self.conn(), username) {
            Ok(locked) => locked,
            Err(e) => return SignInRefusal::Checked(internal(e)),
        };
        if locked_before {
            self.record(
                Event::new(Action::SignInFailed, Status::Denied, started)
                    .detail(format!("{who}: account locked")),
            );
            return SignInRefusal::Checked(locked_error());
        }
        let counted = self.commit(
            |locked: &bool| {
                let action = if *locked {
                    Action::AccountLocked
                } else {
                    Action::SignInFailed
                };
                Event::new(action, Status::Denied, started).detail(format!("{who}: wrong password"))
            },
            |tx| self.unknown_names.failed(tx, username).map_err(internal),
        );
        SignInRefusal::Unchecked(match counted {
            Ok(true) => now_locked_error(),
            Ok(false) => wrong_credentials(),
            Err(e) => e,
        })
    }

    /// The person is still at the keyboard (typing or clicking without calling
    /// anything else): the session's idle time starts again.
    pub fn keep_alive(&self, token: &str) -> Result<(), CommandError> {
        self.session(token).map(drop)
    }

    pub fn sign_out(&self, token: &str) -> Result<(), CommandError> {
        let started = Instant::now();
        if let Some(actor) = self.sessions.end(token) {
            self.record(
                Event::new(Action::SignOut, Status::Ok, started).by(actor.user_id, &actor.username),
            );
            self.keep_audit_head();
        }
        Ok(())
    }

    pub fn list_users(&self, token: &str) -> Result<Vec<UserInfo>, CommandError> {
        self.admin(token, Action::AccountChanged)?;
        auth::list(&self.read()).map_err(internal)
    }

    /// Creates an account; its password unlocks this computer from then on.
    pub fn create_user(&self, token: &str, user: &NewUser) -> Result<UserInfo, CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::AccountCreated)?;
        Self::check_new_user(user)?;
        let hash = auth::hash_password(&user.password);
        let created = self.commit(
            |u: &UserInfo| {
                Event::new(Action::AccountCreated, Status::Ok, started)
                    .by(actor.user_id, &actor.username)
                    .about(format!("user:{}", u.id))
                    .detail(format!("{} ({})", u.username, u.role.as_str()))
            },
            |tx| {
                let id = auth::insert(
                    tx,
                    user.username.trim(),
                    user.display_name.trim(),
                    user.role,
                    &hash,
                )
                .map_err(|e| {
                    if unique_violation(&e) {
                        CommandError::coded(
                            ErrorCode::UsernameTaken,
                            &[("username", user.username.trim())],
                        )
                    } else {
                        internal(e)
                    }
                })?;
                Ok(UserInfo {
                    id,
                    username: user.username.trim().into(),
                    display_name: user.display_name.trim().into(),
                    role: user.role,
                    disabled: false,
                })
            },
        )?;
        self.with_keystore("wrap for a new account", |keystore, key| {
            keystore.wrap_for(key, &created.username, &user.password)
        });
        Ok(created)
    }

    /// Makes an account a clinician or an administrator. Administrators cannot
    /// change their own role, so there is always one left. The account's sessions
    /// end, so the new role applies from its next sign-in.
    pub fn set_role(&self, token: &str, user_id: i64, role: Role) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::AccountChanged)?;
        if actor.user_id == user_id {
            return Err(CommandError::coded(ErrorCode::OwnRole, &[]));
        }
        self.change_account(
            &actor,
            started,
            user_id,
            format!("role {}", role.as_str()),
            |tx| auth::set_role(tx, user_id, role),
        )?;
        self.sessions.end_user(user_id);
        Ok(())
    }

    /// One audited change to an existing account; `NotFound` when no row has `user_id`.
    fn change_account(
        &self,
        admin: &AdminSession,
        started: Instant,
        user_id: i64,
        detail: String,
        update: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<usize>,
    ) -> Result<(), CommandError> {
        self.commit(
            |_| {
                Event::new(Action::AccountChanged, Status::Ok, started)
                    .by(admin.user_id, &admin.username)
                    .about(format!("user:{user_id}"))
                    .detail(detail)
            },
            |tx| match update(tx).map_err(internal)? {
                0 => Err(CommandError::coded(
                    ErrorCode::NoAccount,
                    &[("id", &user_id.to_string())],
                )),
                _ => Ok(()),
            },
        )
    }

    pub fn set_disabled(
        &self,
        token: &str,
        user_id: i64,
        disabled: bool,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::AccountChanged)?;
        if actor.user_id == user_id && disabled {
            return Err(CommandError::coded(ErrorCode::OwnAccount, &[]));
        }
        let detail = if disabled { "disabled" } else { "enabled" };
        self.change_account(&actor, started, user_id, detail.into(), |tx| {
            auth::set_disabled(tx, user_id, disabled)
        })?;
        if disabled {
            self.sessions.end_user(user_id);
            // A disabled account's password no longer unlocks this computer; enabled
            // again, it does from its next sign-in on a computer already open.
            if let Some(account) = auth::find_by_id(&self.conn(), user_id).map_err(internal)? {
                self.with_keystore("remove a disabled account's wrap", |keystore, _| {
                    keystore.remove(&account.info.username).map(drop)
                });
            }
        }
        Ok(())
    }

    pub fn reset_password(
        &self,
        token: &str,
        user_id: i64,
        new_password: &str,
    ) -> Result<(), CommandError> {
        let started = Instant::now();
        let actor = self.admin(token, Action::AccountChanged)?;
        check_password("new_password", new_password)?;
        let hash = auth::hash_password(new_password);
        let account = auth::find_by_id(&self.conn(), user_id)
            .map_err(internal)?
            .ok_or_else(|| {
                CommandError::coded(ErrorCode::NoAccount, &[("id", &user_id.to_string())])
            })?;
        let username = account.info.username;
        // The old wrap goes first, the new one after the commit: killed between, the
        // account has no wrap and the password in the database is the old or the new
        // one, and its next sign-in on an open computer wraps for it again.
        self.with_keystore("remove the wrap of a reset password", |keystore, _| {
            keystore.remove(&username).map(drop)
        });
        self.change_account(&actor, started, user_id, "password reset".into(), |tx| {
            auth::set_password(tx, user_id, &hash)
        })?;
        self.sessions.end_user(user_id);
        if !account.info.disabled {
            self.with_keystore("wrap a reset password", |keystore, key| {
                keystore.wrap_for(key, &username, new_password)
            });
        }
        Ok(())
    }
}

fn wrong_credentials() -> CommandError {
    CommandError::coded(ErrorCode::WrongCredentials, &[])
}

fn locked_error() -> CommandError {
    CommandError::coded(
        ErrorCode::AccountLocked,
        &[
            ("attempts", &auth::MAX_FAILED.to_string()),
            ("minutes", &auth::LOCK_MINUTES.to_string()),
        ],
    )
}

fn now_locked_error() -> CommandError {
    CommandError::coded(
        ErrorCode::AccountNowLocked,
        &[("minutes", &auth::LOCK_MINUTES.to_string())],
    )
}

/// Why a sign-in was refused, and whether a password was checked to know it (an
/// unchecked refusal is paced as if one had been).
enum SignInRefusal {
    Checked(CommandError),
    Unchecked(CommandError),
}

impl SignInRefusal {
    fn into_error(self) -> CommandError {
        match self {
            SignInRefusal::Checked(e) | SignInRefusal::Unchecked(e) => e,
        }
    }
}
