//! Every IPC command declared once: its name, argument type and reply type. The UI
//! calls a command through its type (`call::<command::Predict>(&args)`), and the
//! backend's dispatcher is generated from the same list ([`with_commands!`]), with a
//! handler required for each: a changed field, reply or name breaks the build on
//! both sides, and a command without a handler does not compile.

use serde::{de::DeserializeOwned, Serialize};

/// One IPC command.
pub trait Command {
    /// The name the webview invokes.
    const NAME: &'static str;
    /// Its arguments, one JSON object whose fields are the parameters.
    type Args: Serialize + DeserializeOwned + Send + 'static;
    /// What it answers on success (failures are a `CommandError`).
    type Reply: Serialize + DeserializeOwned + Send + 'static;
}

/// Calls the macro `$then!` with the list of every command, as
/// `Type = "name", Args => Reply;` entries. The list is written here only.
#[macro_export]
macro_rules! with_commands {
    ($then:path) => {
        $then! {
            NeedsSetup = "needs_setup", $crate::NoArgs => bool;
            SetUp = "set_up", $crate::SetupArgs => $crate::SessionInfo;
            SignIn = "sign_in", $crate::SignInArgs => $crate::SessionInfo;
            SignOut = "sign_out", $crate::TokenArgs => ();
            KeepAlive = "keep_alive", $crate::TokenArgs => ();
            UiReady = "ui_ready", $crate::UiReadyArgs => ();
            Preferences = "preferences", $crate::NoArgs => $crate::Preferences;
            SetPreference = "set_preference", $crate::PreferenceArgs => ();
            ModelStatus = "model_status", $crate::NoArgs => $crate::ModelStatus;
            Predict = "predict", $crate::PredictArgs => $crate::AssessmentOutcome;
            WhatIf = "what_if", $crate::WhatIfArgs => $crate::Prediction;
            RecentAssessments = "recent_assessments", $crate::RecentArgs => Vec<$crate::AssessmentRecord>;
            CacheStats = "cache_stats", $crate::TokenArgs => $crate::CacheStats;
            CreatePatient = "create_patient", $crate::CreatePatientArgs => $crate::Patient;
            UpdatePatient = "update_patient", $crate::UpdatePatientArgs => $crate::Patient;
            SearchPatients = "search_patients", $crate::SearchPatientsArgs => Vec<$crate::Patient>;
            PatientRecord = "patient_record", $crate::PatientArgs => $crate::PatientRecord;
            ReportRecord = "report_record", $crate::PatientArgs => $crate::PatientRecord;
            PrintReport = "print_report", $crate::PatientArgs => ();
            ExportReport = "export_report", $crate::ReportArgs => Option<String>;
            AuditLog = "audit_log", $crate::AuditQueryArgs => $crate::AuditPage;
            ExportAudit = "export_audit", $crate::ExportAuditArgs => Option<String>;
            VerifyAudit = "verify_audit", $crate::TokenArgs => $crate::AuditChainReport;
            ReissueRecoveryKey = "reissue_recovery_key", $crate::TokenArgs => String;
            PrintRecoveryKey = "print_recovery_key", $crate::TokenArgs => ();
            ListUsers = "list_users", $crate::TokenArgs => Vec<$crate::UserInfo>;
            CreateUser = "create_user", $crate::CreateUserArgs => $crate::UserInfo;
            SetUserDisabled = "set_user_disabled", $crate::SetDisabledArgs => ();
            SetUserRole = "set_user_role", $crate::SetRoleArgs => ();
            ResetPassword = "reset_password", $crate::ResetPasswordArgs => ();
            ListClients = "list_clients", $crate::TokenArgs => Vec<$crate::ApiClient>;
            CreateClient = "create_client", $crate::CreateClientArgs => $crate::NewApiClient;
            DeleteClient = "delete_client", $crate::ClientArgs => ();
            GatewayStatus = "gateway_status", $crate::TokenArgs => $crate::GatewayStatus;
            SetGateway = "set_gateway", $crate::SetGatewayArgs => $crate::GatewayStatus;
            ListModels = "list_models", $crate::TokenArgs => Vec<$crate::ModelCard>;
            StartTraining = "start_training", $crate::StartTrainingArgs => Option<$crate::TrainingStatus>;
            TrainingStatus = "training_status", $crate::TokenArgs => $crate::TrainingStatus;
            CancelTraining = "cancel_training", $crate::TokenArgs => ();
            ActivateModel = "activate_model", $crate::VersionArgs => ();
            Backup = "backup", $crate::TokenArgs => Option<String>;
            Restore = "restore", $crate::TokenArgs => Option<String>;
            RestoreWithSecret = "restore_with_secret", $crate::RestoreSecretArgs => Option<String>;
            DataLocation = "data_location", $crate::TokenArgs => String;
            SupportLogLocation = "support_log_location", $crate::TokenArgs => String;
            ExportSupportBundle = "export_support_bundle", $crate::TokenArgs => Option<String>;
        }
    };
}

macro_rules! declare_commands {
    ($($name:ident = $text:literal, $args:ty => $reply:ty;)*) => {
        /// The commands, one uninhabited type each (see [`Command`]).
        pub mod command {
            $(
                #[doc = concat!("`", $text, "`")]
                pub enum $name {}
                impl super::Command for $name {
                    const NAME: &'static str = $text;
                    type Args = $args;
                    type Reply = $reply;
                }
            )*
            /// Every command's name, in declaration order.
            pub const ALL: &[&str] = &[$($text),*];
        }
    };
}

with_commands!(declare_commands);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_unique_and_spelled_as_the_webview_invokes_them() {
        let mut names = command::ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), command::ALL.len(), "a name declared twice");
        for name in command::ALL {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
        }
        assert_eq!(<command::Predict as Command>::NAME, "predict");
    }
}
