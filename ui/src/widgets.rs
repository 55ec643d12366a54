//! Small building blocks shared by the screens.

use crate::i18n::t;
use cardiorisk_contract::CommandError;
use leptos::prelude::*;

/// The catalogue key of a label's text.
pub type Text = &'static str;

/// A labelled text input with its inline error (from the backend's field errors).
#[component]
pub fn TextInput(
    id: &'static str,
    label: Text,
    #[prop(default = "text")] kind: &'static str,
    value: RwSignal<String>,
    /// The backend field whose error shows under this input.
    #[prop(optional)]
    field: Option<&'static str>,
    #[prop(optional)] errors: Option<RwSignal<Option<CommandError>>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let message = move || {
        let field = field?;
        errors?
            .get()?
            .fields
            .into_iter()
            .find(|f| f.field == field)
            .map(|f| crate::i18n::field_message(&f))
    };
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id><span class="label">{move || t(label)}</span></label>
            <input id=id name=id type=kind autocomplete="off"
                aria-describedby=error_id.clone()
                aria-invalid=move || message().is_some().to_string()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
            <div class="error" id=error_id role="alert">{move || message().unwrap_or_default()}</div>
        </div>
    }
}

/// The error of a request that is not about one field, with what to do.
#[component]
pub fn ErrorLine(id: &'static str, error: RwSignal<Option<CommandError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="alert" id=id role="alert">{crate::i18n::error_text(&e)}</p> }
        })
    }
}
