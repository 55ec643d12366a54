//! The IPC dispatcher, generated from the contract's one list of commands
//! (`cardiorisk_contract::with_commands!`): each declared command must have a
//! [`Handler`] here or the app does not compile, and nothing else is invoked. Every
//! handler runs its service call on the blocking pool ([`Cx::services`]), so neither
//! the window's thread nor the async workers wait on hashing, the disk or the model.

use super::{logged, Data, Reply};
use cardiorisk_contract::{command, Command, CommandError, ErrorCode};
use cardiorisk_core::gateway::Control;
use cardiorisk_core::service::Services;
use std::future::Future;
use std::sync::Arc;
use tauri::ipc::{Invoke, InvokeBody, InvokeError};
use tauri::Manager;

/// What a handler may reach: the app's state and the webview that invoked it.
pub(super) struct Cx {
    pub(super) app: tauri::AppHandle,
    pub(super) webview: tauri::Webview,
}

impl Cx {
    /// Runs `call` with the services on the blocking pool; refused until a sign-in
    /// has opened the data.
    pub(super) async fn services<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Services) -> Reply<T> + Send + 'static,
    ) -> Reply<T> {
        let services = self.data().services()?;
        blocking(move || call(&services)).await
    }

    pub(super) fn data(&self) -> Arc<Data> {
        Arc::clone(self.app.state::<Arc<Data>>().inner())
    }

    /// Runs `call` with the gateway's control on the blocking pool (starting or
    /// stopping it waits for its port and for requests in flight).
    pub(super) async fn gateway<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Control) -> Reply<T> + Send + 'static,
    ) -> Reply<T> {
        let gateway = self
            .app
            .try_state::<Arc<Control>>()
            .map(|g| Arc::clone(g.inner()))
            .ok_or_else(|| CommandError::coded(ErrorCode::SignInFirst, &[]))?;
        blocking(move || call(&gateway)).await
    }
}

/// Runs `call` on the blocking pool.
async fn blocking<T: Send + 'static>(call: impl FnOnce() -> Reply<T> + Send + 'static) -> Reply<T> {
    tauri::async_runtime::spawn_blocking(call)
        .await
        .unwrap_or_else(|e| {
            Err(CommandError::coded(
                ErrorCode::CommandStopped,
                &[("detail", &e.to_string())],
            ))
        })
}

/// A command's backend: written against the contract's declaration, so its
/// arguments and reply are the types the UI sends and expects.
pub(super) trait Handler: Command {
    fn handle(cx: Cx, args: Self::Args) -> impl Future<Output = Reply<Self::Reply>> + Send;
}

/// Answers one invocation of `C`: arguments read from the message, the handler run on
/// the async runtime, a failure noted in the support log under the command's name.
fn run<C: Handler>(invoke: Invoke) -> bool {
    let Invoke {
        message, resolver, ..
    } = invoke;
    let args = match message.payload() {
        InvokeBody::Json(value) => serde_json::from_value::<C::Args>(value.clone())
            .map_err(|e| format!("the {} command's arguments do not fit: {e}", C::NAME)),
        InvokeBody::Raw(_) => Err(format!("the {} command takes JSON arguments", C::NAME)),
    };
    let args = match args {
        Ok(args) => args,
        Err(e) => {
            resolver.reject(logged::<()>(C::NAME, Err(CommandError::internal(e))).unwrap_err());
            return true;
        }
    };
    let webview = message.webview();
    let cx = Cx {
        app: webview.app_handle().clone(),
        webview,
    };
    resolver.respond_async(async move {
        logged(C::NAME, C::handle(cx, args).await).map_err(InvokeError::from)
    });
    true
}

macro_rules! dispatcher {
    ($($name:ident = $text:literal, $args:ty => $reply:ty;)*) => {
        /// Tauri's invoke handler: the declared command of that name, or `false`
        /// (Tauri then answers that the command is unknown).
        pub(super) fn dispatch(invoke: Invoke) -> bool {
            match invoke.message.command() {
                $($text => run::<command::$name>(invoke),)*
                _ => false,
            }
        }

        /// The names [`dispatch`] answers, in the contract's order.
        #[cfg(test)]
        pub(super) const DISPATCHED: &[&str] = &[$(<command::$name as Command>::NAME),*];
    };
}

cardiorisk_contract::with_commands!(dispatcher);

/// A handler that is one service call with the signed-in user's arguments.
macro_rules! service_call {
    ($command:ident, |$s:ident, $a:ident| $call:expr) => {
        impl Handler for command::$command {
            async fn handle(cx: Cx, $a: Self::Args) -> Reply<Self::Reply> {
                cx.services(move |$s| $call).await
            }
        }
    };
}

