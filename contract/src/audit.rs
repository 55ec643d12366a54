//! The audit log: IPC types, and every action and status it records.

use serde::{Deserialize, Serialize};

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
