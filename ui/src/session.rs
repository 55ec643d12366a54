//! First-run set-up, sign-in and the session held in memory (never stored).

use crate::i18n::{error_text, t, tr};
use crate::ipc::call;
use crate::widgets::TextInput;
use cardiorisk_contract::{
    command, CommandError, ErrorKind, SessionInfo, SetupArgs, SignInArgs, TokenArgs,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The signed-in session, shared through context.
#[derive(Clone, Copy)]
pub struct Auth {
    pub session: RwSignal<Option<SessionInfo>>,
    /// Shown on the sign-in screen (e.g. why the session ended).
    pub notice: RwSignal<Option<String>>,
}

impl Auth {
    pub fn token(&self) -> String {
        self.session
            .get_untracked()
            .map(|s| s.token)
            .unwrap_or_default()
    }

    /// Sends the user back to sign-in when the backend says the session is over.
    pub fn check(&self, e: &CommandError) {
        if e.kind == ErrorKind::Unauthenticated {
            self.notice.set(Some(error_text(e)));
            self.session.set(None);
        }
    }

    /// Ends the session on screen once it has been idle as long as the backend allows
    /// (the backend has ended it too; this only saves a failed click).
    pub fn expire_when_idle(&self) {
        let Some(s) = self.session.get_untracked() else {
            return;
        };
        let idle_ms = js_sys::Date::now() - crate::ipc::last_call();
        if idle_ms > s.idle_timeout_secs as f64 * 1000.0 {
            self.notice.set(Some(
                t(
                    "Your session ended after a period without activity. Please sign in again.",
                    "Su sesión terminó tras un periodo sin actividad. Inicie sesión de nuevo.",
                )
                .into(),
            ));
            self.session.set(None);
        }
    }

    pub fn sign_out(&self) {
        let token = self.token();
        let session = self.session;
        spawn_local(async move {
            let _ = call::<_, ()>(command::SIGN_OUT, &TokenArgs { token }).await;
            session.set(None);
        });
    }
}

/// First run: create the administrator account.
#[component]
pub fn SetupForm() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if password.get_untracked() != confirm.get_untracked() {
            error.set(Some(
                t(
                    "The two passwords differ.",
                    "Las dos contraseñas no coinciden.",
                )
                .into(),
            ));
            return;
        }
        let args = SetupArgs {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match call::<_, SessionInfo>(command::SET_UP, &args).await {
                Ok(s) => auth.session.set(Some(s)),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="setup-title">
            <h1 id="setup-title">{tr("Welcome to CardioRisk", "Bienvenido a CardioRisk")}</h1>
            <p>{tr("Create the administrator account. It manages clinicians' accounts and the model; there is no built-in password.", "Cree la cuenta de administrador. Gestiona las cuentas de los clínicos y el modelo; no hay contraseña predefinida.")}</p>
            <form on:submit=submit>
                <TextInput id="setup-username" label=("Username", "Usuario") value=username/>
                <TextInput id="setup-display-name" label=("Full name", "Nombre completo") value=display_name/>
                <TextInput id="setup-password" label=("Password (at least 10 characters)", "Contraseña (al menos 10 caracteres)") kind="password" value=password/>
                <TextInput id="setup-confirm" label=("Repeat the password", "Repita la contraseña") kind="password" value=confirm/>
                <button id="setup-submit" type="submit" class="primary">{tr("Create administrator", "Crear administrador")}</button>
            </form>
            {move || error.get().map(|e| view! { <p class="alert" id="setup-error" role="alert">{e}</p> })}
        </section>
    }
}

#[component]
pub fn SignInForm() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let args = SignInArgs {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match call::<_, SessionInfo>(command::SIGN_IN, &args).await {
                Ok(s) => {
                    auth.notice.set(None);
                    auth.session.set(Some(s));
                }
                Err(e) => {
                    password.set(String::new());
                    error.set(Some(crate::i18n::sign_in_error_text(&e)));
                }
            }
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="signin-title">
            <h1 id="signin-title">{tr("Sign in", "Iniciar sesión")}</h1>
            {move || auth.notice.get().map(|n| view! { <p class="notice" id="signin-notice">{n}</p> })}
            <form on:submit=submit>
                <TextInput id="signin-username" label=("Username", "Usuario") value=username/>
                <TextInput id="signin-password" label=("Password", "Contraseña") kind="password" value=password/>
                <button id="signin-submit" type="submit" class="primary">{tr("Sign in", "Entrar")}</button>
            </form>
            {move || error.get().map(|e| view! { <p class="alert" id="signin-error" role="alert">{e}</p> })}
        </section>
    }
}