impl Handler for command::NeedsSetup {
    async fn handle(cx: Cx, _a: Self::Args) -> Reply<bool> {
        let data = cx.data();
        blocking(move || data.needs_setup()).await
    }
}

impl Handler for command::SetUp {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let (data, app) = (cx.data(), cx.app.clone());
        blocking(move || data.set_up(&app, &a.username, &a.display_name, &a.password)).await
    }
}

impl Handler for command::SignIn {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        let (data, app) = (cx.data(), cx.app.clone());
        blocking(move || data.sign_in(&app, &a.username, &a.password)).await
    }
}

impl Handler for command::ReissueRecoveryKey {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<String> {
        cx.services(move |s| s.reissue_recovery_key(&a.token)).await
    }
}
service_call!(SignOut, |s, a| s.sign_out(&a.token));
service_call!(KeepAlive, |s, a| s.keep_alive(&a.token));
impl Handler for command::Preferences {
    async fn handle(cx: Cx, _a: Self::Args) -> Reply<Self::Reply> {
        let data = cx.data();
        blocking(move || data.preferences()).await
    }
}

impl Handler for command::SetPreference {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<()> {
        let data = cx.data();
        blocking(move || data.set_preference(&a.token, &a.key, &a.value)).await
    }
}

service_call!(ModelStatus, |s, _a| Ok(s.model_status()));
service_call!(Predict, |s, a| s.assess(&a.token, a.patient_id, &a.inputs));
service_call!(WhatIf, |s, a| s.what_if(&a.token, &a.inputs));
service_call!(RecentAssessments, |s, a| s.recent(&a.token, a.limit));
service_call!(CacheStats, |s, a| s.cache_stats(&a.token));
service_call!(CreatePatient, |s, a| s.create_patient(&a.token, &a.patient));
service_call!(UpdatePatient, |s, a| s.update_patient(
    &a.token,
    a.patient_id,
    &a.patient
));
service_call!(SearchPatients, |s, a| s
    .search_patients(&a.token, &a.query, a.limit));
service_call!(PatientRecord, |s, a| s
    .patient_record(&a.token, a.patient_id));
service_call!(ReportRecord, |s, a| s.report_record(&a.token, a.patient_id));
service_call!(AuditLog, |s, a| s
    .audit(&a.token, &a.filter, a.limit, a.offset));
service_call!(VerifyAudit, |s, a| s.verify_audit(&a.token));
service_call!(ListUsers, |s, a| s.list_users(&a.token));
service_call!(CreateUser, |s, a| s.create_user(&a.token, &a.user));
service_call!(SetUserDisabled, |s, a| s
    .set_disabled(&a.token, a.user_id, a.disabled));
service_call!(SetUserRole, |s, a| s.set_role(&a.token, a.user_id, a.role));
service_call!(ResetPassword, |s, a| s.reset_password(
    &a.token,
    a.user_id,
    &a.new_password
));
service_call!(ListClients, |s, a| s.list_clients(&a.token));
service_call!(CreateClient, |s, a| s
    .create_client(&a.token, &a.name, &a.plan));
service_call!(DeleteClient, |s, a| s.delete_client(&a.token, a.client_id));
service_call!(ListModels, |s, a| s.list_models(&a.token));
service_call!(TrainingStatus, |s, a| s.training_status(&a.token));
service_call!(CancelTraining, |s, a| s.cancel_training(&a.token));
service_call!(ActivateModel, |s, a| s.activate_model(&a.token, &a.version));

impl Handler for command::GatewayStatus {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        cx.gateway(move |g| g.status(&a.token)).await
    }
}

impl Handler for command::SetGateway {
    async fn handle(cx: Cx, a: Self::Args) -> Reply<Self::Reply> {
        cx.gateway(move |g| g.set(&a.token, a.enabled, a.port))
            .await
    }
}

/// The UI's first screen is painted and takes input. The support log notes how long
/// start-up took and where the time went.
impl Handler for command::UiReady {
    async fn handle(_cx: Cx, a: Self::Args) -> Reply<()> {
        super::note_ui_ready(a.wasm_ms, a.painted_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every declared command is dispatched and nothing else is (the dispatcher is
    /// generated from the declaration, and a missing handler fails to compile).
    #[test]
    fn every_declared_command_is_dispatched_and_nothing_else() {
        assert_eq!(DISPATCHED, command::ALL);
        let mut names = DISPATCHED.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DISPATCHED.len(), "a command dispatched twice");
    }
}
