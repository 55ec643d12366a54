//! Accounts and sessions: IPC types and the rules for names and passwords.

use crate::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Clinician,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clinician => "clinician",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Role::Admin),
            "clinician" => Some(Role::Clinician),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
}

/// Returned by a successful sign-in or first-run set-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub token: String,
    pub user: UserInfo,
    /// The session ends after this many seconds without a command.
    pub idle_timeout_secs: u64,
    /// A recovery key made by this sign-in (first run, or the first sign-in that
    /// sealed a database in clear), shown once: written nowhere in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupArgs {
    pub username: String,
    pub display_name: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInArgs {
    pub username: String,
    pub password: String,
}

/// Arguments of commands that need only a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenArgs {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateUserArgs {
    pub token: String,
    pub user: NewUser,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetDisabledArgs {
    pub token: String,
    pub user_id: i64,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetRoleArgs {
    pub token: String,
    pub user_id: i64,
    pub role: Role,
}

/// Restoring the backup last chosen in the restore dialog, which another installation
/// sealed: with the password of `username`, an account in that backup, or (no
/// username) that installation's recovery key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreSecretArgs {
    pub token: String,
    pub username: Option<String>,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetPasswordArgs {
    pub token: String,
    pub user_id: i64,
    pub new_password: String,
}

/// Minimum password length; passwords are otherwise free.
pub const MIN_PASSWORD: usize = 10;

/// Checks a username: 3 to 32 characters, letters, digits, '.', '-' or '_'.
pub fn check_username(name: &str) -> Result<(), FieldError> {
    let ok = (3..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::rule("username", &[]))
    }
}

/// Checks a password given in `field` ("password" or "new_password").
pub fn check_password(field: &str, password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=256).contains(&n) {
        Err(FieldError::rule(
            field,
            &[("min", &MIN_PASSWORD.to_string())],
        ))
    } else {
        Ok(())
    }
}
