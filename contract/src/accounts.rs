//! Accounts, sessions, patients, audit and administration: IPC types.

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetPasswordArgs {
    pub token: String,
    pub user_id: i64,
    pub new_password: String,
}

/// Minimum password length; passwords are otherwise free.
pub const MIN_PASSWORD: usize = 10;

/// Checks a username: 3 to 32 characters, letters, digits, '.', '-' or '_'.
pub fn check_username(name: &str) -> Result<(), String> {
    let ok = (3..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err("username must be 3 to 32 characters: letters, digits, '.', '-' or '_'".into())
    }
}

pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=256).contains(&n) {
        Err(format!("password must be {MIN_PASSWORD} to 256 characters"))
    } else {
        Ok(())
    }
}

/// A patient as entered by a clinician.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientInput {
    /// The clinic's record number: 1 to 32 letters, digits, '-' or '/'.
    pub record_number: String,
    pub name: String,
    pub birth_year: Option<i32>,
    pub notes: String,
}

impl PatientInput {
    /// Every problem, each naming its field.
    pub fn check(&self) -> Result<(), Vec<(String, String)>> {
        let mut errors = Vec::new();
        let rn = self.record_number.trim();
        if rn.is_empty()
            || rn.len() > 32
            || !rn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        {
            errors.push((
                "record_number".into(),
                "record_number must be 1 to 32 letters, digits, '-' or '/'".into(),
            ));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(("name".into(), "name must be 1 to 100 characters".into()));
        }
        if let Some(y) = self.birth_year {
            if !(1900..=2100).contains(&y) {
                errors.push((
                    "birth_year".into(),
                    "birth_year must be from 1900 to 2100".into(),
                ));
            }
        }
        if self.notes.chars().count() > 2000 {
            errors.push((
                "notes".into(),
                "notes must be at most 2000 characters".into(),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub id: i64,
    pub record_number: String,
    pub name: String,
    pub birth_year: Option<i32>,
    pub notes: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatePatientArgs {
    pub token: String,
    pub patient: PatientInput,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdatePatientArgs {
    pub token: String,
    pub patient_id: i64,
    pub patient: PatientInput,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchPatientsArgs {
    pub token: String,
    /// Matches the name or the record number; empty lists everyone.
    pub query: String,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatientArgs {
    pub token: String,
    pub patient_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientRecord {
    pub patient: Patient,
    /// Oldest first.
    pub history: Vec<crate::AssessmentRecord>,
}

/// Every action the audit log records (the backend's `audit::Action` names).
pub const AUDIT_ACTIONS: [&str; 20] = [
    "setup.completed",
    "sign_in.succeeded",
    "sign_in.failed",
    "account.locked",
    "sign_out",
    "session.denied",
    "account.created",
    "account.changed",
    "patient.created",
    "patient.updated",
    "assessment.created",
    "assessment.refused",
    "model.trained",
    "model.activated",
    "gateway.request",
    "database.backup",
    "database.restored",
    "audit.exported",
    "settings.changed",
    "report.exported",
];

/// Every status of an audit entry.
pub const AUDIT_STATUSES: [&str; 5] = ["ok", "denied", "invalid", "error", "cancelled"];

/// Arguments of the report export: format "html" or "pdf", language "en" or "es",
/// units "original" or "conventional".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportArgs {
    pub token: String,
    pub patient_id: i64,
    pub format: String,
    pub language: String,
    pub units: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportAuditArgs {
    pub token: String,
    pub filter: AuditFilter,
}

/// Filters of the audit log; every one optional. Times are RFC 3339 UTC.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    pub username: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditQueryArgs {
    pub token: String,
    pub filter: AuditFilter,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub username: Option<String>,
    pub action: String,
    pub status: String,
    pub elapsed_ms: f64,
    pub subject: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathArgs {
    pub token: String,
    pub path: String,
}

/// An integration client of the REST gateway (the original system's external user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiClient {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub per_minute: u32,
    /// The key's public prefix, to tell keys apart; the key itself is never stored.
    pub key_prefix: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateClientArgs {
    pub token: String,
    pub name: String,
    pub plan: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientArgs {
    pub token: String,
    pub client_id: i64,
}

/// A newly created client with its key, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiClient {
    pub client: ApiClient,
    pub api_key: String,
}

/// The local REST gateway's setting and state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayStatus {
    pub enabled: bool,
    pub port: u16,
    /// Where it listens now, e.g. "127.0.0.1:8080"; `None` when off.
    pub listening: Option<String>,
    /// Why it is not listening although enabled (e.g. the port is taken).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetGatewayArgs {
    pub token: String,
    pub enabled: bool,
    pub port: u16,
}

/// Ports below this are refused (they need privileges).
pub const MIN_GATEWAY_PORT: u16 = 1024;
pub const DEFAULT_GATEWAY_PORT: u16 = 8080;
