//! The audit log: IPC types, and every action and status it records.

use serde::{Deserialize, Serialize};

names! {
    /// What happened, as the audit log records it.
    AuditAction {
        SetupCompleted => "setup.completed",
        SignInSucceeded => "sign_in.succeeded",
        SignInFailed => "sign_in.failed",
        AccountLocked => "account.locked",
        SignOut => "sign_out",
        SessionDenied => "session.denied",
        AccountCreated => "account.created",
        AccountChanged => "account.changed",
        ClientCreated => "client.created",
        ClientDeleted => "client.deleted",
        ClientKeyRehashed => "client.key_rehashed",
        PlanChanged => "plan.changed",
        PatientCreated => "patient.created",
        PatientUpdated => "patient.updated",
        // A patient's record opened: details, history and charts.
        PatientViewed => "patient.viewed",
        // A patient search; the entry keeps the number of results, never the query.
        PatientsSearched => "patients.searched",
        AssessmentCreated => "assessment.created",
        AssessmentRefused => "assessment.refused",
        ModelTrained => "model.trained",
        ModelActivated => "model.activated",
        GatewayRequest => "gateway.request",
        DatabaseBackup => "database.backup",
        DatabaseRestored => "database.restored",
        AuditExported => "audit.exported",
        SettingsChanged => "settings.changed",
        ReportExported => "report.exported",
        ReportViewed => "report.viewed",
        ReportPrinted => "report.printed",
        SupportBundleExported => "support.exported",
        // A database written in clear by an earlier release, sealed with the data key.
        DatabaseSealed => "database.sealed",
        RecoveryKeyIssued => "recovery_key.issued",
        // Every password lost: an account's password set with the recovery key.
        RecoveryKeyUsed => "recovery_key.used",
    }
}

names! {
    /// How it ended.
    AuditStatus {
        Ok => "ok",
        Denied => "denied",
        Invalid => "invalid",
        Error => "error",
        Cancelled => "cancelled",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportAuditArgs {
    pub token: String,
    pub filter: AuditFilter,
}

/// Filters of the audit log; every one optional. Times are RFC 3339 UTC.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    /// A patient's record number: every entry about that patient (who looked at
    /// or changed this record).
    #[serde(default)]
    pub patient: Option<String>,
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

/// What checking the audit trail's hash chain found (`cardiorisk audit verify`,
/// the Audit page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditChainReport {
    /// Entries in the log.
    pub entries: u64,
    /// Entries written before the chain began (by a version without it); never
    /// checked, and only allowed before the first chained entry.
    pub unchained: u64,
    /// When the chain began (its first entry's time), if it has.
    pub chained_since: Option<String>,
    /// The first link that does not hold, if any.
    pub broken: Option<AuditChainBreak>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditChainBreak {
    /// The entry where the chain stops holding.
    pub id: i64,
    pub at: String,
    pub reason: AuditChainFault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditChainFault {
    /// Its content is not what was chained: it was changed, or moved here.
    Changed,
    /// Entries before it are missing.
    Missing,
    /// It carries no link although the chain had begun.
    Unlinked,
    /// The key file recorded it as the log's last entry, and the log now ends before
    /// it: the newest entries were removed.
    Truncated,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_names_travel_as_their_names_and_unknown_ones_are_refused() {
        for a in AuditAction::ALL {
            let json = serde_json::to_value(a).unwrap();
            assert_eq!(json, a.as_str());
            assert_eq!(serde_json::from_value::<AuditAction>(json).unwrap(), *a);
        }
        assert_eq!(AuditAction::ALL.len(), 32);
        for s in AuditStatus::ALL {
            assert_eq!(AuditStatus::parse(s.as_str()), Some(*s));
        }
        assert!(serde_json::from_value::<AuditAction>("patient.deleted".into()).is_err());
        // The report's choices arrive over IPC the same way: an unknown one is refused.
        let args = |language: &str| {
            serde_json::from_value::<crate::ReportArgs>(serde_json::json!({
                "token": "t", "patient_id": 1, "format": "pdf",
                "language": language, "units": "conventional",
            }))
        };
        assert_eq!(args("es").unwrap().language, crate::Language::Spanish);
        let refused = args("fr").unwrap_err().to_string();
        assert!(refused.contains("unknown Language"), "{refused}");
    }
}
